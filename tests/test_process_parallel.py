"""The process flow gives the same tables with one worker and with two.

Bodies are extracted in streamed jobs committed as they come back, and
documents are built in worker processes with provisional clause numbers and
loaded in batches (flows/process.py); this checks, on the demo archive, that
none of that shows in the result: every base table, ids included, is equal
to a one-worker run's.
"""

from __future__ import annotations

import gc
import time

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


def _worker_gc_state():
    return gc.get_threshold(), gc.get_freeze_count()


def test_pool_workers_collect_garbage_rarely_and_never_walk_what_they_inherited():
    pool = process_mod.Pool(2)
    try:
        threshold, frozen = pool._executor().submit(_worker_gc_state).result()
    finally:
        pool.close()
    assert threshold[0] == process_mod.GC_FIRST_THRESHOLD
    assert frozen > 1000  # the modules and objects inherited from this process


def test_fewer_collections_puts_the_thresholds_back():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), process_mod.fewer_collections():
        assert gc.get_threshold()[0] == process_mod.GC_FIRST_THRESHOLD
        raise RuntimeError("the block fails")
    assert gc.get_threshold() == before


def _mark_started(path):
    path.touch()
    return path.name


def test_a_pool_stream_starts_its_first_jobs_before_a_result_is_asked_for(tmp_path):
    # the first jobs run while Prefect starts the task that takes the results
    pool = process_mod.Pool(2)
    paths = [tmp_path / f"job-{i}" for i in range(5)]
    try:
        results = pool.stream(_mark_started, paths, ahead=3)
        started = [p for p in paths if p.exists()]
        deadline = time.monotonic() + 30
        while len(started) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
            started = [p for p in paths if p.exists()]
        assert started == paths[:3]  # `ahead` jobs, no more, before any result is taken
        assert list(results) == [p.name for p in paths]
    finally:
        pool.close()


def test_in_process_streams_run_nothing_until_asked(tmp_path):
    paths = [tmp_path / f"job-{i}" for i in range(3)]
    results = process_mod.Pool(1).stream(_mark_started, paths, ahead=3)
    assert not any(p.exists() for p in paths)
    assert next(results) == "job-0"
    assert [p.exists() for p in paths] == [True, False, False]


def test_after_the_last_stream_hands_over_its_results_the_pool_takes_no_job(tmp_path):
    # the workers exit while the parent loads the last batch
    pool = process_mod.Pool(2)
    paths = [tmp_path / f"job-{i}" for i in range(4)]
    try:
        first = pool.stream(_mark_started, paths[:2], ahead=2)
        assert list(first) == ["job-0", "job-1"]
        last = pool.stream(_mark_started, paths[2:], ahead=2, last=True)
        assert next(last) == "job-2"
        assert next(last) == "job-3"
        with pytest.raises(RuntimeError, match="shutdown"):
            pool._executor().submit(_mark_started, tmp_path / "late")
        assert list(last) == []
    finally:
        pool.close()
