"""A process run with nothing new stops after one query (the inputs' watermark).

`flows.process.process` compares `warehouse.load.input_watermark` with the one
the last complete run recorded; these tests hold that the shortcut is taken
only when nothing a build reads has changed, and never hides work: a new
capture, a failed capture filled in, a new extraction, a registry change, or
a body still waiting for its extraction all send the run down the full path.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows import process as process_mod
from flows.backfill import backfill
from flows.demo_site import demo_captures, demo_live_pages, demo_settings
from flows.local_archive import LocalArchive
from flows.process import process
from transforms.records import DocumentSpec
from warehouse import load
from warehouse.db import open_warehouse
from warehouse.rawstore import RawStore

T0 = datetime(2024, 5, 1, tzinfo=UTC)
HEADS = {"D-00001": '["v7:abc", "3+labels1", 1'}


@pytest.fixture
def con(tmp_path: Path):
    connection = open_warehouse(tmp_path / "w.duckdb")
    spec = DocumentSpec(
        "acme", "Acme", "privacy", "Privacy", "Privacy Policy", ("https://a.test/",)
    )
    load.sync_registry(connection, [spec], T0)
    yield connection
    connection.close()


def _capture(i: int, raw: str | None = "a" * 64) -> load.CaptureRow:
    return load.CaptureRow(
        capture_id=f"c{i}",
        document_id="D-00001",
        page=0,
        source="wayback",
        captured_at=T0 + timedelta(days=i),
        original_url="https://a.test/",
        fetched_at=T0 + timedelta(days=30 + i),
        run_id="r1",
        raw_sha256=raw,
        error=None if raw else "connection reset",
    )


def test_the_watermark_moves_with_every_input_and_only_with_them(con):
    load.record_captures(con, [_capture(0), _capture(1, raw=None)])
    first = load.input_watermark(con, HEADS)
    assert load.input_watermark(con, HEADS) == first  # the same inputs, the same mark
    # a capture confirmed again is not an input
    con.execute("UPDATE captures SET confirmed_at = ? WHERE capture_id = 'c0'", [T0])
    assert load.input_watermark(con, HEADS) == first
    # a failed capture that fails again holds no bytes: not an input either
    load.record_captures(con, [dataclasses.replace(_capture(1, raw=None), error="timeout")])
    assert load.input_watermark(con, HEADS) == first
    # the retry that gets its bytes fills it in
    load.record_captures(con, [_capture(1, raw="b" * 64)])
    filled = load.input_watermark(con, HEADS)
    assert filled != first
    load.record_captures(con, [_capture(2, raw="c" * 64)])
    more = load.input_watermark(con, HEADS)
    assert more != filled
    row = load.ExtractionRow("c" * 64, "v7:abc", "ok", T0, text_sha256="d" * 64, fingerprint="f")
    load.record_extractions(con, [row], {"d" * 64: "text"})
    extracted = load.input_watermark(con, HEADS)
    assert extracted != more
    # a new extractor key, clause layer or page count is another head
    assert load.input_watermark(con, {"D-00001": '["v8:abc", "3+labels1", 1'}) != extracted
    assert load.input_watermark(con, {**HEADS, "D-00002": HEADS["D-00001"]}) != extracted


def test_the_last_watermark_is_one_row_replaced(con):
    assert load.last_watermark(con) is None
    load.record_watermark(con, "one", T0)
    load.record_watermark(con, "two", T0)
    assert load.last_watermark(con) == "two"
    assert con.execute("SELECT count(*) FROM process_state").fetchone()[0] == 1


@pytest.mark.e2e
def test_a_rerun_with_nothing_new_reads_no_capture_and_new_inputs_are_processed(
    prefect_harness, tmp_path, monkeypatch
):
    with LocalArchive(demo_captures(), demo_live_pages()) as archive:
        settings = demo_settings(tmp_path, archive, workers=1, progress=False)
        backfill(settings)
        first = process(settings)
        assert first["documents_rebuilt"] == 2

        def no_reads(_run):  # type: ignore[no-untyped-def]
            raise AssertionError("a run with nothing new hashed every document's captures")

        with monkeypatch.context() as patched:
            patched.setattr(process_mod, "capture_states", no_reads)
            again = process(settings)
        assert "documents_rebuilt" not in again
        assert again["documents_unchanged"] == 2
        assert again["versions"] == first["versions"]

        # a new capture of the privacy policy: its document is rebuilt
        con = open_warehouse(settings.database)
        try:
            row = con.execute(
                "SELECT capture_id, document_id, original_url, raw_sha256 FROM captures "
                "WHERE raw_sha256 IS NOT NULL AND page = 0 ORDER BY captured_at DESC LIMIT 1"
            ).fetchone()
            store = RawStore(settings.raw_dir)
            # the page as last seen, one sentence longer in its main text
            seen = store.get(row[3])
            end = seen.index(b"</p>", seen.index(b"<main"))
            body = seen[:end] + b" We changed this sentence." + seen[end:]
            sha = store.put(body)
            load.record_captures(
                con,
                [
                    load.CaptureRow(
                        capture_id="new-capture",
                        document_id=row[1],
                        page=0,
                        source="live",
                        captured_at=datetime.now(UTC),
                        original_url=row[2],
                        fetched_at=datetime.now(UTC),
                        run_id="test",
                        http_status=200,
                        content_type="text/html; charset=utf-8",
                        raw_sha256=sha,
                    )
                ],
            )
        finally:
            con.close()
        third = process(settings)
        assert third["documents_rebuilt"] == 1
        assert third["extracted"] == 1
        assert third["versions"] == first["versions"] + 1


@pytest.mark.e2e
def test_a_body_still_waiting_for_its_extraction_records_no_watermark(prefect_harness, tmp_path):
    with LocalArchive(demo_captures(), demo_live_pages()) as archive:
        settings = demo_settings(tmp_path, archive, workers=1, progress=False)
        backfill(settings)
        store = RawStore(settings.raw_dir)
        blob = next(iter(store))
        good = store.path_for(blob).read_bytes()
        store.path_for(blob).write_bytes(b"altered on disk")
        first = process(settings)
        assert first["unreadable"] == 1
        con = open_warehouse(settings.database, read_only=True)
        try:
            assert load.last_watermark(con) is None
        finally:
            con.close()
        # repaired, the body is read by the next run (not skipped as "nothing new")
        store.path_for(blob).write_bytes(good)
        second = process(settings)
        assert second.get("unreadable", 0) == 0
        assert second["extracted"] + second.get("extraction_reused", 0) == 1
        con = open_warehouse(settings.database, read_only=True)
        try:
            assert load.last_watermark(con) is not None
        finally:
            con.close()
