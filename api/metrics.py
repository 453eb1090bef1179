"""Prometheus metrics, one registry per app instance; aggregated across workers in multiprocess mode.

``chainmatch serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before it starts the workers.
Each worker then writes its samples to memory-mapped files there, and ``/metrics`` on any worker collects all
of them: counters and histograms are summed over workers, the index gauges are listed per live worker (``pid``
label). Without the variable (tests, a single ``uvicorn`` process) the app's own registry is served.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


class Metrics:
    """Request counts and latencies by route template and status, match and import counters."""

    def __init__(self) -> None:
        # prometheus_client picks its value class at import: samples go to files only if the variable was
        # set before that (true in the workers ``chainmatch serve --workers N`` spawns)
        self.multiprocess = multiprocess_dir() is not None and values.ValueClass is not values.MutexValue
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "chainmatch_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "chainmatch_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.matches = Counter(
            "chainmatch_matches_total", "Match requests answered", ["kind"], registry=self.registry
        )
        self.match_items = Counter(
            "chainmatch_match_items_total", "Ranked items returned", ["kind"], registry=self.registry
        )
        self.import_rows = Counter(
            "chainmatch_import_rows_total", "Imported rows", ["status"], registry=self.registry
        )
        self.index_size = Gauge(
            "chainmatch_index_enterprises",
            "Enterprises in this worker's index",
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self.gc_frozen = Gauge(
            "chainmatch_gc_frozen_index_enterprises",
            "Enterprises in this worker's index when it last moved the index out of the garbage collector's reach "
            "(gc.freeze); 0 before the first freeze",
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self.index_seq = Gauge(
            "chainmatch_index_change_seq",
            "Last change-log sequence applied by this worker",
            registry=self.registry,
            multiprocess_mode="liveall",
        )

    def render(self) -> bytes:
        """The exposition text: every worker's samples in multiprocess mode, else this app's registry."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def close(self) -> None:
        """Drop this worker's live gauges from the aggregate (its counters stay counted)."""
        if self.multiprocess:
            mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
