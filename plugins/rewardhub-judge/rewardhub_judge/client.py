"""The judge's client: ``POST /v1/chat/completions`` on any OpenAI-compatible endpoint, within limits.

vLLM, SGLang, ``transformers serve``, llama.cpp's server, OpenAI and other hosted APIs all
answer this route. Promises (tested in ``tests/test_judge_client.py`` against a real local
server that misbehaves on purpose, and ``tests/test_judge_endpoint.py`` against a real model):

- at most ``max_concurrency`` requests in flight, however many threads or event loops call
  (every request runs in the client's own event loop thread, as :mod:`rewardhub.remote` does);
- ``requests_per_minute`` and ``tokens_per_minute`` through smooth token buckets
  (:mod:`rewardhub_judge.limits`); a 429's ``Retry-After`` (seconds or an HTTP date) pauses
  every request of this client, not only the one that got it;
- retries with exponential backoff and "equal jitter" on 429, 5xx, connection errors and
  timeouts of a connection; never on another 4xx (the request itself is wrong), except that
  when ``structured`` is ``auto`` and the endpoint refuses ``response_format`` with a 400 or
  422, the request is sent again once without it, and so are all later ones;
- one deadline per request (``timeout`` seconds from the moment it may be sent, its retries,
  backoff and ``Retry-After`` waits included; the whole answer must arrive by then, however
  slowly it drips), so nothing waits past it;
- a request that fails for good is a :class:`Failure` with a short, stable reason
  (``judge: HTTP 500 after 3 tries``, ``judge: HTTP 400``, ``judge: connection failed after 3
  tries``, ``judge: no answer within 60s``, ``judge: malformed response``, ``judge: token budget
  spent``), so missing values can be counted by reason; the details go beside it;
- usage tokens (what the endpoint reports) are counted, ``max_total_tokens`` is never
  overspent (:class:`~rewardhub_judge.limits.Budget`);
- answers are cached on disk (:mod:`rewardhub_judge.cache`) when a cache is given;
- the API key is sent as a bearer token and nowhere else: not in :attr:`stats`, not in any
  reason or detail (any text an endpoint sends back is scrubbed of it), not in ``repr``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rewardhub_judge.cache import AnswerCache
from rewardhub_judge.limits import Budget, TokenBucket
from rewardhub_judge.wire import (
    Answer,
    Failure,
    Stats,
    error_reason,
    estimated_tokens,
    message_text,
    retry_after_seconds,
    tries_text,
    worst_case_tokens,
)

T = TypeVar("T")
STRUCTURED = ("auto", "json_schema", "json_object", "none")
BUDGET_SPENT = "judge: token budget spent"
MALFORMED = "judge: malformed response"
class JudgeClient:
    """Chat completions from ``base_url`` (``http://host:8000`` or ``.../v1``) for ``model``.

    :param api_key: sent as ``Authorization: Bearer``; never stored anywhere else.
    :param max_concurrency: requests in flight at once.
    :param requests_per_minute: ``None``: no limit.
    :param tokens_per_minute: ``None``: no limit (a request counts its prompt, estimated at four
        bytes a token until the endpoint reports it, plus ``max_tokens``).
    :param max_total_tokens: the budget of this client (``None``: none).
    :param timeout: seconds per request, retries included.
    :param retries: further tries after the first fails (429, 5xx, connection errors).
    :param backoff: the first retry's delay bound in seconds; it doubles per try up to ``max_backoff``.
    :param cache: where answers are kept (``None``: not kept).
    :param structured: ``auto`` (a JSON schema, dropped if the endpoint refuses it),
        ``json_schema``, ``json_object`` or ``none`` (the reply's text is read as it comes).
    :param extra_body: more fields for every request body (``chat_template_kwargs`` for vLLM...).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        max_concurrency: int = 4,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_total_tokens: int | None = None,
        timeout: float = 120.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        cache: AnswerCache | None = None,
        structured: str = "auto",
        extra_body: dict[str, Any] | None = None,
    ):
        base = base_url.rstrip("/")
        self.url = (base if base.endswith("/v1") else base + "/v1") + "/chat/completions"
        self.model = model
        self._key = api_key or None
        self.max_concurrency = max(1, int(max_concurrency))
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.cache = cache
        self.structured = structured
        self.structured_now = structured  # "none" once an ``auto`` endpoint refused response_format
        self.extra_body = dict(extra_body or {})
        self.budget = Budget(max_total_tokens)
        self.stats = Stats()
        self._requests = TokenBucket(requests_per_minute) if requests_per_minute else None
        self._tokens = TokenBucket(tokens_per_minute) if tokens_per_minute else None
        self._paused_until = 0.0
        self._slots: asyncio.Semaphore | None = None
        self._http: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"<JudgeClient {self.model!r} at {self.url}>"

    @property
    def structured_used(self) -> str:
        """The structured-output mode requests go with now (``auto`` resolved)."""
        return "json_schema" if self.structured_now == "auto" else self.structured_now

    # -- running in the client's loop ------------------------------------------------------

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._start:
            if self._closed:
                raise RuntimeError("this judge's client is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="rewardhub-judge", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """``await make()`` in the client's loop, from any thread outside it."""
        future = asyncio.run_coroutine_threadsafe(self._in_loop(make), self._ensure_loop())
        try:
            return future.result()
        except BaseException:  # Ctrl-C in the caller: stop the requests it was waiting on
            future.cancel()
            raise

    async def arun(self, make: Callable[[], Awaitable[T]]) -> T:
        """:meth:`run` for a caller in another event loop."""
        loop = self._ensure_loop()
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._in_loop(make), loop))

    async def _in_loop(self, make: Callable[[], Awaitable[T]]) -> T:
        if self._http is None:
            import httpx

            headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
            limits = httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency)
            self._http = httpx.AsyncClient(headers=headers, limits=limits, timeout=None)
            self._slots = asyncio.Semaphore(self.max_concurrency)
        return await make()

    def close(self) -> None:
        with self._start:
            self._closed = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            if self._http is not None:
                with contextlib.suppress(Exception):  # closing what is already broken
                    asyncio.run_coroutine_threadsafe(self._http.aclose(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            if not thread.is_alive():
                loop.close()
        if self.cache is not None:
            self.cache.close()

    # -- one completion ----------------------------------------------------------------------

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        temperature: float,
        max_tokens: int,
        schema: dict[str, Any] | None,
        key_parts: dict[str, Any],
    ) -> Answer | Failure:
        """One chat completion: from the cache, else from the endpoint (see the module doc)."""
        from rewardhub_judge.cache import cache_key

        key = None
        if self.cache is not None:
            key = cache_key(
                model=self.model,
                messages=messages,
                temperature=temperature,
                max_tokens=max_tokens,
                structured=self.structured,
                extra_body=self.extra_body,
                **key_parts,
            )
            hit = self.cache.get(key)
            answer = Answer.from_cache(hit) if hit is not None else None
            if answer is not None:
                self.stats.cache_hits += 1
                return answer
            self.stats.cache_misses += 1
        assert self._slots is not None
        async with self._slots:
            worst = worst_case_tokens(messages, max_tokens)
            if not self.budget.reserve(worst):
                self.stats.budget_refused += 1
                return Failure(BUDGET_SPENT, f"{self.budget.spent} of {self.budget.limit} tokens spent")
            used = 0
            try:
                result = await self._ask(messages, temperature, max_tokens, schema)
                if isinstance(result, Answer):
                    used = result.tokens if result.usage_reported else worst
                elif result.reason.startswith("judge: no answer within"):
                    used = worst  # the endpoint may have done (and billed) the work
            finally:
                self.budget.settle(worst, used)
        if isinstance(result, Answer):
            self._count(result, worst)
            if key is not None and self.cache is not None:
                self.cache.put(key, result.to_cache())
        else:
            self.stats.failed += 1
        return result

    def _count(self, answer: Answer, worst: int) -> None:
        s = self.stats
        s.answers += 1
        if answer.usage_reported:
            s.prompt_tokens += answer.prompt_tokens
            s.completion_tokens += answer.completion_tokens
            s.total_tokens += answer.tokens
        else:
            s.usage_missing += 1
            s.total_tokens += worst

    async def _ask(
        self, messages: list[dict[str, str]], temperature: float, max_tokens: int, schema: dict[str, Any] | None
    ) -> Answer | Failure:
        import httpx

        deadline = time.monotonic() + self.timeout
        estimate = estimated_tokens(messages, max_tokens)
        tries, last_reason, detail = 0, "", ""
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise asyncio.TimeoutError
                await asyncio.wait_for(self._admit(estimate), remaining)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise asyncio.TimeoutError
                body = self._body(messages, temperature, max_tokens, schema)
                tries += 1
                self.stats.requests += 1
                response = await asyncio.wait_for(self._http.post(self.url, json=body, timeout=remaining), remaining)
            except asyncio.TimeoutError:
                self._settle_tokens(estimate, 0)
                if last_reason and tries:
                    return Failure(f"{last_reason} after {tries_text(tries)}", self._scrub(detail))
                return Failure(f"judge: no answer within {self.timeout:g}s", self._scrub(detail))
            except httpx.TransportError as exc:
                self._settle_tokens(estimate, 0)
                last_reason, detail = "judge: connection failed", f"{type(exc).__name__}: {exc}"
                retry_after = None
            else:
                status = response.status_code
                if status < 400:
                    result = self._read(response)
                    self._settle_tokens(estimate, result.tokens if isinstance(result, Answer) else 0)
                    return result
                self._settle_tokens(estimate, 0)
                detail = f"HTTP {status}: {error_reason(response)}"
                if status in (400, 422) and "response_format" in body and self.structured == "auto":
                    self.structured_now = "none"  # the endpoint does not take it: plain text from now on
                    tries -= 1
                    continue
                if status != 429 and status < 500:
                    return Failure(f"judge: HTTP {status}", self._scrub(detail))
                last_reason = f"judge: HTTP {status}"
                retry_after = retry_after_seconds(response.headers.get("retry-after"))
                if status == 429:
                    self.stats.rate_limited += 1
                    if retry_after is not None:
                        self._paused_until = max(self._paused_until, time.monotonic() + retry_after)
            if tries > self.retries:
                return Failure(f"{last_reason} after {tries_text(tries)}", self._scrub(detail))
            bound = min(self.max_backoff, self.backoff * 2 ** (tries - 1))
            delay = bound / 2 + random.uniform(0, bound / 2)
            if retry_after is not None:
                delay = max(delay, retry_after)
            if time.monotonic() + delay >= deadline:  # no time for another try
                return Failure(f"{last_reason} after {tries_text(tries)}", self._scrub(detail))
            self.stats.retries += 1
            await asyncio.sleep(delay)

    async def _admit(self, estimate: int) -> None:
        """Wait out a ``Retry-After`` pause and the rate limits."""
        started = time.monotonic()
        while (pause := self._paused_until - time.monotonic()) > 0:
            await asyncio.sleep(pause)
        if self._requests is not None:
            await self._requests.take(1)
        if self._tokens is not None:
            await self._tokens.take(estimate)
        self.stats.waited_s += time.monotonic() - started

    def _settle_tokens(self, estimate: int, actual: int) -> None:
        if self._tokens is not None:
            self._tokens.settle(estimate, actual)

    def _body(
        self, messages: list[dict[str, str]], temperature: float, max_tokens: int, schema: dict[str, Any] | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            **self.extra_body,
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        mode = self.structured_now
        if schema is not None and mode in ("auto", "json_schema"):
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema}}
        elif schema is not None and mode == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body

    def _read(self, response: Any) -> Answer | Failure:
        """The answer in a 2xx response, or :data:`MALFORMED` with what was wrong."""
        try:
            data = response.json()
        except ValueError:
            return Failure(MALFORMED, self._scrub(f"not JSON: {response.text[:200]!r}"))
        try:
            choice = data["choices"][0]
            message = choice["message"]
            content = message.get("content")
            usage = data.get("usage")
            usage_reported = isinstance(usage, dict) and usage.get("prompt_tokens") is not None
            usage = usage if isinstance(usage, dict) else {}
            return Answer(
                content=message_text(content),
                finish_reason=choice.get("finish_reason"),
                refusal=message.get("refusal") if isinstance(message.get("refusal"), str) else None,
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                usage_reported=usage_reported,
            )
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            return Failure(MALFORMED, self._scrub(f"no choices[0].message in the answer ({type(exc).__name__})"))

    def _scrub(self, text: str) -> str:
        """``text`` with the API key taken out, wherever an endpoint may have echoed it."""
        if self._key and self._key in text:
            text = text.replace(self._key, "[api key]")
        return text
