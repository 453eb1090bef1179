"""Index snapshots: a restart loads the saved index instead of building, applies the writes made meanwhile, and
rebuilds (never crashes) when the snapshot belongs elsewhere or is damaged. ``/readyz`` says which happened."""

from __future__ import annotations

import gc
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from matching.cli import app as cli_app
from matching.index_snapshot import SnapshotStore
from matching.service import ChainmatchService
from matching.settings import Settings
from tests.api.api_helpers import PORTAL, Captured, enterprise, running

SEED_IDS = ("seed-fl-adipic", "seed-zy-mn", "seed-hc-cell", "seed-cs-lmfp")


def matches(client: TestClient) -> dict[str, Any]:
    """Suppliers and buyers of every seed enterprise plus two ad-hoc matches, as the API returns them."""
    out: dict[str, Any] = {}
    for eid in SEED_IDS:
        for side in ("suppliers", "buyers"):
            response = client.get(f"/v1/enterprises/{eid}/{side}", params={"k": 20}, headers=PORTAL)
            out[f"{eid}/{side}"] = response.json() if response.status_code == 200 else response.status_code
    for product in ("己二酸", "硫酸锰"):
        response = client.post("/v1/match", json={"need": {"product": product}, "k": 20}, headers=PORTAL)
        out[f"match/{product}"] = response.json()["items"]
    return out


def snapshot_dir(settings: Settings) -> Path:
    root = settings.data_dir / "index"
    return root / (root / "CURRENT").read_text().strip()


def test_restart_loads_the_snapshot_and_applies_writes_made_while_down(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    with running(settings) as first:
        ready = first.get("/readyz").json()
        assert (ready["index_source"], ready["snapshot_seq"]) == ("built", ready["store_seq"])
        saved_seq = ready["store_seq"]
    # while no server runs: a new supplier, a changed one and a deleted one
    offline = ChainmatchService.open(settings, build_index=False)
    try:
        from matching.profiles import Enterprise

        offline.upsert(Enterprise.model_validate({"id": "offline-new", **enterprise(
            offers=[{"id": "o1", "product": "己二酸", "capacity": {"value": 3.0, "unit": "万吨/年"}}])}))
        changed = offline.get("seed-zy-mn").enterprise
        offline.upsert(changed.model_copy(update={"name": "改名后的锰业"}))
        offline.delete("seed-cs-lmfp")
        store_seq = offline.repository.max_seq()
    finally:
        offline.close()
    assert store_seq == saved_seq + 3
    with running(settings) as second:
        ready = second.get("/readyz").json()
        assert (ready["index_source"], ready["snapshot_seq"]) == ("snapshot", saved_seq)
        assert ready["index_seq"] == ready["store_seq"] == store_seq and ready["enterprises"] == 4
        restarted = matches(second)
    match_ids = {i["supplier"]["id"] for i in restarted["match/己二酸"]}
    assert "offline-new" in match_ids
    assert restarted["seed-cs-lmfp/suppliers"] == 404
    assert "改名后的锰业" in json.dumps(restarted, ensure_ascii=False)
    # the loaded-and-replayed index answers exactly as an index built from the store
    with running(make_settings(index_snapshot=False)) as fresh:
        assert fresh.get("/readyz").json()["index_source"] == "built"
        assert matches(fresh) == restarted
    # the second server saved the replayed changes at shutdown: the next start replays nothing
    with running(settings) as third:
        ready = third.get("/readyz").json()
        assert (ready["index_source"], ready["snapshot_seq"]) == ("snapshot", store_seq)


def test_a_running_server_refreshes_its_snapshot_after_enough_changes(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(index_snapshot_refresh_changes=3, index_snapshot_refresh_s=0)
    with running(settings) as client:
        first = client.get("/readyz").json()["snapshot_seq"]
        for n in range(2):
            assert client.put(f"/v1/enterprises/refresh-{n}", json=enterprise(), headers=PORTAL).status_code == 201
        client.get("/v1/enterprises/seed-zy-mn/suppliers", headers=PORTAL)  # a sync: 2 changes, below the bound
        assert client.get("/readyz").json()["snapshot_seq"] == first
        assert client.put("/v1/enterprises/refresh-2", json=enterprise(), headers=PORTAL).status_code == 201
        service = client.app.state.service  # type: ignore[attr-defined]
        service.sync(force=True)
        saver = service.index._saver
        assert saver is not None
        saver.join(timeout=30)
        ready = client.get("/readyz").json()
        assert ready["snapshot_seq"] == ready["store_seq"] == first + 3
        assert json.loads((snapshot_dir(settings) / "snapshot.json").read_text())["seq"] == first + 3


def _other_database(settings: Settings, make_settings: Callable[..., Settings], tmp_path: Path) -> Settings:
    """Settings for another SQLite store whose snapshot dir holds a copy of ``settings``' snapshot."""
    other = make_settings(data_dir=tmp_path / "other", database_url=None, log_level="INFO")
    with running(other):
        pass
    shutil.rmtree(other.data_dir / "index")
    shutil.copytree(settings.data_dir / "index", other.data_dir / "index")
    return other


def _newer_seq(settings: Settings, make_settings: Callable[..., Settings], tmp_path: Path) -> Settings:
    """The store looks reset to an earlier point: the snapshot's seq is ahead of it."""
    meta_file = snapshot_dir(settings) / "snapshot.json"
    meta = json.loads(meta_file.read_text())
    meta["seq"] += 100
    meta_file.write_text(json.dumps(meta))
    return settings


def _other_graph(settings: Settings, make_settings: Callable[..., Settings], tmp_path: Path) -> Settings:
    """The chain graph changed (a new synonym): the persist fingerprint no longer matches."""
    seeds = tmp_path / "seeds-v2"
    assert settings.seeds_dir is not None
    shutil.copytree(settings.seeds_dir, seeds)
    nodes = seeds / "nodes" / "test_nodes.yaml"
    text = nodes.read_text(encoding="utf-8")
    assert "synonyms: [苯]" in text
    nodes.write_text(text.replace("synonyms: [苯]", "synonyms: [苯, 石油苯]"), encoding="utf-8")
    return make_settings(seeds_dir=seeds, log_level="INFO")


@pytest.mark.parametrize(("change", "reason"), [
    (_other_database, "another database"), (_newer_seq, "ahead of the store"),
    (_other_graph, "another chain graph"),
])
def test_a_snapshot_that_does_not_fit_is_ignored_and_the_index_rebuilt(
    make_settings: Callable[..., Settings], tmp_path: Path, service_log: Captured,
    change: Callable[[Settings, Callable[..., Settings], Path], Settings], reason: str,
) -> None:
    settings = make_settings(log_level="INFO")
    with running(settings):
        pass
    target = change(settings, make_settings, tmp_path)
    service_log.records.clear()
    with running(target) as client:
        ready = client.get("/readyz").json()
        assert ready["index_source"] == "built" and ready["enterprises"] == 4
        assert ready["snapshot_seq"] == ready["store_seq"]  # and a fitting snapshot was saved in its place
    ignored = [line for line in service_log.lines(logging.INFO) if "snapshot not used" in line]
    assert len(ignored) == 1 and reason in ignored[0], service_log.lines(logging.INFO)
    assert service_log.lines(logging.WARNING) == []
    with running(target) as client:
        assert client.get("/readyz").json()["index_source"] == "snapshot"


def _truncate_array(path: Path) -> None:
    victim = path / "offers.text.data.npy"
    victim.write_bytes(victim.read_bytes()[:-8])


def _garble_sync_state(path: Path) -> None:
    victim = path / "sync.pkl"
    victim.write_bytes(b"\x00" * victim.stat().st_size)


def _remove_pickle(path: Path) -> None:
    (path / "objects.pkl").unlink()


@pytest.mark.parametrize("damage", [_truncate_array, _garble_sync_state, _remove_pickle])
def test_a_damaged_snapshot_is_rebuilt_with_one_warning(
    make_settings: Callable[..., Settings], service_log: Captured, damage: Callable[[Path], None],
) -> None:
    settings = make_settings()
    with running(settings) as client:
        before = matches(client)
    damage(snapshot_dir(settings))
    service_log.records.clear()
    with running(settings) as client:
        assert client.get("/readyz").json()["index_source"] == "built"
        assert matches(client) == before
    warnings = service_log.lines(logging.WARNING)
    assert len(warnings) == 1 and "index snapshot unreadable" in warnings[0]


def test_cli_index_build_prepares_the_snapshot_a_server_loads(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    env = {"CHAINMATCH_SEEDS_DIR": str(settings.seeds_dir), "CHAINMATCH_LOG_LEVEL": "WARNING"}
    args = ["index", "build", "--data-dir", str(settings.data_dir)]
    if settings.database_url:
        args += ["--database-url", settings.database_url]
    result = CliRunner().invoke(cli_app, args, env=env)
    assert result.exit_code == 0, result.output
    assert "4 enterprises at store seq 4" in result.output
    with running(settings) as client:
        ready = client.get("/readyz").json()
        assert (ready["index_source"], ready["snapshot_seq"], ready["enterprises"]) == ("snapshot", 4, 4)


@pytest.mark.parametrize("page", [7, 20_000])
def test_the_paged_build_matches_the_in_memory_build(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch, page: int,
) -> None:
    """On the repository's seed enterprises, read from the store ``page`` profiles at a time."""
    from matching import index_sync
    from matching.engine import MatchEngine
    from tests.api.conftest import REPO_SEEDS

    monkeypatch.setattr(index_sync, "BUILD_PAGE", page)
    service = ChainmatchService.open(make_settings(seeds_dir=REPO_SEEDS, index_snapshot=False))
    try:
        stored = service.repository.all_stored()
        assert len(stored) > 2 * 7
        paged = service.engine
        assert paged is not None
        whole = MatchEngine.build(service.graph, service.regions, service.policy, [s.enterprise for s in stored])
        assert service.index.state.applied == {s.enterprise.id: s.seq for s in stored}
        assert service.index.state.seq == service.repository.max_seq()
        compared = 0
        for s in stored:
            eid = s.enterprise.id
            assert paged.suppliers_for(eid, k=20) == whole.suppliers_for(eid, k=20)
            assert paged.buyers_for(eid, k=20) == whole.buyers_for(eid, k=20)
            compared += len(whole.suppliers_for(eid, k=20).items)
            assert service.index.chains_of[eid] == service.index.chains_for(eid)
        assert compared > 0
    finally:
        service.close()


def test_an_unusable_snapshot_directory_still_serves(
    make_settings: Callable[..., Settings], tmp_path: Path, service_log: Captured,
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the snapshot directory should be")
    with running(make_settings(index_snapshot_dir=blocker / "index")) as client:
        ready = client.get("/readyz").json()
        assert (ready["index_source"], ready["snapshot_seq"], ready["enterprises"]) == ("built", None, 4)
    warnings = service_log.lines(logging.WARNING)
    assert any("snapshot directory unusable" in w for w in warnings)
    assert any("snapshot not saved" in w for w in warnings)


@pytest.mark.parametrize("freeze", [False, True])
def test_a_snapshot_loads_with_the_collector_paused_and_frozen_on_request(
    make_settings: Callable[..., Settings], freeze: bool,
) -> None:
    settings = make_settings()
    with running(settings):  # builds the index and saves its snapshot
        pass
    service = ChainmatchService.open(settings, build_index=False)
    try:
        saved = service.snapshot_policy().store
        name = saved.current()
        assert name is not None
        store = SnapshotStore(saved.root, saved.store_id, saved.identity, freeze=freeze)
        gc.unfreeze()
        assert gc.isenabled()
        loaded = store.load(service.graph, service.regions, service.policy, service.repository.max_seq(), name)
        assert len(loaded.engine) == len(SEED_IDS) and gc.isenabled()
        # frozen: the loaded index is out of the collector's reach; not asked: the collector still walks it
        assert (gc.get_freeze_count() > 0) is freeze
    finally:
        gc.unfreeze()
        service.close()
