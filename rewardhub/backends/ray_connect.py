"""Reaching Ray for the ``ray`` backend: fast to fail, quick to stop.

- **An address** (``--ray-address`` or ``RAY_ADDRESS``) is first dialled over TCP for
  :data:`DIAL_SECONDS` (:func:`check_address`): nothing listening there is a one-line
  :class:`~rewardhub.backends.BackendError` at once, where ``ray.init`` would retry and print
  warnings for minutes. Then ``ray.init`` gets a bounded budget: before Ray is imported, the
  driver's GCS connection is set to one attempt of at most :data:`GCS_CONNECT_SECONDS`
  (:func:`prepare`; only where the user has not set those variables), and the retry warnings
  Ray's C++ client prints on the process's stderr while joining are silenced, so a port that
  answers but is no Ray also fails in about 20 s, in one line.
- **Signals**: ``ray.init`` installs its own SIGTERM handler (for a local Ray, one that drains
  and then stops the node's processes gracefully: about 20 s). When the caller had installed
  a Python handler before (``rewardhub eval`` does: SIGTERM stops the run as Ctrl-C does), it is
  put back, and an interrupted run shuts Ray down at once (:func:`stop`).

Without an address a local Ray is started with this machine's CPUs. Tested in
``tests/test_ray_failures.py`` (real subprocesses) and ``tests/test_backend_ray.py``.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any

from rewardhub.backends.lines import BackendError

INSTALL = 'pip install "rewardhub[ray]"'
#: Seconds the TCP dial of a cluster address gets.
DIAL_SECONDS = 5.0
#: Seconds the driver's connection to a cluster's GCS gets (Ray's default: 30, then 20 retries).
GCS_CONNECT_SECONDS = 10
#: Ray settings (environment variables, read once when Ray is imported) for joining a cluster.
_JOIN_ENV = {
    "RAY_py_gcs_connect_timeout_s": str(GCS_CONNECT_SECONDS),
    "RAY_gcs_server_port_wait_time_s": "1",  # one connection attempt (Ray's default: 20)
}


@dataclass
class RaySettings:
    """Where and how wide the ``ray`` backend runs."""

    address: str | None = None  # None: RAY_ADDRESS if set, else a local Ray
    actors: int = 2
    gpus_per_actor: float = 0.0
    cpus_per_actor: float = 1.0
    batch_size: int = 512


def cluster_address(settings: RaySettings) -> str | None:
    """The cluster to join: ``settings.address``, else ``RAY_ADDRESS``; ``None``: start one."""
    return settings.address or os.environ.get("RAY_ADDRESS") or None


def prepare(settings: RaySettings) -> None:
    """Before Ray is first imported: bound how long joining a cluster may take (see the module
    doc). Variables the user set are left as they are; nothing changes for a local Ray."""
    if cluster_address(settings) in (None, "local") or "ray" in sys.modules:
        return
    for name, value in _JOIN_ENV.items():
        os.environ.setdefault(name, value)


def require_ray() -> Any:
    """The ``ray`` module, or a one-line error naming the install command."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise BackendError(f"--backend ray needs Ray Data: {INSTALL}") from None
    return ray


def check_address(address: str) -> None:
    """A :class:`BackendError` unless something accepts a TCP connection at ``address``
    (``host:port`` or ``ray://host:port``; other forms, such as ``auto``, are Ray's to read)."""
    target = address.split("://", 1)[-1].rstrip("/")
    host, colon, port = target.rpartition(":")
    if not colon or not port.isdigit() or not host:
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=DIAL_SECONDS):
            pass
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        raise BackendError(
            f"cannot reach a Ray cluster at {address}: {why}; start one there (ray start --head) "
            "or leave --ray-address and RAY_ADDRESS unset for a local Ray"
        ) from None


def connect(settings: RaySettings) -> Any:
    """Connect to the cluster (``address``, ``RAY_ADDRESS``) or start a local Ray, once."""
    prepare(settings)
    ray = require_ray()
    if not ray.is_initialized():
        address = cluster_address(settings)
        if address:
            check_address(address)
        # a local Ray gets logical CPUs for the actor pool *and* the read, group and sort tasks
        # beside it (actors hold theirs for the whole run: without room the tasks never start)
        room = None if address else max(os.cpu_count() or 1, math.ceil(settings.actors * settings.cpus_per_actor) + 2)
        on_main = threading.current_thread() is threading.main_thread()
        handler = signal.getsignal(signal.SIGTERM) if on_main else None
        try:
            with _stderr_silenced() if address else nullcontext():
                ray.init(
                    address=address,
                    num_cpus=room,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
        except Exception as exc:
            message = " ".join(str(exc).split())[:300]
            raise BackendError(f"cannot start or reach Ray ({address or 'local'}): {message}") from None
        finally:
            if on_main and callable(handler):  # the caller's SIGTERM handling, not Ray's
                signal.signal(signal.SIGTERM, handler)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # output in input order, merges in stream order
    context.enable_progress_bars = False
    return ray


@contextmanager
def _stderr_silenced() -> Iterator[None]:
    """The process's stderr (file descriptor 2) sent to nowhere for the block: Ray's C++
    client prints its connection retries there directly, whatever its log level says; the
    outcome is ours to say, in one line."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no file descriptor 2 to silence (an embedded interpreter)
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        with suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def stop(ray: Any) -> None:
    """Stop Ray now, after an interrupt, rather than in the interpreter's exit handlers: the
    driver disconnects and a Ray this process started is shut down (about a second; killing
    its processes first makes the driver's disconnect wait on them, five times longer)."""
    with suppress(Exception):
        ray.shutdown()
