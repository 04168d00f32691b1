"""The speed benchmarks at a tiny scale: the synthetic warehouse is right, the
timed queries return the right rows, and `bench.run` writes its results."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bench import run as bench_run
from bench import speed, synthetic
from bench.synthetic import EPOCH, PERIOD_DAYS, Scale

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_importer import write_tiny_corpus  # noqa: E402


@pytest.fixture
def tiny(tmp_path):
    scale = Scale(documents=2, versions=3, clauses=10)
    con, steps = synthetic.build(tmp_path / "syn.duckdb", scale)
    yield con, scale, steps
    con.close()


def test_tiny_synthetic_row_counts(tiny):
    con, scale, steps = tiny
    counts = synthetic.row_counts(con)
    assert counts["documents"] == 2
    assert counts["versions"] == 2 * 3
    assert counts["captures"] == 2 * 3
    assert counts["clause_versions"] == scale.clause_versions == 2 * 3 * 10
    assert counts["clauses"] == 2 * 10  # no rotation before version 25
    assert set(steps) >= {"clause_versions", "changes", "clauses"}
    # every clause version points at a real version and document
    orphans = con.execute(
        "SELECT count(*) FROM clause_versions cv LEFT JOIN versions v USING (version_id) "
        "WHERE v.version_id IS NULL OR v.document_id <> cv.document_id "
        "OR v.valid_from <> cv.valid_from OR v.valid_to IS DISTINCT FROM cv.valid_to"
    ).fetchone()[0]
    assert orphans == 0
    # the grain of clause_versions holds: one row per clause per version
    assert con.execute(
        "SELECT count(*) = count(DISTINCT (clause_id, version_id)) FROM clause_versions"
    ).fetchone()[0]


def test_tiny_asof_returns_the_version_in_force(tiny):
    con, _scale, _steps = tiny
    at = EPOCH + timedelta(days=PERIOD_DAYS + 3)  # inside document 1's second version
    rows = synthetic.asof(con, "D-00001", at)
    assert len(rows) == 10
    cols = [d[0] for d in con.execute(synthetic.ASOF_SQL, ["D-00001", at]).description]
    valid_from = [r[cols.index("valid_from")] for r in rows]
    valid_to = [r[cols.index("valid_to")] for r in rows]
    assert set(valid_from) == {EPOCH + timedelta(days=PERIOD_DAYS)}
    assert set(valid_to) == {EPOCH + timedelta(days=2 * PERIOD_DAYS)}
    assert [r[cols.index("ordinal")] for r in rows] == list(range(10))
    assert {r[cols.index("document_id")] for r in rows} == {"D-00001"}
    # before the first version: nothing; after the last: the current version
    assert synthetic.asof(con, "D-00001", EPOCH - timedelta(days=1)) == []
    late = synthetic.asof(con, "D-00001", EPOCH + timedelta(days=999))
    assert len(late) == 10 and {r[cols.index("valid_to")] for r in late} == {None}
    assert synthetic.all_asof(con, at) == 2 * 10


def test_tiny_timeline(tiny):
    con, _scale, _steps = tiny
    rows = synthetic.timeline(con, "D-00002")
    assert len(rows) == 3
    cols = [d[0] for d in con.execute(synthetic.TIMELINE_SQL, ["D-00002"]).description]
    assert {r[cols.index("document_id")] for r in rows} == {"D-00002"}
    assert [r[cols.index("version_number")] for r in rows] == [1, 2, 3]
    assert {r[cols.index("clauses")] for r in rows} == {10}


def test_rotation_and_rewording_show_in_the_timeline(tmp_path):
    scale = Scale(documents=1, versions=26, clauses=10)  # 2 rotating clauses
    con, _steps = synthetic.build(tmp_path / "syn.duckdb", scale)
    try:
        cols = [d[0] for d in con.execute(synthetic.TIMELINE_SQL, ["D-00001"]).description]
        rows = [dict(zip(cols, r, strict=True)) for r in synthetic.timeline(con, "D-00001")]
        assert len(rows) == 26
        last = rows[25]  # version index 25: the rotation
        assert (last["added"], last["removed"]) == (2, 2)
        assert last["clauses"] == 10
        # clause at ordinal 0 rewords every 5 versions
        assert rows[5]["modified"] >= 1 and rows[1]["modified"] == 0
        assert sum(r["added"] + r["removed"] for r in rows[:25]) == 0
        changes = con.execute("SELECT count(*) FROM changes").fetchone()[0]
        assert changes == sum(r["added"] + r["removed"] + r["modified"] for r in rows)
    finally:
        con.close()


def test_time_queries_and_export(tiny, tmp_path):
    con, scale, _steps = tiny
    figures = synthetic.time_queries(con, scale, runs=2, export_dir=tmp_path / "out")
    for key in ("asof_ms", "asof_all_ms", "timeline_ms", "export_s"):
        assert isinstance(figures[key], float) and figures[key] >= 0
    assert figures["export_rows"]["clause_versions"] == 60
    assert figures["export_files"] > 0


def test_memory_of_this_process_is_measured():
    pss, rss = speed.tree_memory()
    assert 0 < pss <= rss * 1.01


def test_speed_skips_without_corpus(tmp_path, capsys):
    assert speed.main(["--corpus", str(tmp_path / "nowhere"), "--no-profile"]) == 0
    assert "skipped" in capsys.readouterr().out


def test_run_skips_without_corpus(tmp_path, capsys):
    out = tmp_path / "latest.json"
    assert bench_run.main(["--corpus", str(tmp_path / "nowhere"), "--out", str(out)]) == 0
    assert "skipped" in capsys.readouterr().out
    assert not out.exists()


REQUIRED = [
    "fidelity.no_selectors.median_f1",
    "fidelity.no_selectors.p10_f1",
    "fidelity.selectors.median_f1",
    "changes.recall",
    "changes.precision",
    "changes.noise_versions",
    "speed.snapshots_per_s_1_worker",
    "speed.snapshots_per_s_2_workers",
    "speed.peak_rss_mb",
    "speed.rerun_ratio",
    "speed.asof_ms_10m",
    "speed.timeline_ms_10m",
    "speed.export_s_10m",
]


@pytest.mark.slow
def test_bench_run_writes_results_and_docs(prefect_harness, tmp_path):
    corpus = write_tiny_corpus(tmp_path / "corpus")
    out = tmp_path / "results" / "latest.json"
    docs = tmp_path / "benchmarks.md"
    docs.write_text(
        "# Benchmarks\n\nprose kept\n\n" + bench_run.BEGIN + "\nold\n" + bench_run.END + "\n"
    )
    argv = ["--corpus", str(corpus), "--quick", "--scale", "2x3x10"]
    assert bench_run.main([*argv, "--out", str(out), "--docs", str(docs)]) == 0

    report = json.loads(out.read_text())
    for key in REQUIRED:
        assert report["summary"][key] is not None, key
        assert bench_run.dig(report, key) == report["summary"][key], key
    assert report["corpus"] == str(corpus)
    assert report["command"].startswith("python -m bench.run --corpus")
    assert report["machine"]["cores"] >= 1 and report["machine"]["memory_gb"] > 0
    assert "commit" in report["git"]
    assert report["speed"]["snapshots"] == 4
    assert report["synthetic"]["rows"]["clause_versions"] == 60
    assert report["speed"]["runs"]["2"]["counts"]["versions"] >= 2
    # the fidelity of the tiny pages against their gold is measured, not assumed
    assert 0 < report["summary"]["fidelity.no_selectors.median_f1"] <= 1

    text = docs.read_text()
    assert text.startswith("# Benchmarks\n\nprose kept")
    assert "old" not in text.split(bench_run.BEGIN)[1]
    assert "`speed.rerun_ratio`" in text and "bench.run --corpus" in text


def test_noise_copies_follow_the_archive_counts(tmp_path):
    corpus = write_tiny_corpus(tmp_path / "corpus")
    assert speed.archive_noise_copies(corpus) == 0  # no documents.jsonl
    (corpus / "documents.jsonl").write_text(
        json.dumps({"snapshot_commits_total": 30, "versions_total": 6})
        + "\n"
        + json.dumps({"snapshot_commits_total": 10, "versions_total": 4})
        + "\n"
    )
    assert speed.archive_noise_copies(corpus) == 3  # 40 / 10 - 1


@pytest.mark.slow
def test_noise_copies_change_the_html_not_the_versions(prefect_harness, tmp_path):
    corpus = write_tiny_corpus(tmp_path / "corpus")
    snapshots, noise = speed.noisy_corpus(corpus, tmp_path / "noisy", 3)
    assert (snapshots, noise) == (4 + 3 * 4, 3 * 4)
    rows = [json.loads(line) for line in (tmp_path / "noisy" / "manifest.jsonl").open()]
    copy = next(r for r in rows if r["path"].endswith(".noise2.html"))
    body = (tmp_path / "noisy" / copy["path"]).read_bytes()
    original = (corpus / copy["path"].replace(".noise2.html", ".html")).read_bytes()
    assert body != original and b'data-build="' in body
    source = next(r for r in rows if r["path"] == copy["path"].replace(".noise2.html", ".html"))
    gap = datetime.fromisoformat(
        copy["capture_time"].replace("Z", "+00:00")
    ) - datetime.fromisoformat(source["capture_time"].replace("Z", "+00:00"))
    assert copy["role"] == "noise" and gap == timedelta(seconds=2)

    plain, _s, settings = speed._import(speed._settings(tmp_path / "plain", 1), corpus)
    plain_counts, _seconds = speed._process(settings)
    result = speed.measure_noisy(corpus, tmp_path / "work", 1, 3)
    assert result["captures"] == 16 and result["noise_snapshots"] == 12
    assert result["counts"]["versions"] == plain_counts["versions"] >= 2
    # every copy reused the extraction of the snapshot it copies
    assert result["counts"]["extraction_reused"] >= 12
    assert result["snapshots_per_s"] > 0


def test_each_worker_count_reports_its_median_run(prefect_harness, tmp_path):
    corpus = write_tiny_corpus(tmp_path / "corpus")
    result = speed.measure_speed(
        corpus,
        workers=(1,),
        fractions=(1.0,),
        profile=False,
        work_dir=tmp_path / "work",
        noise_copies=0,
        repeats=3,
    )
    run = result["runs"]["1"]
    each = run["snapshots_per_s_each"]
    assert run["repeats"] == 3 and len(each) == 3 and each == sorted(each)
    assert run["snapshots_per_s"] == each[1] == result["snapshots_per_s_1_worker"]
    assert run["counts"]["versions"] >= 2
    # the re-run is the median of several, each of which found nothing to do
    reruns = run["rerun_s_each"]
    assert len(reruns) == speed.RERUNS and reruns == sorted(reruns)
    assert run["rerun_s"] == reruns[speed.RERUNS // 2]
    # made from the unrounded seconds (rounded to 3 decimals in `run`), and
    # itself rounded to 4: it lies where those roundings leave it
    low = (run["rerun_s"] - 0.0005) / (run["process_s"] + 0.0005) - 0.00005
    high = (run["rerun_s"] + 0.0005) / (run["process_s"] - 0.0005) + 0.00005
    assert low <= result["rerun_ratio"] <= high
    assert "documents_rebuilt" not in run["rerun_counts"]
    assert run["rerun_work_each"] == [0] * speed.RERUNS
    assert run["rerun_counts"]["documents_unchanged"] == run["counts"]["documents"]
    with pytest.raises(ValueError, match="repeats"):
        speed.measure_speed(corpus, repeats=0, work_dir=tmp_path / "none")
