"""The client of ``rewardhub serve`` (:mod:`~rewardhub.remote.client`: :class:`RemoteScorer`,
with the :class:`~rewardhub.Scorer` interface) and the native wire format both ends speak
(:mod:`~rewardhub.remote.wire`). No web framework is imported here: the server's side is
:mod:`rewardhub.serve`."""

from rewardhub.remote.client import (
    REMOTE_KEY,
    REQUEST_SAMPLES,
    RemoteComponent,
    RemoteError,
    RemoteScorer,
    token_bytes,
)

__all__ = ["REMOTE_KEY", "REQUEST_SAMPLES", "RemoteComponent", "RemoteError", "RemoteScorer", "token_bytes"]
