"""The ``code_tests`` reward: the share of the reference's tests the response's code passes.

For each sample: the code is the response's last fenced block (Python first), the tests are
the reference's asserts and ``test_*`` functions (:mod:`.extract`), and a :class:`~.sandbox.Sandbox`
runs them. Value: passed / total (``all_or_nothing=True``: 1.0 only when all pass). A response
without a code block, or a run that times out, hits a limit or crashes, ends as 0.0 with
``info["reason"]``; a sample without usable tests is ``None`` with the reason (the reference
is at fault, not the response). Samples run in parallel, up to ``workers`` at a time. What
the sandbox isolates is in each sample's ``info["isolation"]`` and in the run's sidecar
(``resolved.sandbox``).
Tested in ``tests/test_code_tests.py`` (and through the CLI with ``--timeout``) and
``tests/test_sandbox_attacks.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import rewardhub
from rewardhub_verify._version import __version__
from rewardhub_verify.code.extract import extract_code, parse_tests
from rewardhub_verify.code.sandbox import Limits, LocalSandbox, Sandbox

#: Characters of a failing test's error kept in ``info``.
ERROR_CHARS = 300


class CodeTests(rewardhub.Reward):
    """Share of the reference's tests passed by the response's code, run in a sandbox.

    :param timeout: wall seconds per sample (every test of the sample together).
    :param cpu_seconds: CPU seconds per process.
    :param memory_mb: address space per process, in MiB.
    :param processes: the most processes (and threads) the code may run at once.
    :param file_size_mb: the largest file (stdout and stderr included) the code may write.
    :param disk_mb: all the files the code may write together (the size of its tmpfs, where
        the machine allows namespaces).
    :param all_or_nothing: 1.0 only when every test passes, else 0.0.
    :param workers: samples run at the same time.
    :param sandbox: a :class:`~rewardhub_verify.code.sandbox.Sandbox` to use instead of a
        :class:`~rewardhub_verify.code.sandbox.LocalSandbox` (e.g. a remote one).
    """

    name = "code_tests"
    version = __version__
    description = "Share of the reference's tests the response's code passes, run in a sandbox"
    inputs = ("response", "reference")
    requires = ("reference",)  # the tests: without them there is nothing to run
    batch_size = 64

    def __init__(
        self,
        timeout: float = 10.0,
        cpu_seconds: int = 10,
        memory_mb: int = 1024,
        processes: int = 32,
        file_size_mb: int = 16,
        disk_mb: int = 64,
        all_or_nothing: bool = False,
        workers: int = 2,
        sandbox: Sandbox | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.limits = Limits(
            wall_seconds=float(timeout),
            cpu_seconds=int(cpu_seconds),
            memory_bytes=int(memory_mb) * 1024 * 1024,
            processes=int(processes),
            file_size=int(file_size_mb) * 1024 * 1024,
            disk_bytes=int(disk_mb) * 1024 * 1024,
        )
        self.all_or_nothing, self.workers = bool(all_or_nothing), int(workers)
        self._sandbox = sandbox

    @property
    def sandbox(self) -> Sandbox:
        """The sandbox, made on first use (probing namespaces and cgroups costs a process start);
        what it isolates goes into the run's sidecar (``provenance``)."""
        if self._sandbox is None:
            self._sandbox = LocalSandbox(self.limits)
        isolation = getattr(self._sandbox, "isolation", None)
        if isolation and self.provenance is None:
            self.provenance = {"sandbox": isolation}
        return self._sandbox

    def score(self, samples: Sequence[rewardhub.Sample]) -> list[rewardhub.Score]:
        sandbox = self.sandbox
        if self.workers == 1 or len(samples) == 1:
            return [self._score_one(sandbox, s) for s in samples]
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="rewardhub-sandbox") as pool:
            return list(pool.map(lambda s: self._score_one(sandbox, s), samples))

    def _score_one(self, sandbox: Sandbox, sample: rewardhub.Sample) -> rewardhub.Score:
        if not isinstance(sample.reference, str) or not sample.reference.strip():
            return rewardhub.Score(None, {"reason": "no reference tests"})
        try:
            suite = parse_tests(sample.reference)
        except ValueError as exc:
            return rewardhub.Score(None, {"reason": str(exc)})
        code = extract_code(sample.response)
        if code is None:
            return rewardhub.Score(0.0, {"reason": "no fenced code block in the response", "total": len(suite)})
        run = sandbox.run_tests(code, suite)
        passed = sum(run.passed)
        value = float(passed == len(suite)) if self.all_or_nothing else run.share
        info: dict[str, object] = {"passed": passed, "total": len(suite), "seconds": round(run.seconds, 3)}
        if run.reason:
            info["reason"] = run.reason
        failed = [i for i, ok in enumerate(run.passed) if not ok]
        if failed:
            first = failed[0]
            info["first_failure"] = {
                "test": suite.names[first],
                "error": run.errors.get(first, "not run")[-ERROR_CHARS:],
            }
        isolation = getattr(sandbox, "isolation", None)
        if isolation:
            info["isolation"] = isolation
        return rewardhub.Score(value, info)
