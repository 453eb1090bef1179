"""The store: migrations, the repository and its change log, concurrent writers."""

from __future__ import annotations

import threading

import pytest
from alembic import command
from sqlalchemy import Engine, inspect

from matching.profiles import Enterprise
from matching.store import EnterpriseRepository, prepare_store, repository
from matching.store.migrate import alembic_config, current_revision, head_revision


def _ent(eid: str, name: str = "测试企业", region: str = "500102", product: str = "己二酸") -> Enterprise:
    return Enterprise.model_validate(
        {"id": eid, "name": name, "region_code": region, "offers": [{"id": "o1", "product": product}]}
    )


def test_migrations_reach_head_and_roundtrip(db: Engine) -> None:
    prepare_store(db)
    assert current_revision(db) == head_revision() is not None
    tables = set(inspect(db).get_table_names())
    assert {"enterprises", "enterprise_changes", "store_meta", "import_jobs", "alembic_version"} <= tables
    prepare_store(db)  # idempotent
    with db.connect() as conn:
        command.downgrade(alembic_config(conn), "base")
        conn.commit()
    assert "enterprises" not in set(inspect(db).get_table_names())
    prepare_store(db)
    assert current_revision(db) == head_revision()


def test_upsert_get_delete_and_change_log(db: Engine) -> None:
    prepare_store(db)
    repo = EnterpriseRepository(db)
    first = repo.upsert(_ent("a"))
    assert first.created and first.changed and first.stored.seq == 1
    same = repo.upsert(_ent("a"))
    assert not same.created and not same.changed and same.stored.seq == 1
    renamed = repo.upsert(_ent("a", name="新名"))
    assert renamed.changed and renamed.stored.seq == 2
    assert renamed.stored.created_at == first.stored.created_at
    assert renamed.stored.updated_at >= first.stored.updated_at
    stored = repo.get("a")
    assert stored is not None and stored.enterprise.name == "新名"
    assert repo.delete("a") == 3
    assert repo.delete("a") is None
    assert repo.get("a") is None
    assert [(c.seq, c.enterprise_id, c.op) for c in repo.changes_since(0)] == [
        (1, "a", "upsert"), (2, "a", "upsert"), (3, "a", "delete"),
    ]  # fmt: skip
    assert [c.seq for c in repo.changes_since(2)] == [3]
    assert repo.max_seq() == 3


def test_page_filters_and_escaping(db: Engine) -> None:
    prepare_store(db)
    repo = EnterpriseRepository(db)
    repo.upsert_many([_ent("b", name="乙_公司"), _ent("a", name="甲100%", region="520303"), _ent("c")])
    assert [s.enterprise.id for s in repo.page(limit=10)] == ["a", "b", "c"]
    assert [s.enterprise.id for s in repo.page(after="a", limit=1)] == ["b"]
    assert [s.enterprise.id for s in repo.page(region_code="520303")] == ["a"]
    assert [s.enterprise.id for s in repo.page(q="100%")] == ["a"]
    assert [s.enterprise.id for s in repo.page(q="_")] == ["b"]
    assert [s.enterprise.id for s in repo.page(q="己二")] == ["a", "b", "c"]
    assert [s.enterprise.id for s in repo.page(ids={"c", "a"}, after="a")] == ["c"]
    assert repo.page(ids=set()) == []
    assert repo.count() == 3


def test_meta(db: Engine) -> None:
    prepare_store(db)
    repo = EnterpriseRepository(db)
    assert repo.get_meta("k") is None
    repo.set_meta("k", "v1")
    repo.set_meta("k", "v2")
    assert repo.get_meta("k") == "v2"


def test_concurrent_writers_get_unique_increasing_sequences(db: Engine) -> None:
    prepare_store(db)
    repo = EnterpriseRepository(db)
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for i in range(15):
                repo.upsert(_ent(f"w{worker}-{i % 5}", name=f"名{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seqs = [c.seq for c in repo.changes_since(0)]
    assert len(seqs) == 60 and seqs == sorted(set(seqs))
    stored = {s.enterprise.id: s for s in repo.all_stored()}
    assert len(stored) == 20
    assert all(stored[f"w{w}-{k}"].enterprise.name == f"名{k + 10}" for w in range(4) for k in range(5))
    assert max(s.seq for s in stored.values()) == seqs[-1]


def test_reader_pages_are_one_stable_view_while_writers_commit(db: Engine) -> None:
    """An index build reads the store twice (texts, then profiles): both passes must see the same rows."""
    prepare_store(db)
    repo = EnterpriseRepository(db)
    repo.upsert_many([_ent(f"e{n:02d}") for n in range(7)])
    with repo.reader() as view:
        assert (view.seq, view.count) == (7, 7)
        first = [[(eid, seq, profile["name"]) for eid, seq, profile in page] for page in view.pages(3)]
        assert [len(page) for page in first] == [3, 3, 1]
        assert [row[0] for page in first for row in page] == [f"e{n:02d}" for n in range(7)]
        repo.upsert(_ent("e00", name="改名"))  # committed by another connection during the read
        repo.upsert(_ent("e99"))
        assert repo.delete("e03") is not None
        again = [[(eid, seq, profile["name"]) for eid, seq, profile in page] for page in view.pages(3)]
        assert again == first
    with repo.reader() as later:
        assert later.seq == 10
        rows = [row for page in later.pages(100) for row in page]
        assert [(eid, seq) for eid, seq, _ in rows if eid in ("e00", "e03", "e99")] == [("e00", 8), ("e99", 9)]


def test_store_id_is_created_once_and_kept(db: Engine) -> None:
    prepare_store(db)
    first = EnterpriseRepository(db).store_id()
    assert len(first) == 32 and EnterpriseRepository(db).store_id() == first


def test_bulk_upsert_matches_one_by_one_upserts(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bulk chunks (here 3 profiles each) write what single upserts would: an id repeated in a batch, in one
    chunk or across two, is compared with its earlier version; unchanged profiles are not rewritten."""
    monkeypatch.setattr(repository, "BULK_CHUNK", 3)
    prepare_store(db)
    repo = EnterpriseRepository(db)
    first = repo.upsert(_ent("kept", name="旧"))
    repo.upsert(_ent("same"))
    batch = [_ent("new1"), _ent("kept", name="新"), _ent("new1"), _ent("same"),  # chunk 1 and 2
             _ent("new1", name="再改"), _ent("new2"), _ent("kept", name="新")]  # fmt: skip
    progress: list[int] = []
    outcomes = repo.upsert_many(batch, on_progress=progress.append)
    assert progress == [3, 6, 7]
    assert [(o.stored.enterprise.id, o.created, o.changed, o.stored.seq) for o in outcomes] == [
        ("new1", True, True, 3), ("kept", False, True, 4), ("new1", False, False, 3), ("same", False, False, 2),
        ("new1", False, True, 5), ("new2", True, True, 6), ("kept", False, False, 4),
    ]  # fmt: skip
    assert [(c.seq, c.enterprise_id, c.op) for c in repo.changes_since(2)] == [
        (3, "new1", "upsert"), (4, "kept", "upsert"), (5, "new1", "upsert"), (6, "new2", "upsert"),
    ]  # fmt: skip
    stored = {s.enterprise.id: s for s in repo.all_stored()}
    assert {eid: (s.enterprise.name, s.seq) for eid, s in stored.items()} == {
        "kept": ("新", 4), "same": ("测试企业", 2), "new1": ("再改", 5), "new2": ("测试企业", 6)}
    assert stored["kept"].created_at == first.stored.created_at < stored["kept"].updated_at
    assert outcomes[4].stored.created_at == outcomes[0].stored.created_at == stored["new1"].created_at
    latest = [o.stored for o in outcomes if o.stored.seq == stored[o.stored.enterprise.id].seq]
    assert len(latest) == 5  # what an outcome reports is what a reader gets back
    assert all(s.enterprise == stored[s.enterprise.id].enterprise for s in latest)
    assert outcomes[2].stored == outcomes[0].stored
    assert [s.enterprise.id for s in repo.page(q="己二")] == ["kept", "new1", "new2", "same"]
