"""Clause history end to end: the CLI views, rebuild, and late-found history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flows.cli import main
from warehouse.db import open_warehouse

pytestmark = pytest.mark.e2e


def _rows(database, sql, params=()):
    con = open_warehouse(database, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_every_clause_version_has_a_stable_unique_id(demo_run):
    db = demo_run["settings"].database
    dupes = _rows(
        db,
        "SELECT version_id, clause_id, count(*) FROM clause_versions GROUP BY ALL HAVING count(*) > 1",
    )
    assert dupes == []
    ids = [r[0] for r in _rows(db, "SELECT clause_id FROM clauses ORDER BY clause_id")]
    assert ids and all(i.startswith("P-") and len(i) == 8 for i in ids)
    # every version's clauses are numbered 0..n-1 without gaps
    gaps = _rows(
        db,
        "SELECT version_id FROM clause_versions GROUP BY version_id HAVING max(ordinal) + 1 <> count(*)",
    )
    assert gaps == []


def test_changes_record_the_retention_edit_as_a_modified_clause(demo_run):
    rows = _rows(
        demo_run["settings"].database,
        "SELECT kind, diff_text FROM analyst.changes WHERE document_id = 'D-00001' "
        "AND diff_text LIKE '%[-30-]{+90+}%'",
    )
    assert [kind for kind, _ in rows] == ["modified"]


def test_timeline_counts_match_the_changes_table(demo_run):
    db = demo_run["settings"].database
    timeline = _rows(
        db, "SELECT version_id, added + removed + modified + moved FROM analyst.document_timeline"
    )
    changes = dict(_rows(db, "SELECT to_version_id, count(*) FROM changes GROUP BY 1"))
    for version_id, total in timeline:
        assert total == changes.get(version_id, 0)
    first = _rows(
        db, "SELECT count(*) FROM analyst.document_timeline WHERE version_number = 1 AND added > 0"
    )
    assert first == [(0,)]


def test_history_diff_and_clause_commands(demo_run, capsys):
    data_dir = str(demo_run["settings"].data_dir)
    assert main(["--data-dir", data_dir, "history", "lumen/privacy-policy", "--changes"]) == 0
    out = capsys.readouterr().out
    assert "D-00001" in out and "[-30-]{+90+}" in out
    assert (
        main(
            [
                "--data-dir",
                data_dir,
                "diff",
                "D-00001",
                "--from",
                "2021-03-01",
                "--to",
                "2025-06-01",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "added" in out and "modified" in out
    clause_id = _rows(
        demo_run["settings"].database,
        "SELECT clause_id FROM analyst.changes WHERE diff_text LIKE '%[-30-]{+90+}%'",
    )[0][0]
    assert main(["--data-dir", data_dir, "clause", clause_id]) == 0
    out = capsys.readouterr().out
    assert clause_id in out and "modified" in out
    assert "data_retention" in out  # the labels of the clause's text, per version
    assert main(["--data-dir", data_dir, "clause", "P-999999"]) == 2
    assert "no clause" in capsys.readouterr().err


def test_clause_history_shows_a_removal_between_two_appearances(demo_run, capsys):
    db = demo_run["settings"].database
    # a clause removed in one version and added back in a later one
    clause_id, removed_in = _rows(
        db,
        "SELECT r.clause_id, r.to_version_id FROM changes r JOIN changes a "
        "ON a.clause_id = r.clause_id AND a.kind = 'added' AND a.changed_at > r.changed_at "
        "WHERE r.kind = 'removed' ORDER BY r.changed_at, r.clause_id LIMIT 1",
    )[0]
    history = _rows(
        db,
        "SELECT version_id, change, text FROM analyst.clause_history(?)",
        [clause_id],
    )
    appearances = _rows(
        db, "SELECT count(*) FROM clause_versions WHERE clause_id = ?", [clause_id]
    )[0][0]
    removals = _rows(
        db, "SELECT count(*) FROM changes WHERE clause_id = ? AND kind = 'removed'", [clause_id]
    )[0][0]
    assert len(history) == appearances + removals
    kinds = [change for _, change, _ in history]
    at = [version_id for version_id, _, _ in history].index(removed_in)
    assert kinds[at] == "removed" and history[at][2] is None
    assert "added" in kinds[at + 1 :]  # back later, after the removal
    assert main(["--data-dir", str(demo_run["settings"].data_dir), "clause", clause_id]) == 0
    out = capsys.readouterr().out
    assert removed_in in out and "removed:" in out


def test_rebuild_reproduces_every_id(demo_run, tmp_path):
    from flows.rebuild import rebuild

    result = rebuild(demo_run["settings"], out=str(tmp_path / "rebuilt.duckdb"))
    assert result["identical"], result["tables"]
    before = _rows(
        demo_run["settings"].database,
        "SELECT clause_id, version_id, text_sha256 FROM clause_versions ORDER BY ALL",
    )
    after = _rows(
        tmp_path / "rebuilt.duckdb",
        "SELECT clause_id, version_id, text_sha256 FROM clause_versions ORDER BY ALL",
    )
    assert before == after and len(before) > 100


def test_history_found_later_renumbers_nothing(prefect_harness, tmp_path):
    """Backfill 2023 onwards first; then the older history. Known ids hold."""
    from flows.demo_site import demo_captures, demo_live_pages, demo_settings
    from flows.local_archive import LocalArchive
    from flows.track import track

    with LocalArchive(demo_captures(), demo_live_pages()) as archive:
        settings = demo_settings(tmp_path, archive, workers=1, progress=False)
        track(settings, from_="2023", live=False, export_parquet=False)
        # a version's id comes from its first capture, which older history can move
        # earlier; the clause ids of a known version text must not change
        sql = (
            "SELECT v.text_sha256, cv.clause_id, cv.text_sha256 FROM clause_versions cv "
            "JOIN versions v USING (version_id) ORDER BY ALL"
        )
        recent = _rows(settings.database, sql)
        track(settings, live=False, export_parquet=False)
        full = _rows(settings.database, sql)
    assert recent
    assert set(recent) <= set(full), "a clause of a known version changed id"
    older = _rows(
        settings.database, "SELECT count(*) FROM versions WHERE valid_from < '2023-01-01'"
    )
    assert older[0][0] > 0


def test_a_write_command_on_the_demo_folder_keeps_the_demo_registry(
    demo_run, tmp_path, repo_root, monkeypatch
):
    import shutil

    copy = tmp_path / "demo"
    shutil.copytree(demo_run["settings"].data_dir, copy)
    query = "SELECT document_id, platform_id, slug FROM documents"
    before = _rows(copy / "clausetrail.duckdb", query)
    # from the repository root, whose ./sources.yaml is the real registry
    monkeypatch.chdir(repo_root)
    assert (repo_root / "sources.yaml").is_file()
    assert main(["--data-dir", str(copy), "process"]) == 0
    after = _rows(copy / "clausetrail.duckdb", query)
    assert sorted(after) == sorted(before) and len(before) >= 2


def test_the_demo_clauses_carry_labels_and_the_category_views_answer(demo_run):
    db = demo_run["settings"].database
    labelled = dict(
        _rows(
            db,
            "SELECT category, list(DISTINCT matched ORDER BY matched) FROM analyst.clause_labels "
            "WHERE document_id = 'D-00001' GROUP BY category",
        )
    )
    assert {"ai_training", "feedback_license", "data_retention", "children"} <= set(labelled)
    assert any("5 years" in m for m in labelled["data_retention"]), labelled["data_retention"]
    # every label belongs to a clause text that a clause version holds
    assert _rows(
        db,
        "SELECT count(*) FROM clause_labels l WHERE NOT EXISTS "
        "(SELECT 1 FROM clause_versions cv WHERE cv.text_sha256 = l.text_sha256)",
    ) == [(0,)]
    # the training section: absent from the first version, carried since it appeared
    first_training = _rows(
        db,
        "SELECT min(valid_from) FROM analyst.clause_labels "
        "WHERE document_id = 'D-00001' AND category = 'ai_training'",
    )[0][0]
    first_version = _rows(
        db, "SELECT min(valid_from) FROM versions WHERE document_id = 'D-00001'"
    )[0][0]
    assert first_version < first_training
    before = _rows(
        db,
        "SELECT category FROM analyst.categories_at(?) WHERE document_id = 'D-00001'",
        [first_training - timedelta(seconds=1)],
    )
    assert ("ai_training",) not in before and before
    now = _rows(
        db,
        "SELECT since, clauses, severity FROM analyst.categories_at(now()) "
        "WHERE document_id = 'D-00001' AND category = 'ai_training'",
    )
    # carried in every version since it appeared (edited and rolled back, never dropped)
    assert now == [(first_training, now[0][1], "high")] and now[0][1] >= 1
    unique = _rows(db, "SELECT DISTINCT platform_id FROM analyst.unique_categories_at(now())")
    assert unique == [("lumen",)]  # the demo tracks one platform
