"""What ``llm_judge`` and ``llm_pairwise_judge`` share: the endpoint's args, checked at
construction (a wrong one is a one-line ``ValueError`` naming the arg), the client and cache
made on the first score (nothing connects, starts a thread or opens a file before), the
run's counts (:meth:`JudgeReward.run_stats`) and what the sidecar records
(:attr:`JudgeReward.provenance`: the endpoint without credentials, the model, the rubric, the
structured-output mode used, the cache file and the counts; never the API key).

The API key is read from the environment variable ``api_key_env`` names, at construction (an
unset variable is an error then, not a run of 401s); only the variable's name is an arg, so
only the name reaches configs, sidecars and logs. Tested in ``tests/test_judge_key.py``.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import rewardhub
from rewardhub_judge.client import STRUCTURED, JudgeClient
from rewardhub_judge.rubrics import Rubric


class JudgeReward(rewardhub.Reward):
    """Base of the judges: endpoint args, the client, counts and provenance."""

    batch_size = 64
    higher_is_better = True
    rubric: Rubric

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 512,
        timeout: float = 120.0,
        max_concurrency: int = 4,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_total_tokens: int | None = None,
        retries: int = 4,
        backoff: float = 0.5,
        cache: str | bool | None = None,
        structured: str = "auto",
        extra_body: dict[str, Any] | None = None,
    ):
        who = self.name
        if not isinstance(base_url, str) or urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError(
                f"{who}: base_url must be an http(s) URL such as http://localhost:8000/v1, got {base_url!r}"
            )
        if not isinstance(model, str) or not model:
            raise ValueError(f"{who}: model is required (the name the endpoint serves)")
        self.base_url, self.model = base_url, model
        self.api_key_env = api_key_env
        self._api_key = _read_key(api_key_env, who)
        self.temperature = _number(temperature, "temperature", who, low=0.0)
        self.max_tokens = _count(max_tokens, "max_tokens", who)
        self.timeout = _number(timeout, "timeout", who, low=0.0, open_low=True)
        self.max_concurrency = _count(max_concurrency, "max_concurrency", who)
        self.requests_per_minute = _optional(requests_per_minute, "requests_per_minute", who)
        self.tokens_per_minute = _optional(tokens_per_minute, "tokens_per_minute", who)
        self.max_total_tokens = None if max_total_tokens is None else _count(max_total_tokens, "max_total_tokens", who)
        self.retries = _count(retries, "retries", who, low=0)
        self.backoff = _number(backoff, "backoff", who, low=0.0)
        if structured not in STRUCTURED:
            raise ValueError(f"{who}: structured must be one of {', '.join(STRUCTURED)}, got {structured!r}")
        self.structured = structured
        if extra_body is not None and not isinstance(extra_body, dict):
            raise ValueError(f"{who}: extra_body must be a mapping of request fields")
        self.extra_body = dict(extra_body or {})
        if (cache is not None and not isinstance(cache, (str, Path, bool))) or cache is True:
            raise ValueError(f"{who}: cache must be a file path, or false for no cache (default: the user cache dir)")
        self.cache_setting = cache
        self.cache_path: Path | None = None
        self._client: JudgeClient | None = None
        self._client_lock = threading.Lock()

    # -- the client --------------------------------------------------------------------------

    def client(self) -> JudgeClient:
        """The client, made on first use."""
        with self._client_lock:
            if self._client is None:
                from rewardhub_judge.cache import AnswerCache, default_path

                cache = None
                if self.cache_setting is not False:
                    self.cache_path = Path(self.cache_setting) if self.cache_setting else default_path()
                    cache = AnswerCache(self.cache_path)
                self._client = JudgeClient(
                    self.base_url,
                    self.model,
                    self._api_key,
                    max_concurrency=self.max_concurrency,
                    requests_per_minute=self.requests_per_minute,
                    tokens_per_minute=self.tokens_per_minute,
                    max_total_tokens=self.max_total_tokens,
                    timeout=self.timeout,
                    retries=self.retries,
                    backoff=self.backoff,
                    cache=cache,
                    structured=self.structured,
                    extra_body=self.extra_body,
                )
            return self._client

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[rewardhub.Score]:
        samples = list(samples)
        return self.client().run(lambda: self.judge_all(samples))

    async def ascore(self, samples: Sequence[rewardhub.Sample]) -> list[rewardhub.Score]:
        samples = list(samples)
        return await self.client().arun(lambda: self.judge_all(samples))

    async def judge_all(self, samples: list[rewardhub.Sample]) -> list[rewardhub.Score]:
        import asyncio

        return list(await asyncio.gather(*(self.judge_one(s) for s in samples)))

    async def judge_one(self, sample: rewardhub.Sample) -> rewardhub.Score:
        raise NotImplementedError

    def close(self) -> None:
        with self._client_lock:
            client = self._client
        if client is not None:
            client.close()

    # -- what the run reports ------------------------------------------------------------------

    def run_stats(self) -> dict[str, int | float] | None:
        """The client's counts (requests, tokens, cache hits...), ``None`` before any call."""
        return None if self._client is None else self._client.stats.as_dict()

    @property
    def provenance(self) -> dict[str, Any] | None:  # type: ignore[override]
        if self._client is None:
            return None
        return {
            "endpoint": redact_url(self.base_url),
            "model": self.model,
            "rubric": self.rubric.describe(),
            "structured_output": self._client.structured_used,
            "cache": None if self.cache_path is None else str(self.cache_path),
            "stats": self._client.stats.as_dict(),
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.model!r} at {redact_url(self.base_url)}>"


def redact_url(url: str) -> str:
    """``url`` without a user or password in it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _read_key(env: str | None, who: str) -> str | None:
    if env is None:
        return None
    if not isinstance(env, str) or not env.strip():
        raise ValueError(f"{who}: api_key_env must be the name of an environment variable")
    value = os.environ.get(env)
    if not value:
        raise ValueError(f"{who}: api_key_env names {env}, which is not set (or is empty)")
    return value


def _number(value: Any, arg: str, who: str, *, low: float, open_low: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or (open_low and value == low):
        bound = f"> {low:g}" if open_low else f">= {low:g}"
        raise ValueError(f"{who}: {arg} must be a number {bound}, got {value!r}")
    return float(value)


def _count(value: Any, arg: str, who: str, *, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{who}: {arg} must be an integer >= {low}, got {value!r}")
    return value


def _optional(value: Any, arg: str, who: str) -> float | None:
    return None if value is None else _number(value, arg, who, low=0.0, open_low=True)
