"""The server's Prometheus metrics (``GET /metrics``), in a registry of its own per app.

Requests by protocol and status, samples scored, batch sizes, queue depth, request latency,
failed samples by reward, and with ``--devices`` the batches and samples of each copy.
Tested in ``tests/test_serve.py`` (copies: ``tests/test_serve_replicas.py``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from rewardhub.engine.results import ScoreBatch

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class ServeMetrics:
    """Counters and histograms the app and the batcher update."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        disable_created_metrics()  # no *_created series: they only add noise to a scrape
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "rewardhub_requests", "HTTP requests by endpoint and status", ["endpoint", "status"], registry=r
        )
        self.samples = Counter("rewardhub_samples", "Samples scored, by endpoint", ["endpoint"], registry=r)
        self.batch_size = Histogram(
            "rewardhub_batch_size", "Samples per batch sent to the scorer", buckets=BATCH_BUCKETS, registry=r
        )
        self.queue_depth = Gauge("rewardhub_queue_depth", "Samples waiting to be scored", registry=r)
        self.latency = Histogram(
            "rewardhub_request_seconds",
            "Time from request to response, by endpoint",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.replica_batches = Counter(
            "rewardhub_replica_batches",
            "Batches each copy of the rewards took (--devices)",
            ["replica", "device"],
            registry=r,
        )
        self.replica_samples = Counter(
            "rewardhub_replica_samples",
            "Samples each copy of the rewards scored (--devices)",
            ["replica", "device"],
            registry=r,
        )
        self.reward_errors = Counter(
            "rewardhub_reward_errors", "Samples a reward failed on (None with an error)", ["reward"], registry=r
        )

    def observe_batch(self, size: int, queue_depth: int) -> None:
        self.batch_size.observe(size)
        self.queue_depth.set(queue_depth)

    def observe_replica(self, index: int, device: str, size: int) -> None:
        self.replica_batches.labels(str(index), device).inc()
        self.replica_samples.labels(str(index), device).inc(size)

    def observe_results(self, endpoint: str, batch: ScoreBatch) -> None:
        self.samples.labels(endpoint).inc(len(batch))
        failed: dict[str, int] = {}
        for errors in batch.errors:
            for key in errors:
                failed[key] = failed.get(key, 0) + 1
        for key, count in failed.items():
            self.reward_errors.labels(key).inc(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
