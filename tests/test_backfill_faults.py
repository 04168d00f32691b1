"""Sustained refusal: the backfill stops cleanly, persists a cursor and when to
come back, and the next run resumes from the cursor without refetching.

The real backfill flow under Prefect's test harness, against the local
archive serving the demo site.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from crash_driver import table_digests

from flows.demo_site import PRIVACY_URL, demo_captures, demo_settings
from flows.local_archive import Fault, LocalArchive
from flows.settings import Settings
from warehouse import cursors
from warehouse.db import open_warehouse

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

REFUSED_AT = "20220527110000"  # the 7th privacy capture: the archive refuses from here on


def _settings(data_dir: Path, archive: LocalArchive) -> Settings:
    return demo_settings(data_dir, archive, max_attempts=3, workers=1, progress=False)


def _replayed(archive: LocalArchive) -> list[str]:
    """Timestamps of the replay requests in the archive's log."""
    return [r.path.split("/")[2].removesuffix("id_") for r in archive.requests_of("replay")]


def _cdx_from(archive: LocalArchive, url: str) -> list[str | None]:
    out = []
    for r in archive.requests_of("cdx"):
        query = parse_qs(urlsplit(r.path).query)
        if query.get("url") == [url]:
            out.append(query.get("from", [None])[0])
    return out


@pytest.fixture
def archive():
    with LocalArchive(demo_captures()) as served:
        yield served


def test_sustained_429_stops_then_resumes_from_the_cursor(
    prefect_harness, tmp_path, archive, monkeypatch
):
    import flows.backfill as backfill_mod
    from flows.backfill import backfill
    from flows.process import process

    monkeypatch.setattr(backfill_mod, "BATCH", 2)
    settings = _settings(tmp_path / "interrupted", archive)
    archive.add_fault("replay", Fault.http(429, times=0), match=REFUSED_AT)

    first = backfill(settings)
    assert first["stopped"] == 1
    assert datetime.fromisoformat(first["retry_after"]) > datetime(2020, 1, 1, tzinfo=UTC)
    con = open_warehouse(settings.database)
    try:
        stored = {
            row[0].strftime("%Y%m%d%H%M%S")
            for row in con.execute(
                "SELECT captured_at FROM captures WHERE raw_sha256 IS NOT NULL"
            ).fetchall()
        }
        cursor = cursors.get_cursor(con, PRIVACY_URL)
        problem = con.execute(
            "SELECT reason, detail FROM problems WHERE reason LIKE 'archive refused%'"
        ).fetchone()
        status = con.execute("SELECT status FROM runs WHERE flow = 'backfill'").fetchone()[0]
    finally:
        con.close()
    assert status == "stopped"
    assert problem is not None and "429" in problem[1] and "retry after" in problem[1]
    # batches of two: the first three batches committed, the fourth was refused
    assert stored and max(stored) < REFUSED_AT
    assert cursor is not None and cursor.retry_after is not None and "429" in cursor.refusal
    assert cursors.wayback_timestamp(cursor.cursor_at) == max(stored)

    # the archive is back; the refusal's retry_after (a backoff delay) has passed
    archive.clear_faults()
    archive.clear_log()
    second = backfill(settings)
    assert "stopped" not in second and second["pages_resumed"] == 1
    assert _cdx_from(archive, PRIVACY_URL) == [cursors.wayback_timestamp(cursor.cursor_at)]
    replayed = set(_replayed(archive))
    assert replayed and not replayed & stored, "a capture already stored was fetched again"

    reference = _settings(tmp_path / "uninterrupted", archive)
    backfill(reference)
    process(settings)
    process(reference)
    # everything but the refusal's problem row and its cursor history is identical
    skip = {"problems", "backfill_cursors"}
    assert table_digests(settings.database, skip) == table_digests(reference.database, skip)
    seen = []
    for path in (settings.database, reference.database):
        con = open_warehouse(path, read_only=True)
        try:
            seen.append(
                (
                    con.execute(
                        "SELECT original_url, listed_from, cursor_at, retry_after "
                        "FROM backfill_cursors ORDER BY 1"
                    ).fetchall(),
                    con.execute(
                        "SELECT stage, reason, capture_id FROM problems "
                        "WHERE reason NOT LIKE 'archive refused%' ORDER BY ALL"
                    ).fetchall(),
                )
            )
        finally:
            con.close()
    assert seen[0] == seen[1]
    assert len(seen[0][0]) == 3 and all(retry is None for *_, retry in seen[0][0])


def test_retry_after_in_the_future_skips_the_archive_until_then(prefect_harness, tmp_path, archive):
    from flows.backfill import backfill

    settings = _settings(tmp_path / "data", archive)
    archive.add_fault("cdx", Fault.http(429, retry_after=7200, times=0))
    before = datetime.now(UTC)
    first = backfill(settings)
    assert first["stopped"] == 1
    assert len(archive.requests_of("cdx")) == 1, "a Retry-After over max_wait is not retried"

    archive.clear_faults()
    archive.clear_log()
    second = backfill(settings)
    assert archive.requests == [], "the archive asked us to wait: no request at all"
    until = datetime.fromisoformat(second["skipped_until"])
    assert before + timedelta(seconds=7100) < until < before + timedelta(seconds=7300)
    con = open_warehouse(settings.database, read_only=True)
    try:
        skipped = con.execute(
            "SELECT url, detail FROM problems WHERE reason = 'archive asked us to wait; backfill skipped'"
        ).fetchall()
        statuses = con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()
    finally:
        con.close()
    assert [url for url, _ in skipped] == [PRIVACY_URL]
    assert "retry after" in skipped[0][1] and "429" in skipped[0][1]
    assert statuses == [("stopped",), ("stopped",)]

    third = backfill(settings, force=True)
    assert "stopped" not in third and third["captures"] == len(demo_captures())
    con = open_warehouse(settings.database, read_only=True)
    try:
        assert cursors.archive_wait(con, datetime.now(UTC)) is None
    finally:
        con.close()


SUBSTITUTED = "20230402100000"  # a privacy capture the archive cannot replay...
SERVED = "20230911140000"  # ...so it redirects to this one, the nearest


def _privacy_versions(con) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT strftime(v.valid_from, '%Y%m%d%H%M%S'), v.text_sha256 FROM versions v "
        "JOIN documents d USING (document_id) WHERE list_contains(d.urls, ?) ORDER BY 1",
        [PRIVACY_URL],
    ).fetchall()


def test_a_capture_answered_with_another_is_failed_not_misdated(prefect_harness, tmp_path, archive):
    from flows.backfill import backfill
    from flows.process import process

    settings = _settings(tmp_path / "data", archive)
    archive.add_fault(
        "replay",
        Fault.redirect(f"{archive.base_url}/web/{SERVED}id_/{PRIVACY_URL}", times=0),
        match=f"{SUBSTITUTED}id_/",
    )
    first = backfill(settings)
    assert first["failures"] == 1
    process(settings)
    con = open_warehouse(settings.database, read_only=True)
    try:
        row = con.execute(
            "SELECT capture_id, raw_sha256, error FROM captures "
            "WHERE strftime(captured_at, '%Y%m%d%H%M%S') = ? AND original_url = ?",
            [SUBSTITUTED, PRIVACY_URL],
        ).fetchone()
        problems = con.execute(
            "SELECT reason, detail FROM problems WHERE capture_id = ?", [row[0]]
        ).fetchall()
        versions = _privacy_versions(con)
    finally:
        con.close()
    capture_id, raw_sha256, error = row
    assert raw_sha256 is None  # the other capture's bytes are not stored under this time
    assert "2023-09-11T14:00:00Z" in error and "2023-04-02T10:00:00Z" in error
    assert [reason for reason, _ in problems] == ["archive served another capture"]
    assert problems[0][1] == error
    starts = [start for start, _ in versions]
    # the served capture's text starts at its own time, not at the listed one's
    assert SUBSTITUTED not in starts and SERVED in starts

    # the archive can replay it again: the next run fetches it, and only it
    archive.clear_faults()
    archive.clear_log()
    second = backfill(settings)
    assert _replayed(archive) == [SUBSTITUTED]
    assert second["downloads"] == 1 and second.get("failures", 0) == 0
    process(settings)
    con = open_warehouse(settings.database, read_only=True)
    try:
        stored = con.execute(
            "SELECT raw_sha256, digest_check FROM captures WHERE capture_id = ?", [capture_id]
        ).fetchone()
        after = [start for start, _ in _privacy_versions(con)]
    finally:
        con.close()
    assert stored[0] is not None and stored[1] == "verified"
    assert SUBSTITUTED in after and SERVED in after


# ---------------------------------------------------------------- the cursor's rules


def _cursor(listed_from: str | None, at: str | None) -> cursors.Cursor:
    moment = datetime.strptime(at, "%Y%m%d%H%M%S").replace(tzinfo=UTC) if at else None
    return cursors.Cursor("http://x.example/p", "D-00001", listed_from, moment, None, None)


@pytest.mark.parametrize(
    ("listed_from", "at", "asked", "expected"),
    [
        (None, None, None, cursors.Resume(None, None, False)),  # no progress yet
        (None, "20220101000000", None, cursors.Resume("20220101000000", None, True)),
        (None, "20220101000000", "2021", cursors.Resume("20220101000000", None, True)),
        ("2021", "20220101000000", "2021", cursors.Resume("20220101000000", "2021", True)),
        # the cursor counts from 2021: it says nothing about 2019-2020
        ("2021", "20220101000000", "2019", cursors.Resume("2019", "2019", False)),
        ("2021", "20220101000000", None, cursors.Resume(None, None, False)),
        # asked to start after the cursor: a gap the cursor does not cover
        (None, "20220101000000", "2023", cursors.Resume("2023", "2023", False)),
    ],
)
def test_resume_from(listed_from, at, asked, expected):
    assert cursors.resume_from(_cursor(listed_from, at), asked) == expected


def test_cursor_never_moves_back_within_a_range_and_resets_for_another(tmp_path):
    con = open_warehouse(tmp_path / "w.duckdb")
    url, now = "http://x.example/p", datetime(2026, 1, 1, tzinfo=UTC)
    t1, t2 = datetime(2022, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC)
    try:
        cursors.advance_cursor(con, url, "D-00001", None, t2, run_id="r1", now=now)
        cursors.advance_cursor(con, url, "D-00001", None, t1, run_id="r2", now=now)
        assert cursors.get_cursor(con, url).cursor_at == t2
        cursors.advance_cursor(con, url, "D-00001", "2019", t1, run_id="r3", now=now)
        cursor = cursors.get_cursor(con, url)
        assert (cursor.listed_from, cursor.cursor_at) == ("2019", t1)
        cursors.record_refusal(con, url, "D-00001", t2, "HTTP 429", run_id="r4", now=now)
        assert cursors.archive_wait(con, t1) is not None
        assert cursors.archive_wait(con, t2) is None  # the time has come
        cursors.clear_refusal(con, run_id="r5", now=now)
        assert cursors.archive_wait(con, t1) is None
        assert cursors.get_cursor(con, url).cursor_at == t1  # a refusal keeps the cursor
    finally:
        con.close()


@pytest.mark.faults
def test_an_unreachable_archive_stops_the_backfill_after_three_pages(prefect_harness, tmp_path):
    import socket

    import yaml

    from flows.backfill import UNREACHABLE_PAGES, backfill

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    documents = [
        {"slug": f"doc-{i}", "type": "Privacy Policy", "urls": [f"http://lumen.example/p{i}"]}
        for i in range(6)
    ]
    registry = tmp_path / "sources.yaml"
    registry.write_text(yaml.safe_dump({"platforms": [{"slug": "lumen", "documents": documents}]}))
    settings = Settings(
        data_dir=tmp_path,
        sources=registry,
        wayback_base=f"http://127.0.0.1:{port}",
        cdx_per_second=0,
        replay_per_second=0,
        max_attempts=2,
        backoff_seconds=0.01,
        progress=False,
    )
    counts = backfill(settings)
    assert counts["failures"] == UNREACHABLE_PAGES < len(documents)
    assert "could not be reached (connection refused)" in counts["unreachable"]
    con = open_warehouse(settings.database, read_only=True)
    try:
        problems = con.execute(
            "SELECT count(*) FROM problems WHERE reason = 'listing failed'"
        ).fetchone()[0]
        status = con.execute("SELECT status FROM runs WHERE flow = 'backfill'").fetchone()[0]
    finally:
        con.close()
    assert problems == UNREACHABLE_PAGES
    assert status == "stopped"
