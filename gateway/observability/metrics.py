"""Prometheus metrics: requests and latency by route template, method and status.

Labels are route templates (``/v1/consents/{consent_id}``), never concrete paths, so neither
identifiers nor personal data reach the metrics.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from gateway.observability.metrics_folder import mark_worker

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "WitnessGauge", "witness_gauges"]


class Metrics:
    """The gateway's metrics.

    With ``shared_dir`` (several worker processes), every worker writes its values to files
    there (prometheus_client's multiprocess mode, switched on by PROMETHEUS_MULTIPROC_DIR before
    the workers start) and ``render`` adds up all workers, whichever answers the scrape.
    """

    def __init__(self, shared_dir: Path | None = None) -> None:
        self.shared_dir = shared_dir
        if shared_dir is not None:
            mark_worker(shared_dir)
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gateway_http_request_duration_seconds",
            "Time from request to the start of the response, by route template and method.",
            ["route", "method"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.tokens_issued = Counter(
            "gateway_oauth_tokens_issued",
            "Access tokens issued, by client authentication method.",
            ["method"],
            registry=self.registry,
        )
        self.token_refusals = Counter(
            "gateway_oauth_token_refusals",
            "Token requests refused, by OAuth error code.",
            ["error"],
            registry=self.registry,
        )

        self.witness_failures = Counter(
            "gateway_witness_failures",
            "Checkpoint submissions to a witness that brought no cosignature, by witness name "
            "and reason (timeout, unreachable, inconsistent, ahead, ...).",
            ["witness", "reason"],
            registry=self.registry,
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)

    def render(self) -> bytes:
        if self.shared_dir is None:
            return generate_latest(self.registry)
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined, path=str(self.shared_dir))
        return generate_latest(combined)


@dataclass(frozen=True)
class WitnessGauge:
    name: str
    cosigned_size: int
    entries_behind: int
    seconds_since_cosigned: float | None  # None: never cosigned


class _Witnesses:
    """Gauges read from the database at scrape time: every process sees the same witness
    state, so whichever worker answers the scrape tells the whole truth."""

    def __init__(self, gauges: Sequence[WitnessGauge]):
        self._gauges = gauges

    def collect(self) -> Iterator[Metric]:
        size = GaugeMetricFamily(
            "gateway_witness_cosigned_size",
            "The tree size each witness last cosigned.",
            labels=["witness"],
        )
        behind = GaugeMetricFamily(
            "gateway_witness_entries_behind",
            "Entries between the newest checkpoint and the one each witness last cosigned.",
            labels=["witness"],
        )
        since = GaugeMetricFamily(
            "gateway_witness_seconds_since_cosigned",
            "Seconds since each witness last cosigned a checkpoint (absent: never).",
            labels=["witness"],
        )
        for gauge in self._gauges:
            size.add_metric([gauge.name], gauge.cosigned_size)
            behind.add_metric([gauge.name], gauge.entries_behind)
            if gauge.seconds_since_cosigned is not None:
                since.add_metric([gauge.name], gauge.seconds_since_cosigned)
        yield from (size, behind, since)


class _Emergency:
    """Emergency access (§ 8a SGB VIII), read from the database at scrape time."""

    def __init__(self, releases: int, unreviewed: int, overdue: int):
        self._counts = releases, unreviewed, overdue

    def collect(self) -> Iterator[Metric]:
        releases, unreviewed, overdue = self._counts
        yield CounterMetricFamily(
            "gateway_emergency_releases",
            "Emergency queries that released data (each is on the DPOs' emergency page).",
            value=releases,
        )
        yield GaugeMetricFamily(
            "gateway_emergency_reviews_open",
            "Emergency accesses no data-protection officer has reviewed yet.",
            value=unreviewed,
        )
        yield GaugeMetricFamily(
            "gateway_emergency_reviews_overdue",
            "Emergency accesses whose review is due and not done.",
            value=overdue,
        )


def emergency_gauges(releases: int, unreviewed: int, overdue: int) -> bytes:
    registry = CollectorRegistry()
    registry.register(_Emergency(releases, unreviewed, overdue))
    return generate_latest(registry)


def witness_gauges(gauges: Sequence[WitnessGauge]) -> bytes:
    """The witness gauges in the Prometheus text format; empty without witnesses."""
    if not gauges:
        return b""
    registry = CollectorRegistry()
    registry.register(_Witnesses(gauges))
    return generate_latest(registry)
