"""Bulk imports as jobs: 202 and a job resource with progress and the per-row report, readable from any
worker; dry runs list the ids they would create and update; a job whose worker died is reported failed."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from matching.import_jobs import ImportJobStore
from matching.settings import Settings
from tests.api.api_helpers import ADMIN, PORTAL, enterprise, problem
from tests.api.test_api_imports import _csv

REPO = Path(__file__).resolve().parents[2]


def _wait_finished(client: TestClient, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/v1/imports/{job_id}", headers=ADMIN).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def _jsonl(*profiles: dict[str, Any]) -> bytes:
    return "\n".join(json.dumps(p, ensure_ascii=False) for p in profiles).encode("utf-8")


def test_job_import_reports_progress_and_rows_on_another_worker(make_client: Callable[..., TestClient]) -> None:
    worker_a = make_client()
    worker_b = make_client()
    sync_report = worker_a.post("/v1/imports", files={"file": ("m.csv", _csv())}, headers=ADMIN,
                                params={"dry_run": True}).json()  # fmt: skip
    accepted = worker_a.post("/v1/imports", files={"file": ("m.csv", _csv())}, headers=ADMIN,
                             params={"mode": "job"})  # fmt: skip
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["id"]
    assert accepted.headers["location"] == f"/v1/imports/{job_id}"
    assert accepted.json()["status"] in ("queued", "running", "succeeded")
    job = _wait_finished(worker_b, job_id)  # the job row is in the store: any worker reads it
    assert job["status"] == "succeeded" and job["phase"] == "done" and job["error"] is None
    assert job["progress"] == {"enterprises_total": 2, "enterprises_done": 2, "fraction": 1.0}
    report = job["report"]
    assert (report["rows"], report["accepted"], report["rejected"]) == (8, 3, 5)
    assert report["items"] == sync_report["items"]
    assert sorted(report["enterprises"]["created"]) == ["imp-a", "imp-d"] and not report["dry_run"]
    assert job["format"] == "csv" and job["rows_total"] == 8 and job["finished_at"] is not None
    # applied to the taking worker's index as one batch, matchable at once
    items = worker_a.post("/v1/match", json={"need": {"product": "硫酸锰"}, "k": 50}, headers=PORTAL).json()
    assert "imp-a" in {i["supplier"]["id"] for i in items["items"]}


def test_large_uploads_answer_202_small_ones_200(make_client: Callable[..., TestClient]) -> None:
    client = make_client(import_job_min_bytes=2048)
    small = _jsonl({"id": "s-1", **enterprise()})
    assert len(small) < 2048
    done = client.post("/v1/imports", files={"file": ("s.jsonl", small)}, headers=ADMIN)
    assert done.status_code == 200 and done.json()["enterprises"]["created"] == ["s-1"]
    big = _jsonl(*({"id": f"b-{n:03d}", **enterprise()} for n in range(40)))
    assert len(big) >= 2048
    accepted = client.post("/v1/imports", files={"file": ("b.jsonl", big)}, headers=ADMIN)
    assert accepted.status_code == 202
    job = _wait_finished(client, accepted.json()["id"])
    assert job["status"] == "succeeded" and len(job["report"]["enterprises"]["created"]) == 40
    forced = client.post("/v1/imports", files={"file": ("b.jsonl", big)}, headers=ADMIN, params={"mode": "sync"})
    assert forced.status_code == 200 and len(forced.json()["enterprises"]["unchanged"]) == 40


def test_unreadable_file_fails_the_job_with_a_reason(client: TestClient) -> None:
    accepted = client.post("/v1/imports", files={"file": ("x.xlsx", b"not a workbook")}, headers=ADMIN,
                           params={"mode": "job"})  # fmt: skip
    job = _wait_finished(client, accepted.json()["id"])
    assert job["status"] == "failed" and job["error"] and job["report"] is None


def test_job_lookup_errors(client: TestClient) -> None:
    problem(client.get(f"/v1/imports/{'0' * 32}", headers=ADMIN), 404)
    problem(client.get("/v1/imports/not-a-job", headers=ADMIN), 422)
    problem(client.get(f"/v1/imports/{'0' * 32}", headers=PORTAL), 403)


def test_dry_run_lists_what_it_would_create_and_update(client: TestClient) -> None:
    same = {"id": "dr-same", **enterprise()}
    assert client.put("/v1/enterprises/dr-same", json=enterprise(), headers=PORTAL).status_code == 201
    seed = client.get("/v1/enterprises/seed-zy-mn", headers=PORTAL).json()["enterprise"]
    changed = {**seed, "name": seed["name"] + "（新）"}
    data = _jsonl({"id": "dr-new", **enterprise()}, changed, same)
    for mode in ("sync", "job"):
        response = client.post("/v1/imports", files={"file": ("d.jsonl", data)}, headers=ADMIN,
                               params={"dry_run": True, "mode": mode})  # fmt: skip
        report = response.json() if mode == "sync" else _wait_finished(client, response.json()["id"])["report"]
        assert report["dry_run"] is True
        assert report["enterprises"] == {"created": ["dr-new"], "updated": ["seed-zy-mn"], "unchanged": ["dr-same"]}
    problem(client.get("/v1/enterprises/dr-new", headers=PORTAL), 404)  # nothing stored
    assert client.get("/v1/enterprises/seed-zy-mn", headers=PORTAL).json()["enterprise"]["name"] == seed["name"]


def test_cli_import_shows_progress_and_dry_run_ids(
    make_settings: Callable[..., Settings], tmp_path: Path, database_url: str | None, data_dir: Path
) -> None:
    from matching.cli import app

    path = tmp_path / "d.jsonl"
    path.write_bytes(_jsonl({"id": "cli-new", **enterprise()}, {"id": "seed-zy-mn", **enterprise()}))
    args = ["import", str(path), "--data-dir", str(data_dir), "--dry-run"]
    if database_url:
        args += ["--database-url", database_url]
    env = {"CHAINMATCH_SEEDS_DIR": str(make_settings().seeds_dir)}
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "would create (1): cli-new" in result.output
    assert "would update (1): seed-zy-mn" in result.output
    assert "storing" in result.output and "2/2" in result.output  # the progress bar (stderr is mixed in)
    stored = CliRunner().invoke(app, [a for a in args if a != "--dry-run"], env=env)
    assert stored.exit_code == 0 and "created 1, updated 1" in stored.output


def test_job_of_a_dead_worker_is_reported_failed(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings], data_dir: Path
) -> None:
    client = make_client()
    settings = make_settings()
    # a worker process claims a job and is killed before finishing it
    code = (
        "import os, signal\n"
        "from matching.import_jobs import ImportJobStore\n"
        "from matching.store import create_db_engine\n"
        "from matching.settings import Settings\n"
        "store = ImportJobStore(create_db_engine(Settings().resolved_database_url()), 30)\n"
        "job = store.create(filename='big.csv', fmt='csv', dry_run=False, size_bytes=1)\n"
        "store.update(job, status='running', phase='storing', enterprises_total=10, enterprises_done=3)\n"
        "print(job, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "CHAINMATCH_DATA_DIR": str(data_dir)}
    if settings.database_url:
        env["CHAINMATCH_DATABASE_URL"] = settings.database_url
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == -9, proc.stderr
    job = client.get(f"/v1/imports/{proc.stdout.strip()}", headers=ADMIN).json()
    assert job["status"] == "failed" and "exited before the job finished" in job["error"]
    assert job["progress"]["enterprises_done"] == 3 and job["finished_at"] is not None

    # a worker on another host: judged by its heartbeat
    store = ImportJobStore(client.app.state.service.repository.engine, stale_s=5)  # type: ignore[attr-defined]
    fresh = store.create(filename="a.csv", fmt="csv", dry_run=False, size_bytes=1, owner="elsewhere:4242")
    stale = store.create(filename="b.csv", fmt="csv", dry_run=False, size_bytes=1, owner="elsewhere:4243")
    store.update(stale, status="running", updated_at=datetime.now(UTC) - timedelta(seconds=60))
    assert store.get(fresh).status == "queued"
    assert client.get(f"/v1/imports/{fresh}", headers=ADMIN).json()["status"] == "queued"
    body = client.get(f"/v1/imports/{stale}", headers=ADMIN).json()
    assert body["status"] == "failed" and "no heartbeat" in body["error"]


def test_a_finished_job_logs_how_long_each_phase_took(make_client: Callable[..., TestClient],
                                                      caplog: Any) -> None:  # fmt: skip
    client = make_client()
    logger = logging.getLogger("chainmatch.imports")
    logger.addHandler(caplog.handler)  # the service's loggers do not propagate to the root logger
    try:
        with caplog.at_level("INFO", logger="chainmatch.imports"):
            accepted = client.post("/v1/imports", files={"file": ("m.csv", _csv())}, headers=ADMIN,
                                   params={"mode": "job"})  # fmt: skip
            job = _wait_finished(client, accepted.json()["id"])
            deadline = time.monotonic() + 10  # the log line follows the job row's final update
            while not (mine := [r for r in caplog.records if r.getMessage() == "import job finished"
                                and getattr(r, "job_id", None) == job["id"]]):  # other tests' jobs may log too
                assert time.monotonic() < deadline
                time.sleep(0.02)
    finally:
        logger.removeHandler(caplog.handler)
    (record,) = {id(r): r for r in mine}.values()  # one record (it reaches the handler twice if it propagates)
    assert record.status == "succeeded"
    phases = {k: getattr(record, k) for k in ("parsing_ms", "storing_ms", "indexing_ms")}
    assert all(isinstance(ms, float) and ms >= 0 for ms in phases.values()), phases
