"""``chainmatch serve --workers 2``: ``/metrics`` on any worker counts the requests of both."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from matching.settings import Settings
from tests.api.test_api_workers import two_worker_server

REPO = Path(__file__).resolve().parents[2]
HEALTHZ = re.compile(r'^chainmatch_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$', re.M)
INDEX = re.compile(r'^chainmatch_index_enterprises\{pid="(\d+)"\} (\S+)$', re.M)


@pytest.mark.slow
def test_metrics_aggregate_two_workers(make_settings: Callable[..., Settings], data_dir: Path) -> None:
    with two_worker_server(make_settings(), data_dir) as (base, stderr):
        sent = 0
        while sent < 60:  # fresh connections: the kernel spreads them over both workers
            sent += 1
            with httpx.Client(base_url=base, timeout=10) as http:
                assert http.get("/healthz").status_code == 200
        time.sleep(0.5)
        records = stderr.json_records()
        served = {r["pid"] for r in records if r.get("msg") == "request" and r.get("route") == "/healthz"}
        assert len(served) == 2, f"only {served} answered; cannot check aggregation"
        seen_pids: set[str] = set()
        for _ in range(10):  # every worker's /metrics shows the total over both
            with httpx.Client(base_url=base, timeout=10) as http:
                text = http.get("/metrics").text
            counts = [float(v) for v in HEALTHZ.findall(text)]
            assert counts == [float(sent)], counts
            seen_pids |= {pid for pid, _ in INDEX.findall(text)}
            assert all(float(v) == 4 for _, v in INDEX.findall(text))
        assert len(seen_pids) == 2  # one index gauge per live worker
