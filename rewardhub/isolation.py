"""Running a reward in worker processes of its own, so that a call can really be stopped.

Python cannot stop a thread, and a reward that holds the GIL in one long C call (a regular
expression that backtracks, say) cannot even be waited on: the waiting thread needs the GIL to
notice that the time is up, and an event loop in the same process stands still. A reward that
says ``pure_python = True`` (it computes holding the GIL) is therefore run by the engine in
worker processes when it is *isolated*: when a per-call timeout is set, and always in
``rewardhub serve`` (see :class:`rewardhub.Scorer`'s ``isolate``).

Promises (tested in ``tests/test_engine_timeouts.py``):

- each worker process holds its own copy of the reward, unpickled from the caller's object (by
  reference; by value with ``cloudpickle`` when it is installed, for a script's own classes)
  or, when the object cannot be pickled, built again from the same registry entry and config;
- a call that runs past its timeout is stopped by killing its process (the next call starts a
  fresh one): nothing of it keeps running; a worker that dies (a crash, ``os._exit``) fails
  the call that was running with the exit code, and nothing else;
- the reward's results come back as the engine reads them in-process: values, ``Score``,
  ``None``, and an exception in place of a value as that sample's error (type name and text);
  an exception raised by ``score()`` (``SystemExit`` and ``KeyboardInterrupt`` included) is that
  call's failure, with the same ``Type: message``;
- a thread-safe reward's calls run in up to :data:`MAX_PROCESSES` processes at once (started as
  needed, kept while idle); a reward that is not thread safe has one;
- a worker ignores SIGINT (a Ctrl-C stops the parent, which stops its workers), exits when its
  parent closes its end of the pipe, and every worker still running is killed at exit;
- a reward that cannot run in a process (not picklable and not from the registry, or its
  worker cannot build it) raises :class:`WorkerUnavailable`: the caller keeps it in a thread.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import signal
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any

#: Seconds a new worker may take to start and build its reward.
STARTUP_SECONDS = 120.0

#: Processes one thread-safe reward may run at once.
MAX_PROCESSES = max(2, os.cpu_count() or 2)


class WorkerRaised(Exception):
    """An exception raised in a worker process: its type's name (``kind``) and its text."""

    def __init__(self, kind: str, text: str):
        super().__init__(text)
        self.kind, self.text = kind, text

    def __reduce__(self) -> Any:
        return (WorkerRaised, (self.kind, self.text))

    def __str__(self) -> str:
        return self.text


class WorkerUnavailable(RuntimeError):
    """The reward cannot run in a worker process (why: the message)."""


def recipes(reward: Any, build: dict[str, Any] | None) -> list[tuple[Any, ...]]:
    """How a worker gets its copy of ``reward``, best first: the pickled object, and (``build``:
    ``{"config": ..., "tokenize": ..., "block": [...]}``) a registry entry to build again."""
    out: list[tuple[Any, ...]] = []
    with contextlib.suppress(Exception):  # not for a lambda, a lock, a tokenizer closure...
        out.append(("pickle", pickle.dumps(reward, protocol=pickle.HIGHEST_PROTOCOL)))
    out.extend(("pickle", blob) for blob in _by_value(reward))
    if build is not None:
        out.append(("build", build))
    return out


def build_recipe(component: Any, tokenize: str | None, block: Sequence[str]) -> dict[str, Any] | None:
    """How a worker builds a :class:`~rewardhub.build.Component`'s reward again from the
    registry (for one that cannot be pickled); ``None`` for an object the caller passed."""
    if component.distribution == "local":
        return None
    return {"config": component.config, "tokenize": tokenize, "block": list(block)}


_BY_VALUE = threading.Lock()


def _by_value(reward: Any) -> list[bytes]:
    """``reward`` pickled with cloudpickle when it is installed: a script's classes (``__main__``)
    by value, then also its own module's, for a module the worker cannot import (one loaded from
    a file path, as OpenRLHF loads a reward file)."""
    try:
        import cloudpickle
    except ImportError:
        return []
    blobs = []
    try:
        blobs.append(cloudpickle.dumps(reward, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return []
    fn = getattr(reward, "fn", None)  # a reward function's own function, else the reward's class
    module = sys.modules.get(getattr(fn if callable(fn) else type(reward), "__module__", None) or "")
    if module is None or module.__name__ == "__main__" or module.__name__.startswith("rewardhub"):
        return blobs
    with _BY_VALUE:  # (cloudpickle's switch is process-wide: on only while this reward is pickled)
        try:
            cloudpickle.register_pickle_by_value(module)
            blobs.append(cloudpickle.dumps(reward, protocol=pickle.HIGHEST_PROTOCOL))
        except Exception:
            pass
        finally:
            with contextlib.suppress(ValueError):
                cloudpickle.unregister_pickle_by_value(module)
    return blobs


class _Worker:
    """One worker process and the pipe to it."""

    def __init__(self, key: str, how: list[tuple[Any, ...]]):
        import socket  # (here: importing the engine stays cheap for a run that never isolates)
        import subprocess
        from multiprocessing.connection import Connection

        if not how:
            raise WorkerUnavailable(f"reward {key!r} can neither be pickled nor built from the registry")
        ours, theirs = socket.socketpair()
        path = [p for p in sys.path if isinstance(p, str)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
        code = f"from rewardhub.isolation import worker_main; worker_main({theirs.fileno()})"
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", code], pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=env
            )
        except OSError as exc:
            ours.close()
            raise WorkerUnavailable(f"could not start a worker process: {exc}") from None
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        try:
            self.conn.send(("init", path, how))
            if not self.conn.poll(STARTUP_SECONDS):
                raise WorkerUnavailable(f"its worker process did not start within {STARTUP_SECONDS:g}s")
            status, detail = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise WorkerUnavailable(f"its worker process exited while starting ({exc or self.exit_code()})") from None
        except BaseException:
            self.kill()
            raise
        if status != "ready":
            self.kill()
            raise WorkerUnavailable(f"its worker process could not load it: {detail}")

    def exit_code(self) -> str:
        code = self.proc.poll()
        return "still running" if code is None else f"exit code {code}"

    def kill(self) -> None:
        import subprocess

        with contextlib.suppress(OSError):
            self.conn.close()
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):  # (a process in uninterruptible sleep)
            self.proc.wait(10)


class _Overtime(Exception):
    pass


class ProcessPool:
    """The worker processes of one reward (``key`` names it in messages)."""

    def __init__(self, key: str, how: list[tuple[Any, ...]], size: int):
        self.key, self.how, self.size = key, how, max(1, size)
        self.timeouts = 0  # calls stopped at their timeout
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._starting = 0
        self._cond = threading.Condition()
        _POOLS.add(self)

    @property
    def processes(self) -> int:
        """Worker processes alive now (busy or idle)."""
        with self._cond:
            return len(self._all)

    def call(self, batch: Sequence[Any], timeout: float | None) -> list[Any]:
        """``reward.score(batch)`` in a worker, as it returned it (exceptions in a list or tuple
        as :class:`WorkerRaised`).

        Raises :class:`TimeoutError` past ``timeout`` (the call is stopped), :class:`WorkerRaised`
        for what ``score()`` raised, :class:`RuntimeError` if the worker died, and
        :class:`WorkerUnavailable` if no worker can be started for this reward.
        """
        worker = self._take(timeout)
        batch = list(batch)
        try:
            worker.conn.send(("score", batch))
            if not worker.conn.poll(timeout):
                raise _Overtime
            reply = worker.conn.recv()
        except _Overtime:
            self._drop(worker)
            with self._cond:
                self.timeouts += 1
            raise TimeoutError(f"timed out after {timeout:g}s (batch of {len(batch)})") from None
        except (EOFError, OSError):
            self._drop(worker)
            raise RuntimeError(f"the worker process of {self.key!r} died ({worker.exit_code()})") from None
        except BaseException:  # a sample that cannot be pickled leaves the worker idle; anything else: stop it
            if isinstance(sys.exc_info()[1], (pickle.PicklingError, TypeError, AttributeError)):
                self._give_back(worker)
            else:
                self._drop(worker)
            raise
        self._give_back(worker)
        if reply[0] == "ok":
            return reply[1]
        raise WorkerRaised(reply[1], reply[2])

    def close(self) -> None:
        """Stop every worker process (a call still running fails with ``RuntimeError``)."""
        with self._cond:
            workers, self._idle = list(self._all), []
            self._all.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.kill()

    # -- the pool ------------------------------------------------------------------------

    def _take(self, timeout: float | None) -> _Worker:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._idle:
                    return self._idle.pop()
                if len(self._all) + self._starting < self.size:
                    self._starting += 1
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(
                        f"timed out after {timeout:g}s waiting for a free worker process of {self.key!r}"
                    )
                self._cond.wait(remaining)
        try:
            worker = _Worker(self.key, self.how)  # (the start-up does not count against the call's timeout)
        finally:
            with self._cond:
                self._starting -= 1
                self._cond.notify_all()
        with self._cond:
            self._all.add(worker)
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._cond:
            if worker in self._all:
                self._idle.append(worker)
                self._cond.notify()
                return
        worker.kill()  # the pool was closed meanwhile

    def _drop(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            self._all.discard(worker)
            self._cond.notify()


_POOLS: weakref.WeakSet[ProcessPool] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for pool in list(_POOLS):
        pool.close()


# -- the worker's side ---------------------------------------------------------------------


def _load(how: list[tuple[Any, ...]]) -> Any:
    failures = []
    for kind, detail in how:
        try:
            if kind == "pickle":
                return pickle.loads(detail)
            from rewardhub.build import build_rewards

            (component,) = build_rewards([detail["config"]], tokenize=detail["tokenize"], block=detail["block"])
            return component.reward
        except Exception as exc:
            failures.append(f"{kind}: {type(exc).__name__}: {exc}")
    raise RuntimeError("; ".join(failures))


def _portable(value: Any) -> Any:
    if isinstance(value, BaseException):
        return WorkerRaised(type(value).__name__, str(value))
    return value


def worker_main(fd: int) -> None:
    """The worker process: build the reward, then score batches until the pipe closes."""
    from multiprocessing.connection import Connection

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops us
    conn = Connection(fd)
    try:
        _, path, how = conn.recv()
    except EOFError:
        return
    sys.path[:] = path
    try:
        reward = _load(how)
    except BaseException as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        batch = message[1]
        try:
            out = reward.score(batch)  # (its shape is checked by the caller, as in-process)
            reply: tuple[Any, ...] = ("ok", [_portable(v) for v in out] if isinstance(out, (list, tuple)) else out)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the reward's failure
            reply = ("raised", type(exc).__name__, str(exc))
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as exc:  # a result that cannot be pickled
            conn.send(("raised", type(exc).__name__, f"the results could not be sent back: {exc}"))
