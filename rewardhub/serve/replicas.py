"""``rewardhub serve --devices cuda:0,cuda:1``: one copy of the served rewards per device, and
each batch scored by the least-loaded copy.

- :func:`parse_devices` checks the list (``cpu``, ``mps``, ``cuda``, ``cuda:N``; the same device
  may repeat: two copies on it) with a one-line error naming the entry at fault, and that each
  ``cuda:N`` exists on this machine (torch is imported for that only when a CUDA device is
  named);
- :func:`replica_rewards` is the config of copy ``i``: every reward whose constructor takes a
  ``device`` gets ``device=devices[i]`` (over what the config says), and ``replica=i`` where it
  takes that too, so that two copies on one device load two models (:class:`rewardhub.Reward`);
  a config in which no reward takes a ``device`` is refused (nothing to copy);
- :class:`Replicas` has the :class:`~rewardhub.Scorer` interface the server uses (``components``,
  ``missing``, ``score``, ``close``): each ``score`` call goes to the copy with the fewest
  batches in flight (then the fewest samples in flight, then the fewest batches so far), so idle
  copies take turns and a busy one gets nothing until the others are as busy.
  :meth:`Replicas.warm_up` loads every copy at once. The results equal one copy's: each copy is
  the same rewards with the same args but the device.

Tested in ``plugins/rewardhub-rm/tests/test_rm_serve_replicas.py`` (``--devices cpu,cpu`` with a
reward model, as a real server: both copies get work, results equal one copy's) and
``tests/test_serve_replicas.py``.
"""

from __future__ import annotations

import importlib
import inspect
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from rewardhub.config import ComponentConfig
from rewardhub.engine import Scorer
from rewardhub.engine.results import ScoreBatch
from rewardhub.host import registry as plugins
from rewardhub.types import Sample

DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


def parse_devices(text: str, cuda_count: Callable[[], int] | None = None) -> list[str]:
    """The devices of ``--devices`` (comma-separated), or ``ValueError`` with one line saying
    which entry is wrong. ``cuda_count`` (default: torch's) gives the CUDA devices present."""
    devices = [part.strip() for part in text.split(",")]
    for device in devices:
        if not DEVICE.match(device):
            shown = device or "an empty entry"
            raise ValueError(f"--devices: {shown!r} is not a device (use cpu, mps, cuda or cuda:N, comma-separated)")
    wanted = [int(d.partition(":")[2] or 0) for d in devices if d.startswith("cuda")]
    if wanted:
        present = (cuda_count or _cuda_count)()
        for device, index in zip([d for d in devices if d.startswith("cuda")], wanted):
            if index >= present:
                have = f"{present} CUDA device{'s' if present != 1 else ''}" if present else "no CUDA device"
                raise ValueError(f"--devices: {device} is not available (this machine has {have})")
    return devices


def _cuda_count() -> int:
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        raise ValueError("--devices: a CUDA device needs torch, which is not installed") from None
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def _takes(obj: Any, arg: str) -> bool:
    """Whether ``obj`` (a reward class) is built with an argument called ``arg``."""
    if not inspect.isclass(obj):
        return False
    try:
        return arg in inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return False


def replica_rewards(
    rewards: Sequence[ComponentConfig], device: str, index: int, block: Sequence[str] = ()
) -> list[ComponentConfig]:
    """The config of copy ``index``: ``device`` (and ``replica``) set on the rewards that take them."""
    out, copied = [], False
    for config in rewards:
        obj = plugins.registry(tuple(block)).entry("reward", config.name).obj
        args = dict(config.args)
        if _takes(obj, "device"):
            args["device"], copied = device, True
            if _takes(obj, "replica"):
                args["replica"] = index
        out.append(ComponentConfig(config.name, config.weight, args, config.alias))
    if not copied:
        names = ", ".join(c.key for c in rewards) or "none"
        raise ValueError(f"--devices: none of the served rewards ({names}) takes a device, so there is nothing to copy")
    return out


@dataclass
class Load:
    """What one copy is doing and has done."""

    device: str
    in_flight: int = 0
    in_flight_samples: int = 0
    batches: int = 0
    samples: int = 0


class Replicas:
    """Copies of the same rewards, one per device, behind the Scorer interface the server uses."""

    def __init__(self, scorers: Sequence[Scorer], devices: Sequence[str]):
        if not scorers or len(scorers) != len(devices):
            raise ValueError("Replicas needs one scorer per device")
        self.scorers = list(scorers)
        self.devices = list(devices)
        self.loads = [Load(d) for d in devices]
        #: Called as a copy takes a batch: ``observe(index, device, samples)`` (metrics).
        self.observe: Callable[[int, str, int], None] = lambda index, device, size: None
        self._lock = threading.Lock()

    @property
    def components(self) -> list[Any]:
        return self.scorers[0].components

    @property
    def missing(self) -> str:
        return self.scorers[0].missing

    def _pick(self, size: int) -> int:
        with self._lock:
            index = min(
                range(len(self.loads)),
                key=lambda i: (self.loads[i].in_flight, self.loads[i].in_flight_samples, self.loads[i].batches, i),
            )
            load = self.loads[index]
            load.in_flight += 1
            load.in_flight_samples += size
            load.batches += 1
            load.samples += size
        return index

    def score(self, samples: Sequence[Sample]) -> ScoreBatch:
        """``samples`` scored by the least-loaded copy."""
        index = self._pick(len(samples))
        self.observe(index, self.devices[index], len(samples))
        try:
            return self.scorers[index].score(samples)
        finally:
            with self._lock:
                self.loads[index].in_flight -= 1
                self.loads[index].in_flight_samples -= len(samples)

    def warm_up(self, samples: Sequence[Sample]) -> list[ScoreBatch]:
        """``samples`` scored by every copy at once (each loads its models), in device order."""
        with ThreadPoolExecutor(len(self.scorers), thread_name_prefix="rewardhub-replica") as pool:
            return list(pool.map(lambda scorer: scorer.score(samples), self.scorers))

    def describe(self) -> list[dict[str, Any]]:
        """Per copy: its device, batches and samples scored so far, and batches in flight."""
        with self._lock:
            return [
                {"device": d.device, "batches": d.batches, "samples": d.samples, "in_flight": d.in_flight}
                for d in self.loads
            ]

    def close(self) -> None:
        for scorer in self.scorers:
            scorer.close()
