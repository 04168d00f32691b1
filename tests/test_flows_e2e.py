"""The real flows under Prefect's test harness, against the local archive."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from flows.demo_site import expected_texts
from warehouse.db import open_warehouse

pytestmark = pytest.mark.e2e


@pytest.fixture
def con(demo_run):
    connection = open_warehouse(demo_run["settings"].database, read_only=True)
    yield connection
    connection.close()


def test_demo_builds_documents_captures_and_versions(demo_run, con):
    documents = con.execute("SELECT document_id, slug FROM documents ORDER BY 1").fetchall()
    assert documents == [("D-00001", "privacy-policy"), ("D-00002", "terms-of-service")]
    sources = dict(con.execute("SELECT source, count(*) FROM captures GROUP BY 1").fetchall())
    assert sources["live"] == 3  # privacy + two terms pages; the second run added none
    assert sources["wayback"] >= 10


def test_versions_follow_the_visible_text_not_the_html(demo_run, con):
    expected = expected_texts()
    slugs = dict(con.execute("SELECT slug, document_id FROM documents").fetchall())
    for slug, changes in expected.items():
        rows = con.execute(
            "SELECT valid_from, text FROM analyst.document_versions WHERE document_id = ? "
            "ORDER BY valid_from",
            [slugs[slug]],
        ).fetchall()
        markers = [marker for _ts, marker in changes]
        assert len(rows) == len(markers), (slug, [r[0] for r in rows])
        for (_, text), marker in zip(rows, markers, strict=True):
            assert marker in text, (slug, marker)


def test_versions_chain_and_only_the_last_is_current(con):
    rows = con.execute(
        "SELECT document_id, valid_from, valid_to FROM versions ORDER BY document_id, valid_from"
    ).fetchall()
    by_doc: dict[str, list] = {}
    for doc, start, end in rows:
        by_doc.setdefault(doc, []).append((start, end))
    for intervals in by_doc.values():
        for (_, end), (start, _) in zip(intervals, intervals[1:], strict=False):
            assert end == start
        assert intervals[-1][1] is None
        assert all(end is not None for _, end in intervals[:-1])


def test_the_archived_error_page_is_recorded_not_versioned(con):
    rejected = con.execute(
        "SELECT outcome, reason FROM analyst.capture_log WHERE outcome = 'not_document'"
    ).fetchall()
    screened = con.execute("SELECT count(*) FROM problems WHERE stage = 'screen'").fetchone()[0]
    assert rejected or screened, "the 200-status error page must be rejected with a reason"


def test_every_version_points_to_captures_with_bytes(demo_run, con):
    orphans = con.execute(
        "SELECT count(*) FROM versions v WHERE NOT EXISTS "
        "(SELECT 1 FROM version_captures vc WHERE vc.version_id = v.version_id)"
    ).fetchone()[0]
    assert orphans == 0
    missing = con.execute(
        "SELECT count(*) FROM version_captures vc JOIN captures c USING (capture_id) "
        "WHERE c.raw_sha256 IS NULL"
    ).fetchone()[0]
    assert missing == 0
    verified = con.execute(
        "SELECT count(*) FROM captures WHERE source = 'wayback' AND digest_check = 'verified'"
    ).fetchone()[0]
    assert verified > 0


def test_a_second_run_fetches_no_archived_body_and_adds_nothing(demo_run, con):
    first_replays = [r for r in demo_run["first_log"] if r.kind == "replay"]
    second_replays = [r for r in demo_run["second_log"] if r.kind == "replay"]
    assert first_replays, "the first run must download archived bodies"
    assert second_replays == []
    wayback_first = demo_run["first"]["backfill"].get("captures", 0)
    assert wayback_first > 0
    assert demo_run["second"]["backfill"].get("captures", 0) == 0
    # the second live capture is a new observation of unchanged text: no new version
    versions = con.execute("SELECT count(*) FROM versions").fetchone()[0]
    assert demo_run["first"]["process"]["versions"] == versions
    assert demo_run["second"]["process"]["versions"] == versions
    runs = con.execute("SELECT flow, status FROM runs ORDER BY started_at").fetchall()
    assert {status for _, status in runs} == {"completed"}


def test_parquet_export_reads_back(demo_run, con):
    out = demo_run["settings"].export_dir
    manifest = json.loads((out / "manifest.json").read_text())
    versions = pq.read_table(out / "versions")
    assert versions.num_rows == manifest["tables"]["versions"]
    assert versions.num_rows == con.execute("SELECT count(*) FROM versions").fetchone()[0]
    assert set(versions.column("platform_id").to_pylist()) == {"lumen"}
    captures = pq.read_table(out / "captures")
    assert captures.num_rows == con.execute("SELECT count(*) FROM captures").fetchone()[0]


def test_live_pages_confirmed_and_documents_verified(demo_run, con):
    assert demo_run["second"]["capture"].get("unchanged_pages") == 3
    assert demo_run["second"]["capture"].get("captures", 0) == 0
    confirmed = con.execute(
        "SELECT count(*) FROM captures WHERE source = 'live' AND confirmed_at > captured_at"
    ).fetchone()[0]
    assert confirmed == 3
    unverified = con.execute("SELECT count(*) FROM documents WHERE last_verified_at IS NULL")
    assert unverified.fetchone()[0] == 0


def test_parquet_export_holds_the_clause_tables(demo_run, con):
    out = demo_run["settings"].export_dir
    for table in ("clauses", "clause_versions", "changes"):
        exported = pq.read_table(out / table)
        assert exported.num_rows == con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert exported.num_rows > 0
    # labels belong to clause texts, not to one platform: one unpartitioned file
    labels = pq.read_table(out / "clause_labels" / "part-0.parquet")
    assert labels.num_rows == con.execute("SELECT count(*) FROM clause_labels").fetchone()[0] > 0
    assert set(labels.column("category").to_pylist()) >= {"ai_training", "data_retention"}
