"""The process flow gives the same tables with one worker and with two.

Bodies are extracted in streamed jobs committed as they come back, and
documents are built in worker processes with provisional clause numbers and
loaded in batches (flows/process.py); this checks, on the demo archive, that
none of that shows in the result: every base table, ids included, is equal
to a one-worker run's.
"""

from __future__ import annotations

import pytest
from crash_driver import table_digests

from flows import process as process_mod
from flows.backfill import backfill
from flows.demo_site import demo_captures, demo_live_pages, demo_settings
from flows.local_archive import LocalArchive
from flows.process import process

pytestmark = pytest.mark.e2e


def _build(data_dir, archive, workers):
    settings = demo_settings(data_dir, archive, workers=workers, progress=False)
    backfill(settings)
    counts = process(settings)
    return settings, counts


def test_two_workers_and_small_batches_give_the_tables_of_one_worker(
    prefect_harness, tmp_path, monkeypatch
):
    with LocalArchive(demo_captures(), demo_live_pages()) as archive:
        one, one_counts = _build(tmp_path / "one", archive, 1)
        monkeypatch.setattr(process_mod, "DOCUMENT_BATCH", 1)
        monkeypatch.setattr(process_mod, "POOL_THRESHOLD", 1)
        # extraction in jobs of two bodies, committed every three outcomes
        monkeypatch.setattr(process_mod, "GROUP", 2)
        monkeypatch.setattr(process_mod, "CHUNK", 3)
        two, two_counts = _build(tmp_path / "two", archive, 2)
    assert one_counts["documents_rebuilt"] == two_counts["documents_rebuilt"] >= 2
    assert one_counts["versions"] == two_counts["versions"] > 3
    expected = table_digests(one.database)
    got = table_digests(two.database)
    assert expected["clause_versions"][0] > 0
    assert got == expected


def test_extraction_jobs_with_pdfs_go_first_then_the_largest():
    # a PDF job left for the end keeps one worker busy while the others wait
    from flows.process import BodyGroup, Pending, _expected_cost

    def group(name: str, *types: str) -> BodyGroup:
        jobs = tuple(
            Pending(f"{name}{i}", t, "k", "https://a.test/", (), (), name)
            for i, t in enumerate(types)
        )
        return BodyGroup("/raw", jobs, frozenset())

    html3 = group("h3", "text/html", "text/html; charset=utf-8", None)
    html1 = group("h1", "text/html")
    pdf = group("p1", "application/pdf")
    mixed = group("m2", "text/html", "application/pdf")
    ordered = sorted([html1, html3, pdf, mixed], key=_expected_cost)
    assert [g.jobs[0].document_id for g in ordered] == ["m2", "p1", "h3", "h1"]
