"""Bad input from a user: a clear error, a non-zero exit, and nothing lost.

Each case here was a traceback, a silent misreading or a deleted file before.
None starts Prefect: the registry and settings are read, the export and the
rebuild targets checked, and the read commands run, without a flow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.cli import main
from flows.process import BodyGroup, Pending, Unreadable, read_group
from flows.rebuild import _check_target as check_rebuild_target
from flows.settings import Settings, SettingsError, load_registry
from transforms.records import DocumentSpec
from transforms.registry import RegistryError
from warehouse import load
from warehouse.db import WarehouseError, open_warehouse
from warehouse.export import ExportRefused, export_parquet
from warehouse.rawstore import RawStore

pytestmark = pytest.mark.faults

GOOD_DOC = """\
platforms:
  - slug: acme
    name: Acme
    documents:
      - slug: privacy
        name: Privacy
        type: Privacy Policy
        urls: [https://acme.test/privacy]
"""


def _registry(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "sources.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        # YAML keeps the last of two equal keys: the first list of URLs was dropped
        ("        urls: [https://acme.test/other]\n", "duplicate key 'urls'"),
        ("        select: 'div[[['\n", "bad selector 'div[[['"),
        ("        remove: [nav, 'p:no-such-pseudo']\n", "bad selector 'p:no-such-pseudo'"),
        ('        select: \'{"startBefore": "#a"\'\n', "range selector"),
    ],
)
def test_registry_faults_are_registry_errors_at_load(tmp_path: Path, extra: str, fragment: str):
    path = _registry(tmp_path, GOOD_DOC + extra)
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    assert str(path) in str(err.value)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [("http://[::1/x", "Invalid IPv6 URL"), ("http://acme.test:99999/x", "Port out of range")],
)
def test_a_url_that_cannot_be_parsed_is_a_registry_error(tmp_path: Path, url: str, fragment: str):
    path = _registry(tmp_path, GOOD_DOC.replace("https://acme.test/privacy", f"'{url}'"))
    with pytest.raises(RegistryError, match="URL cannot be parsed") as err:
        load_registry(path)
    assert fragment in str(err.value)


def test_a_registry_that_is_not_utf8_or_not_a_file_is_a_registry_error(tmp_path: Path):
    latin1 = _registry(
        tmp_path, GOOD_DOC.replace("Privacy\n", "Confidentialit\xe9\n").encode("latin-1")
    )
    with pytest.raises(RegistryError, match="must be UTF-8"):
        load_registry(latin1)
    with pytest.raises(RegistryError, match="cannot read the registry"):
        load_registry(tmp_path)  # a folder


def test_the_range_selectors_of_an_import_still_load(tmp_path: Path):
    doc = GOOD_DOC + '        select: [\'{"endBefore": "footer", "startBefore": "h1"}\', main]\n'
    (spec,) = load_registry(_registry(tmp_path, doc))
    assert spec.select[1] == "main"


def test_bad_settings_name_the_variable_or_the_option():
    with pytest.raises(SettingsError, match="CLAUSETRAIL_WORKERS: .*integer.*'abc'"):
        Settings.from_env({"CLAUSETRAIL_WORKERS": "abc"})
    with pytest.raises(
        SettingsError, match="CLAUSETRAIL_MAX_ATTEMPTS: .*greater than or equal to 1"
    ):
        Settings.from_env({"CLAUSETRAIL_MAX_ATTEMPTS": "0"})
    with pytest.raises(SettingsError, match="--workers: .*greater than or equal to 1"):
        Settings.from_env({"CLAUSETRAIL_WORKERS": "3"}, workers=0)


def test_cli_prints_a_bad_setting_without_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLAUSETRAIL_WORKERS", "abc")
    assert main(["--data-dir", str(tmp_path), "status"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "CLAUSETRAIL_WORKERS" in err and "Traceback" not in err


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A data dir holding a warehouse with one document and no version."""
    data = tmp_path / "data"
    con = open_warehouse(data / "clausetrail.duckdb")
    spec = DocumentSpec(
        "acme", "Acme", "privacy", "Privacy", "Privacy Policy", ("https://a.test/",)
    )
    load.sync_registry(con, [spec], datetime(2024, 1, 1, tzinfo=UTC))
    con.close()
    return data


def test_export_never_replaces_a_file_or_a_folder_it_did_not_write(warehouse: Path, tmp_path):
    con = open_warehouse(warehouse / "clausetrail.duckdb")
    now = datetime(2024, 1, 1, tzinfo=UTC)
    try:
        report = tmp_path / "report.txt"
        report.write_text("mine")
        with pytest.raises(ExportRefused, match="not a folder"):
            export_parquet(con, report, created_at=now)
        assert report.read_text() == "mine"
        # the data directory itself: the swap would delete the database and the raw store
        with pytest.raises(ExportRefused, match="clausetrail.duckdb"):
            export_parquet(con, warehouse, created_at=now)
        assert (warehouse / "clausetrail.duckdb").is_file()
        out = tmp_path / "export"
        export_parquet(con, out, created_at=now)
        export_parquet(con, out, created_at=now)  # an earlier export is replaced
        (out / "notes.txt").write_text("mine")
        with pytest.raises(ExportRefused, match="notes.txt"):
            export_parquet(con, out, created_at=now)
        assert (out / "notes.txt").read_text() == "mine"
        assert not list(tmp_path.glob(".*.staging")) and not list(tmp_path.glob(".*.old"))
    finally:
        con.close()


def test_rebuild_never_deletes_the_current_database_or_a_foreign_file(warehouse: Path, tmp_path):
    current = warehouse / "clausetrail.duckdb"
    with pytest.raises(WarehouseError, match="it is the current database"):
        check_rebuild_target(Path(str(warehouse / ".." / "data" / "clausetrail.duckdb")), current)
    report = tmp_path / "report.txt"
    report.write_text("mine")
    with pytest.raises(WarehouseError, match="not a DuckDB database"):
        check_rebuild_target(report, current)
    with pytest.raises(WarehouseError, match="folder"):
        check_rebuild_target(tmp_path, current)
    check_rebuild_target(tmp_path / "new.duckdb", current)  # new: fine
    check_rebuild_target(current.with_name("copy.duckdb"), current)
    assert report.read_text() == "mine"


def test_sql_writes_no_file(warehouse: Path, tmp_path, capsys):
    target = tmp_path / "out.csv"
    code = main(["--data-dir", str(warehouse), "sql", f"COPY (SELECT 1) TO '{target}'"])
    assert code == 2 and not target.exists()
    assert "disabled" in capsys.readouterr().err
    assert main(["--data-dir", str(warehouse), "sql", "   "]) == 2
    assert "the query is empty" in capsys.readouterr().err
    assert main(["--data-dir", str(warehouse), "sql", "-- nothing"]) == 0


@pytest.mark.parametrize("when", ["notadate", "2023-02-30", "2023-01-01 25:00"])
def test_diff_names_a_time_it_cannot_read(warehouse: Path, capsys, when: str):
    code = main(["--data-dir", str(warehouse), "diff", "acme/privacy", "--from", when])
    err = capsys.readouterr().err
    assert code == 2
    assert f"'{when}' is not a time" in err and "Traceback" not in err


def test_a_damaged_database_is_an_error_not_a_traceback(warehouse: Path, monkeypatch, capsys):
    """A truncated file opens, then fails on the first read of a lost block
    (`Could not read enough bytes from file ...`): that error is printed."""
    import duckdb

    from warehouse import queries

    def damaged(_con):  # type: ignore[no-untyped-def]
        raise duckdb.IOException('IO Error: Could not read enough bytes from file "x"')

    monkeypatch.setattr(queries, "summary", damaged)
    code = main(["--data-dir", str(warehouse), "status"])
    err = capsys.readouterr().err
    assert code == 2
    assert "error: the database cannot be used" in err and "Traceback" not in err


def test_an_unreadable_blob_is_reported_and_the_other_bodies_go_on(tmp_path: Path):
    store = RawStore(tmp_path / "raw")
    good = store.put(b"<html><body><h1>Privacy</h1><p>We keep your data safe.</p></body></html>")
    bad = store.put(b"<html><body><p>another body</p></body></html>")
    store.path_for(bad).write_bytes(b"altered on disk")

    def job(sha: str) -> Pending:
        return Pending(sha, "text/html", "k", "https://a.test/", (), (), "D-00001")

    out = read_group(BodyGroup(str(store.root), (job(bad), job(good)), frozenset()))
    assert isinstance(out[0][0], Unreadable) and "does not match its hash" in out[0][0].reason
    assert out[0][1] is None
    assert isinstance(out[1][0], str) and out[1][1] is not None and out[1][1].status == "ok"


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('{"kind": "snapshot", "path": "a.html"}', "line 2 lacks collection"),
        ("[1, 2]", "line 2 is not a JSON object"),
        (
            '{"kind": "snapshot", "path": "a.html", "collection": "c", "service": "S", '
            '"terms_type": "Privacy Policy", "capture_time": "yesterday"}',
            "capture_time 'yesterday'",
        ),
    ],
)
def test_a_malformed_manifest_row_is_an_import_error(tmp_path: Path, line: str, fragment: str):
    from flows.importer import CorpusImportError, read_manifest

    good = (
        '{"kind": "snapshot", "path": "a.html", "collection": "c", "service": "S", '
        '"terms_type": "Privacy Policy", "capture_time": "2024-01-01T00:00:00Z"}'
    )
    (tmp_path / "manifest.jsonl").write_text(f"{good}\n{line}\n", encoding="utf-8")
    with pytest.raises(CorpusImportError, match=fragment):
        read_manifest(tmp_path)
