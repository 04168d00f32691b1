import dataclasses
import gc
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from transforms.clauses import split_clauses
from transforms.lineage import trace_with_ledger
from transforms.records import DocumentSpec, Observation, sha256_hex
from transforms.versions import build_versions
from warehouse import load
from warehouse.arrowio import registered
from warehouse.clauses import ClauseHistory
from warehouse.db import WarehouseLocked, WarehouseMissing, migrations, open_warehouse
from warehouse.export import export_parquet
from warehouse.rawstore import RawStore, RawStoreError

T0 = datetime(2023, 3, 1, tzinfo=UTC)


def spec(platform="acme", slug="privacy", urls=("https://acme.test/privacy",)):
    return DocumentSpec(platform, platform.title(), slug, f"{slug} doc", "Privacy Policy", urls)


@pytest.fixture
def con(tmp_path: Path):
    connection = open_warehouse(tmp_path / "w.duckdb")
    yield connection
    connection.close()


def test_migrations_are_numbered_recorded_and_idempotent(tmp_path: Path):
    numbers = [m.number for m in migrations()]
    assert numbers == sorted(numbers) and numbers[0] == 1 and len(set(numbers)) == len(numbers)
    path = tmp_path / "w.duckdb"
    open_warehouse(path).close()
    con = open_warehouse(path)
    recorded = [
        r[0] for r in con.execute("SELECT number FROM schema_migrations ORDER BY 1").fetchall()
    ]
    assert recorded == numbers
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert {
        "platforms",
        "documents",
        "captures",
        "versions",
        "runs",
        "extractions",
        "texts",
    } <= tables
    con.close()


def test_document_ids_are_issued_once_and_never_reused(con):
    ids = load.sync_registry(con, [spec(slug="a"), spec(slug="b")], T0)
    assert ids == {"acme/a": "D-00001", "acme/b": "D-00002"}
    # reordered, one dropped, one added: existing ids hold, the new one gets the next number
    ids = load.sync_registry(con, [spec(slug="c"), spec(slug="b")], T0 + timedelta(days=1))
    assert ids == {"acme/c": "D-00003", "acme/b": "D-00002"}
    first = con.execute(
        "SELECT first_tracked_at FROM documents WHERE document_id='D-00002'"
    ).fetchone()[0]
    assert first == T0


def _capture(i: int, document_id="D-00001", run_id="r1", raw="0" * 64):
    when = T0 + timedelta(days=i)
    return load.CaptureRow(
        capture_id=load.capture_id_for("wayback", "https://acme.test/privacy", when),
        document_id=document_id,
        page=0,
        source="wayback",
        captured_at=when,
        original_url="https://acme.test/privacy",
        fetched_at=when,
        run_id=run_id,
        http_status=200,
        mime_type="text/html",
        raw_sha256=raw,
        raw_bytes=10,
    )


def test_capture_loads_are_idempotent(con):
    load.sync_registry(con, [spec()], T0)
    rows = [_capture(i) for i in range(5)]
    assert load.record_captures(con, rows) == 5
    assert load.record_captures(con, rows, [load.ProblemRow("r2", "cdx", "x", T0)]) == 0
    assert con.execute("SELECT count(*) FROM captures").fetchone()[0] == 5
    times, _ = load.known_wayback(con, "https://acme.test/privacy")
    assert len(times) == 5


def test_a_failed_capture_is_filled_in_by_the_retry_that_gets_its_bytes(con):
    import dataclasses

    load.sync_registry(con, [spec()], T0)
    failed = dataclasses.replace(
        _capture(1), raw_sha256=None, raw_bytes=None, http_status=None, error="reset"
    )
    assert load.record_captures(con, [failed]) == 1

    def row():
        return con.execute(
            "SELECT raw_sha256, error, run_id FROM captures WHERE capture_id = ?",
            [failed.capture_id],
        ).fetchone()

    # failing again: still one row, with the latest attempt's error
    again = dataclasses.replace(failed, error="timeout", run_id="r2")
    assert load.record_captures(con, [again]) == 0
    assert row() == (None, "timeout", "r2")
    # the retry that got the bytes fills the row in
    assert load.record_captures(con, [dataclasses.replace(_capture(1), run_id="r3")]) == 0
    assert row() == ("0" * 64, None, "r3")
    # and a capture recorded with its bytes is never replaced
    assert load.record_captures(con, [dataclasses.replace(again, run_id="r4")]) == 0
    assert load.record_captures(con, [dataclasses.replace(_capture(1), raw_sha256="1" * 64)]) == 0
    assert row() == ("0" * 64, None, "r3")
    assert con.execute("SELECT count(*) FROM captures").fetchone()[0] == 1


def test_a_failed_unit_of_work_leaves_nothing(con):
    load.sync_registry(con, [spec()], T0)
    good = _capture(1)
    bad = load.ProblemRow("r1", "cdx", "x", T0)
    con.execute("DROP TABLE problems")  # make the second half of the unit fail
    with pytest.raises(duckdb.Error):
        load.record_captures(con, [good], [bad])
    assert con.execute("SELECT count(*) FROM captures").fetchone()[0] == 0


def test_replace_versions_swaps_a_documents_versions_atomically(con):
    load.sync_registry(con, [spec()], T0)
    texts = {sha256_hex(t): t for t in ("A", "B")}
    observations = [
        Observation(T0 + timedelta(days=i), sha256_hex(t), (f"c{i}",)) for i, t in enumerate("AAB")
    ]
    versions = build_versions("D-00001", observations)
    load.replace_versions(con, "D-00001", versions, texts, "inputs-1", [], T0)
    load.replace_versions(con, "D-00001", versions, texts, "inputs-1", [], T0)
    assert con.execute("SELECT count(*) FROM versions").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM version_captures").fetchone()[0] == 3
    assert load.built_inputs(con) == {"D-00001": "inputs-1"}
    row = con.execute(
        "SELECT text FROM analyst.document_text_at('D-00001', ?)", [T0 + timedelta(days=1, hours=3)]
    ).fetchone()
    assert row == ("A",)
    assert (
        con.execute(
            "SELECT count(*) FROM analyst.document_text_at('D-00001', ?)", [T0 - timedelta(days=1)]
        ).fetchone()[0]
        == 0
    )


def test_raw_store_is_content_addressed_and_verifiable(tmp_path: Path):
    store = RawStore(tmp_path / "raw")
    sha = store.put(b"<html>hello</html>")
    assert sha == sha256_hex(b"<html>hello</html>")
    assert store.put(b"<html>hello</html>") == sha
    assert store.get(sha) == b"<html>hello</html>"
    assert list(store) == [sha]
    assert store.check(sha).status == "ok"
    store.path_for(sha).write_bytes(b"tampered")
    assert store.check(sha).status == "altered"
    with pytest.raises(RawStoreError, match="does not match"):
        store.get(sha)
    with pytest.raises(RawStoreError, match="not a SHA-256"):
        store.path_for("../../etc/passwd")
    store.partial_dir.mkdir(parents=True, exist_ok=True)
    (store.partial_dir / ".partial-x").write_bytes(b"half")
    assert store.remove_partials() == 1


def test_export_is_partitioned_readable_and_manifested(con, tmp_path: Path):
    load.sync_registry(con, [spec(), spec(platform="beta")], T0)
    load.record_captures(con, [_capture(1), _capture(2, document_id="D-00002")])
    texts = {sha256_hex("A"): "A"}
    versions = build_versions("D-00001", [Observation(T0, sha256_hex("A"), ("c",))])
    load.replace_versions(con, "D-00001", versions, texts, "x", [], T0)
    result = export_parquet(con, tmp_path / "out", created_at=T0)
    assert (tmp_path / "out" / "captures" / "platform_id=acme").is_dir()
    assert (tmp_path / "out" / "captures" / "platform_id=beta").is_dir()
    manifest = json.loads(result.manifest.read_text())
    assert manifest["tables"]["captures"] == 2 and manifest["tables"]["versions"] == 1
    for entry in manifest["files"]:
        path = tmp_path / "out" / entry["path"]
        assert sha256_hex(path.read_bytes()) == entry["sha256"]
        assert pq.ParquetFile(path).metadata.num_rows == entry["rows"]
    table = pq.read_table(tmp_path / "out" / "versions")
    assert table.column("text").to_pylist() == ["A"]
    assert set(table.column("platform_id").to_pylist()) == {"acme"}
    # a second export replaces the first, leaving no staging folders behind
    export_parquet(con, tmp_path / "out", created_at=T0)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.faults
def test_second_writer_gets_a_clear_error_naming_the_holder(tmp_path: Path, hold_database):
    path = tmp_path / "w.duckdb"
    open_warehouse(path).close()
    holder = hold_database(path)
    with pytest.raises(WarehouseLocked) as err:
        open_warehouse(path)
    assert f"open for writing by process {holder.pid}. " in str(err.value)
    assert "one writer at a time" in str(err.value)
    # told to wait, and the holder never lets go: the error says how long it waited
    with pytest.raises(WarehouseLocked) as err:
        open_warehouse(path, wait_seconds=1)
    assert f"process {holder.pid} (still, after waiting 1 s)" in str(err.value)
    assert err.value.holder == str(holder.pid)


@pytest.mark.faults
def test_a_writer_told_to_wait_opens_the_file_once_the_holder_lets_go(
    tmp_path: Path, hold_database
):
    import logging

    path = tmp_path / "w.duckdb"
    open_warehouse(path).close()
    holder = hold_database(path)
    said: list[str] = []

    class LetGo(logging.Handler):
        """The holder lets go when the writer says it waits (so it was refused once)."""

        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage())
            holder.stdin.close()

    handler = LetGo(level=logging.WARNING)
    logger = logging.getLogger("clausetrail")
    logger.addHandler(handler)
    try:
        con = open_warehouse(path, wait_seconds=120)
    finally:
        logger.removeHandler(handler)
    assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 1
    con.close()
    assert len(said) == 1
    assert f"process {holder.pid}" in said[0] and "waiting up to 120 s" in said[0]


def test_read_only_open_of_a_missing_file_says_what_to_do(tmp_path: Path):
    with pytest.raises(WarehouseMissing, match="clausetrail run"):
        open_warehouse(tmp_path / "nope.duckdb", read_only=True)


def test_registry_edits_reach_the_documents_table(con):
    load.sync_registry(con, [spec(slug="a")], T0)
    moved = DocumentSpec(
        "acme",
        "Acme Corp",
        "a",
        "renamed",
        "Terms of Service",
        ("https://acme.test/new",),
        ("main",),
        (),
    )
    assert load.sync_registry(con, [moved], T0) == {"acme/a": "D-00001"}
    row = con.execute(
        "SELECT d.name, terms_type, urls, select_css, p.name FROM documents d "
        "JOIN platforms p USING (platform_id)"
    ).fetchone()
    assert row == ("renamed", "Terms of Service", ["https://acme.test/new"], ["main"], "Acme Corp")
    # the same registry again: the same ids, nothing written
    assert load.sync_registry(con, [moved], T0) == {"acme/a": "D-00001"}
    # only the platform's name edited: that reaches the table too
    renamed = dataclasses.replace(moved, platform_name="ACME Inc.")
    assert load.sync_registry(con, [renamed], T0) == {"acme/a": "D-00001"}
    assert con.execute("SELECT name FROM platforms").fetchall() == [("ACME Inc.",)]


def test_document_fingerprints_are_per_document_and_extractor_key(con):
    load.sync_registry(con, [spec(slug="a"), spec(slug="b")], T0)
    shas = [c * 64 for c in "abc"]
    load.record_captures(
        con,
        [
            _capture(0, "D-00001", raw=shas[0]),
            _capture(1, "D-00001", raw=shas[1]),
            _capture(2, "D-00002", raw=shas[2]),
        ],
    )
    rows = [
        load.ExtractionRow(shas[0], "k1", "ok", T0, fingerprint="fp-a"),
        load.ExtractionRow(shas[1], "k2", "ok", T0, fingerprint="fp-b"),  # another setting
        load.ExtractionRow(shas[2], "k1", "empty", T0, fingerprint="fp-c"),
        load.ExtractionRow(shas[1], "k1", "ok", T0, fingerprint=None),  # made before prints
    ]
    load.record_extractions(con, rows, {})
    found = load.document_fingerprints(con, {"D-00001": "k1", "D-00002": "k1"})
    assert found == {"D-00001": frozenset({"fp-a"}), "D-00002": frozenset({"fp-c"})}
    assert load.document_fingerprints(con, {"D-00001": "k2"}) == {"D-00001": frozenset({"fp-b"})}
    assert load.document_fingerprints(con, {"D-00002": "k2"}) == {"D-00002": frozenset()}


def test_a_relation_is_registered_and_dropped_around_unread_results(con):
    con.execute("SELECT * FROM range(100000)").fetchone()  # leaves a result unread
    with registered(con, "_numbers", pa.table({"n": [1, 2, 3]})):
        assert con.execute("SELECT sum(n) FROM _numbers").fetchone() == (6,)
        con.execute("SELECT * FROM range(100000)").fetchone()  # and again inside
    with pytest.raises(duckdb.CatalogException):
        con.execute("SELECT * FROM _numbers")


def test_capture_states_move_with_what_a_build_reads_and_only_then(con):
    load.sync_registry(con, [spec(slug="a"), spec(slug="b"), spec(slug="c")], T0)
    shas = [c * 64 for c in "ab"]
    load.record_captures(con, [_capture(0, raw=shas[0]), _capture(1, raw=shas[1])])
    keys = {"D-00001": "k1", "D-00002": "k1"}

    def state(keys=keys):  # (inputs hash, captures waiting for an extraction) by document
        heads = {d: (key, f'["{key}"') for d, key in keys.items()}
        return {
            d: (s.inputs_sha256, s.unextracted) for d, s in load.capture_states(con, heads).items()
        }

    # straight after record_captures, whose last fetchone leaves a result
    # open: DuckDB would refuse to register `_keys` unless it is completed
    first = state()
    # a document with no stored capture has no state
    assert set(first) == {"D-00001"} and len(first["D-00001"][0]) == 64
    assert first["D-00001"][1] == 2
    # an extraction under another key moves nothing
    load.record_extractions(con, [load.ExtractionRow(shas[0], "k2", "ok", T0)], {})
    assert state() == first
    assert state({"D-00001": "k2"})["D-00001"][1] == 1
    # extracting a body (status and text) moves it, and so does its second body
    load.record_extractions(
        con, [load.ExtractionRow(shas[0], "k1", "ok", T0, text_sha256="t" * 64)], {}
    )
    extracted = state()
    assert extracted["D-00001"][0] != first["D-00001"][0] and extracted["D-00001"][1] == 1
    load.record_extractions(con, [load.ExtractionRow(shas[1], "k1", "empty", T0)], {})
    both = state()
    assert both["D-00001"][0] not in (first["D-00001"][0], extracted["D-00001"][0])
    assert both["D-00001"][1] == 0
    # the same rows give the same digest; another key reads other extractions
    assert state() == both
    assert state({"D-00001": "k2"})["D-00001"][0] != both["D-00001"][0]
    # a new capture of the document moves it, one of another document does not
    load.record_captures(con, [_capture(5, "D-00002", raw=shas[0])])
    after = state()
    assert after["D-00001"] == both["D-00001"] and after["D-00002"][1] == 0
    load.record_captures(con, [_capture(2, raw=shas[1])])
    assert state()["D-00001"][0] != both["D-00001"][0]


def test_capture_states_hash_is_json_dumps_of_the_head_and_the_captures(con):
    load.sync_registry(con, [spec(slug="a"), spec(slug="b")], T0)
    shas = [c * 64 for c in "abc"]
    cut = dataclasses.replace(_capture(2, raw=shas[2]), is_truncated=True, http_status=None)
    load.record_captures(
        con, [_capture(0, raw=shas[0]), _capture(1, raw=shas[1]), cut, _capture(3, "D-00002")]
    )
    load.record_extractions(
        con,
        [
            load.ExtractionRow(shas[0], "v7:k", "ok", T0, text_sha256="t" * 64),
            load.ExtractionRow(shas[1], "v7:k", "not_document", T0, reason="a wall"),
        ],
        {},
    )
    head = json.dumps(["v7:k", "3", 2])[:-1]
    states = load.capture_states(con, {"D-00001": ("v7:k", head), "D-00002": ("v7:k", head)})
    # the reference: json.dumps over the rows page_captures returns, in its order
    captures = load.page_captures(con, {"D-00001": "v7:k", "D-00002": "v7:k"})
    for document_id, rows in captures.items():
        listed = ["v7:k", "3", 2] + [
            [c.capture_id, c.page, c.http_status, c.is_truncated, c.status, c.text_sha256]
            for c in rows
        ]
        assert states[document_id].inputs_sha256 == sha256_hex(json.dumps(listed))
    assert states["D-00001"].unextracted == 1 and states["D-00002"].unextracted == 1
    # the rows hold every kind of value: null status and text, null HTTP status, true
    fields = {(c.http_status, c.is_truncated, c.status) for c in captures["D-00001"]}
    assert fields == {(200, False, "ok"), (200, False, "not_document"), (None, True, None)}


def test_replace_documents_swaps_a_batch_in_one_transaction(con):
    load.sync_registry(con, [spec(slug="a"), spec(slug="b")], T0)
    load.record_captures(con, [_capture(0, "D-00001"), _capture(1, "D-00002")])
    ids = {"D-00001": _capture(0).capture_id, "D-00002": _capture(1).capture_id}

    def build(document_id, text, inputs):
        obs = [Observation(T0, sha256_hex(text), (ids[document_id],))]
        versions = build_versions(document_id, obs)
        return load.DocumentBuild(document_id, versions, {sha256_hex(text): text}, inputs)

    load.replace_documents(con, [build("D-00001", "A", "i1"), build("D-00002", "B", "i2")], T0)
    load.replace_documents(con, [build("D-00001", "B", "i3"), build("D-00002", "B", "i2")], T0)
    got = con.execute("SELECT document_id, text_sha256 FROM versions ORDER BY 1").fetchall()
    assert got == [("D-00001", sha256_hex("B")), ("D-00002", sha256_hex("B"))]
    assert load.built_inputs(con) == {"D-00001": "i3", "D-00002": "i2"}
    assert con.execute("SELECT count(*) FROM version_captures").fetchone()[0] == 2
    # a failing batch leaves the previous builds whole
    con.execute("DROP TABLE problems")
    bad = load.ProblemRow("r1", "screen", "x", T0, "D-00002")
    broken = load.DocumentBuild("D-00002", (), {}, "i9", (bad,))
    with pytest.raises(duckdb.Error):
        load.replace_documents(con, [build("D-00001", "A", "i4"), broken], T0)
    assert load.built_inputs(con) == {"D-00001": "i3", "D-00002": "i2"}
    with pytest.raises(ValueError, match="twice"):
        load.replace_documents(con, [build("D-00001", "A", "x"), build("D-00001", "B", "y")], T0)


def test_change_ids_hash_the_final_version_clause_and_kind(con):
    """DuckDB makes each change id at load (`warehouse.clauses.CHANGE_ID_SQL`):
    the first 24 hex digits of SHA-256 of "to_version_id|clause_id|kind",
    as hashlib writes them, non-ASCII ids included."""
    load.sync_registry(con, [spec()], T0)
    texts = ["# Terms\n\nWe keep chats.\n\nNo spam.\n", "# Terms\n\nWe keep chats for ever.\n"]
    observations = [
        Observation(T0 + timedelta(days=i), sha256_hex(t), (f"c{i}",)) for i, t in enumerate(texts)
    ]
    versions = build_versions("D-00001", observations)
    items = [
        (v.version_id, v.text_sha256, split_clauses(t))
        for v, t in zip(versions, texts, strict=True)
    ]
    traced, issued, _next = trace_with_ledger(items, {}, 1)
    # a version id with non-ASCII characters hashes its UTF-8 bytes
    odd = dataclasses.replace(versions[1], version_id="D-00001@é’")
    traced = (traced[0], dataclasses.replace(traced[1], version_id=odd.version_id))
    load.replace_versions(
        con,
        "D-00001",
        [versions[0], odd],
        {sha256_hex(t): t for t in texts},
        "i",
        [],
        T0,
        ClauseHistory(traced, issued),
    )
    rows = con.execute("SELECT change_id, to_version_id, clause_id, kind FROM changes").fetchall()
    assert {kind for *_rest, kind in rows} == {"modified", "removed"}
    for change_id, version_id, clause_id, kind in rows:
        assert change_id == sha256_hex(f"{version_id}|{clause_id}|{kind}")[:24]


def test_views_are_recreated_only_when_their_text_changed(tmp_path: Path, monkeypatch):
    from warehouse import db

    path = tmp_path / "w.duckdb"
    con = open_warehouse(path)
    before = con.execute("SELECT views_sha256 FROM view_state").fetchall()
    assert len(before) == 1
    assert db.create_views(con) is False  # same text: nothing to do
    # a view dropped by hand comes back with force
    con.execute("DROP VIEW analyst.document_versions")
    assert db.create_views(con, force=True) is True
    con.execute("SELECT count(*) FROM analyst.document_versions").fetchone()
    con.close()
    # a changed view file is picked up at the next writer's open
    changed = [
        (name, sql + "\n-- edited") if name.startswith("010") else (name, sql)
        for name, sql in db.views_sql()
    ]
    monkeypatch.setattr(db, "views_sql", lambda: tuple(changed))
    con = open_warehouse(path)
    after = con.execute("SELECT views_sha256 FROM view_state").fetchall()
    assert len(after) == 1 and after != before
    assert db.create_views(con) is False
    con.close()


def test_prune_labels_drops_old_taxonomies_and_texts_no_clause_holds(con):
    from transforms.classify import TAXONOMY_VERSION
    from warehouse.clauses import prune_labels

    con.execute(
        "INSERT INTO clause_versions (clause_id, version_id, document_id, ordinal, heading_path, "
        "kind, text, text_sha256, valid_from) VALUES "
        "('P-000001', 'v1', 'D-00001', 0, [], 'paragraph', 'We sell data.', 'held', now())"
    )
    rows = [
        ("held", "sale_of_data", TAXONOMY_VERSION),  # kept
        ("held", "data_sharing", "0"),  # an older taxonomy
        ("gone", "sale_of_data", TAXONOMY_VERSION),  # no clause version holds the text
    ]
    for sha, category, taxonomy in rows:
        con.execute(
            "INSERT INTO clause_labels VALUES (?, ?, 'high', 'r', 'm', [], ?)",
            [sha, category, taxonomy],
        )
    prune_labels(con)
    left = con.execute("SELECT text_sha256, category FROM clause_labels").fetchall()
    assert left == [("held", "sale_of_data")]


def test_an_insert_that_fails_inside_a_transaction_reports_its_own_error():
    """The failed statement aborts the transaction, so the clean-up after it
    (unregistering the Arrow table) fails too; the error raised must be the
    insert's, not "Current transaction is aborted"."""
    from warehouse.arrowio import insert_arrow

    con = duckdb.connect()
    con.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
    con.execute("INSERT INTO t VALUES (1)")
    con.execute("BEGIN")
    with pytest.raises(duckdb.ConstraintException, match="Duplicate key"):
        insert_arrow(con, "t", pa.table({"k": [1]}), or_ignore=False)
    con.execute("ROLLBACK")
    insert_arrow(con, "t", pa.table({"k": [2]}), or_ignore=False)  # and the next insert works
    assert con.execute("SELECT k FROM t ORDER BY k").fetchall() == [(1,), (2,)]


def test_a_writer_is_attached_to_the_process_instance_and_closing_lets_the_file_go(
    tmp_path: Path,
):
    """`open_warehouse` attaches the file to one DuckDB instance per process
    (`warehouse.db.Warehouse`): two writers in one process share it, a
    transaction left open is rolled back at close, and the last close
    checkpoints the file and releases its lock for other processes."""
    import subprocess
    import sys

    path = tmp_path / "w.duckdb"
    first = open_warehouse(path)
    second = open_warehouse(path)
    load.sync_registry(first, [spec()], T0)
    assert second.execute("SELECT count(*) FROM documents").fetchone()[0] == 1
    first.close()
    first.close()  # a second close does nothing
    # the other connection still works; what it leaves uncommitted is rolled back
    second.execute("BEGIN TRANSACTION")
    second.execute("DELETE FROM documents")
    second.close()
    assert not Path(f"{path}.wal").exists()  # checkpointed at the last close
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
        "print(con.execute('SELECT count(*) FROM documents').fetchone()[0])"
    )
    other = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert other.stdout.strip() == "1"
    # and this process opens it again; a connection dropped without a close
    # lets the file go when it is collected
    again = open_warehouse(path)
    assert again.execute("SELECT count(*) FROM documents").fetchone()[0] == 1
    del again
    gc.collect()
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, capture_output=True)
