"""Prometheus metrics, one registry per app instance."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """Request counts and latencies by route template and status, match and import counters."""

    def __init__(self) -> None:
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
            "chainmatch_index_enterprises", "Enterprises in this worker's index", registry=self.registry
        )
        self.index_seq = Gauge(
            "chainmatch_index_change_seq",
            "Last change-log sequence applied by this worker",
            registry=self.registry,
        )
