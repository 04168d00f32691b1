"""WARC files as a capture source: real WARCs written with warcio, imported twice."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import yaml
from warc_records import write_response, write_revisit
from warcio.warcwriter import WARCWriter

from flows.cli import main
from flows.settings import Settings
from flows.warc_import import WarcImportError, import_warcs, url_key
from warehouse.db import open_warehouse

pytestmark = pytest.mark.e2e

PRIVACY = "https://acme.example/legal/privacy"
TERMS = "https://acme.example/terms"
CLAUSE = (
    "We keep your messages for {days} days and may use them to train our models. "
    "You can opt out in your settings at any time, and we will stop."
)


def html(days: int) -> bytes:
    paragraphs = "".join(f"<p>{CLAUSE.format(days=days)} ({i})</p>" for i in range(8))
    return (
        "<!doctype html><html lang='en'><head><title>Privacy</title></head><body>"
        f"<main><h1>Privacy Policy</h1>{paragraphs}</main></body></html>"
    ).encode()


def write_warcs(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    main_warc = folder / "crawl.warc.gz"
    with main_warc.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        # the registry says https://acme.example/legal/privacy; the crawl saw
        # the http, www, trailing-slash form
        first = write_response(
            writer, "http://www.acme.example/legal/privacy/", "2024-01-05T10:00:00Z", html(30)
        )
        write_response(
            writer, "https://acme.example/static/app.js", "2024-01-05T10:00:01Z", b"var x;"
        )
        # the same bytes a month later: a revisit record
        digest = first.rec_headers.get_header("WARC-Payload-Digest")
        write_revisit(writer, PRIVACY, digest, "2024-02-05T10:00:00Z")
        # a revisit of a payload these files do not hold
        write_revisit(writer, TERMS, "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "2024-02-06T10:00:00Z")
        # a new text, sent gzip-encoded
        write_response(
            writer,
            PRIVACY,
            "2024-03-01T09:00:00Z",
            gzip.compress(html(90)),
            headers=[("Content-Encoding", "gzip")],
        )
        write_response(
            writer, TERMS, "2024-03-01T09:00:05Z", b"<html>gone</html>", status="404 Not Found"
        )
    # a file that is not a WARC, and one cut off in the middle of a record
    (folder / "notes.warc").write_bytes(b"this is not a WARC file\n" * 20)
    cut = folder / "cut.warc.gz"
    data = main_warc.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    plain = gzip.decompress(data)
    (folder / "plaincut.warc").write_bytes(plain[: int(len(plain) * 0.9)])
    return {
        "main": main_warc,
        "bad": folder / "notes.warc",
        "cut": cut,
        "plaincut": folder / "plaincut.warc",
    }


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    registry = tmp_path / "sources.yaml"
    registry.write_text(
        yaml.safe_dump(
            {
                "platforms": [
                    {
                        "slug": "acme",
                        "name": "Acme",
                        "documents": [
                            {
                                "slug": "privacy",
                                "name": "Privacy",
                                "type": "Privacy Policy",
                                "urls": [PRIVACY],
                            },
                            {
                                "slug": "terms",
                                "name": "Terms",
                                "type": "Terms of Service",
                                "urls": [TERMS],
                            },
                        ],
                    }
                ]
            }
        )
    )
    return Settings(data_dir=tmp_path / "data", sources=registry, workers=1, progress=False)


def _rows(settings: Settings, sql: str) -> list[tuple]:
    con = open_warehouse(settings.database, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_urls_match_across_scheme_www_ports_and_trailing_slashes():
    assert url_key("http://www.Acme.example:80/legal/privacy/") == url_key(PRIVACY)
    assert url_key("https://acme.example:443/legal/privacy#top") == url_key(PRIVACY)
    assert url_key("https://acme.example/legal/privacy?lang=fr") != url_key(PRIVACY)
    assert url_key("https://acme.example:8443/legal/privacy") != url_key(PRIVACY)


@pytest.mark.faults
def test_warc_records_become_captures_and_versions_and_bad_files_are_problems(
    settings, tmp_path, prefect_harness
):
    files = write_warcs(tmp_path / "warcs")
    counts = import_warcs(settings, [files["main"], files["bad"], files["cut"], files["plaincut"]])
    assert counts.files == 4
    # 5 of the main file's 6 records are registry pages (the script is not);
    # the cut file repeats its first records before the break
    assert counts.matched >= 5 and counts.records > counts.matched
    captures = _rows(
        settings,
        "SELECT source, captured_at, http_status, digest_check, is_download_skipped, error "
        "FROM captures ORDER BY captured_at, original_url",
    )
    assert {c[0] for c in captures} == {"warc"}
    by_time = {(c[1].isoformat()[:19], c[2]) for c in captures}
    assert ("2024-01-05T10:00:00", 200) in by_time and ("2024-03-01T09:00:05", 404) in by_time
    checks = {(c[1].isoformat()[:10], c[2], c[3], c[4]) for c in captures if c[5] is None}
    assert ("2024-01-05", 200, "verified", False) in checks
    assert ("2024-02-05", None, "verified", True) in checks  # the revisit: the same bytes
    assert ("2024-03-01", 200, "verified", False) in checks  # gzip-encoded, checked as stored
    problems = _rows(settings, "SELECT reason, detail FROM problems ORDER BY ALL")
    reasons = {reason for reason, _ in problems}
    assert {"revisit without its payload", "unreadable WARC"} <= reasons
    unreadable = sorted(detail for reason, detail in problems if reason == "unreadable WARC")
    assert len(unreadable) == 3, unreadable
    # garbage; a gzip WARC that ends inside a member; a plain one cut mid-record
    assert "cut.warc.gz: ValueError: the file is cut short" in unreadable[0]
    assert "notes.warc: ValueError: not a WARC file" in unreadable[1]
    assert "plaincut.warc: ValueError: a record without a WARC-Type" in unreadable[2]
    assert all("records read before it are kept" in detail for detail in unreadable)

    # the captures are processed like any other: two versions of the privacy policy
    from flows.process import process

    process.fn(settings)
    versions = _rows(
        settings,
        "SELECT d.slug, v.valid_from FROM versions v JOIN documents d USING (document_id) "
        "ORDER BY v.valid_from",
    )
    assert [(slug, when.isoformat()[:10]) for slug, when in versions] == [
        ("privacy", "2024-01-05"),
        ("privacy", "2024-03-01"),
    ]
    texts = _rows(settings, "SELECT text FROM analyst.document_versions ORDER BY valid_from")
    assert "30 days" in texts[0][0] and "90 days" in texts[1][0]

    # importing again adds nothing
    again = import_warcs(settings, [files["main"]])
    assert again.captures_added == 0 and again.matched == 5


@pytest.mark.faults
def test_the_cli_names_a_missing_file(settings, capsys, tmp_path):
    args = ["--data-dir", str(settings.data_dir), "import-warc", "--sources", str(settings.sources)]
    assert main([*args, str(tmp_path / "nope.warc.gz")]) == 2
    assert "no such WARC file" in capsys.readouterr().err
    with pytest.raises(WarcImportError):
        import_warcs(settings, [tmp_path / "nope.warc"])


@pytest.mark.faults
def test_a_record_whose_payload_was_altered_is_kept_as_a_mismatch(settings, tmp_path):
    folder = tmp_path / "warcs"
    folder.mkdir()
    plain = folder / "one.warc"
    with plain.open("wb") as out:
        write_response(WARCWriter(out, gzip=False), PRIVACY, "2024-01-05T10:00:00Z", html(30))
    data = plain.read_bytes()
    plain.write_bytes(data.replace(b"30 days", b"31 days", 1))  # same length, other bytes
    counts = import_warcs(settings, [plain])
    assert counts.captures_added == 1
    assert _rows(settings, "SELECT digest_check FROM captures") == [("mismatch",)]
    ((reason, detail),) = _rows(settings, "SELECT reason, detail FROM problems")
    assert reason == "digest mismatch" and "one.warc@0" in detail and "digest failed" in detail


@pytest.mark.faults
def test_a_later_crawl_revisits_an_earlier_import_and_a_record_without_a_time_is_skipped(
    settings, tmp_path
):
    folder = tmp_path / "warcs"
    folder.mkdir()
    first, second = folder / "first.warc.gz", folder / "second.warc.gz"
    with first.open("wb") as out:
        saved = write_response(WARCWriter(out, gzip=True), PRIVACY, "2024-01-05T10:00:00Z", html(30))
    digest = saved.rec_headers.get_header("WARC-Payload-Digest")
    with second.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        write_revisit(writer, PRIVACY, digest, "2024-06-01T10:00:00Z")
        write_response(writer, TERMS, "not a date", b"<html><p>terms</p></html>")
    import_warcs(settings, [first])
    later = import_warcs(settings, [second])
    assert later.matched == 2 and later.captures_added == 1 and later.problems == 1
    rows = _rows(
        settings,
        "SELECT captured_at, raw_sha256, is_download_skipped, digest_check FROM captures "
        "ORDER BY captured_at",
    )
    assert len(rows) == 2 and rows[0][1] == rows[1][1]  # the same bytes
    assert rows[1][0].isoformat()[:10] == "2024-06-01" and rows[1][2] and rows[1][3] == "verified"
    ((reason, detail),) = _rows(settings, "SELECT reason, detail FROM problems")
    assert reason == "record without a time" and "'not a date'" in detail

