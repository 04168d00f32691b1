"""The real backfill and process flows, under Prefect's test harness, against a
WARC collection replayed by pywb: a WARC written with warcio holding a few
versions of a policy page (one of them a revisit record), served

* by the local archive's pywb flavour (always), and
* by a real pywb (`wb-manager` builds the collection in tmp_path, `wayback`
  serves it on a free port of 127.0.0.1) when one is installed.

pywb 2.10.0 cannot share the project's environment: it pins redis==2.10.6
and prefect's pydocket needs redis>=6, so pip cannot resolve the two together.
The real-pywb case therefore looks for pywb's commands in
CLAUSETRAIL_TEST_PYWB_BIN (a folder holding `wb-manager` and `wayback`, e.g.
the bin folder of a venv of its own: `python3 -m venv /tmp/pywb &&
/tmp/pywb/bin/pip install pywb==2.10.0`), then next to this Python when pywb
imports here, then on PATH; it is skipped only when none is found.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import yaml
from warc_records import write_response, write_revisit
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from flows.local_archive import ArchivedCapture, LocalArchive
from flows.settings import Settings
from warehouse.db import open_warehouse

pytestmark = pytest.mark.e2e

PAGE = "https://policies.example/privacy"
COLL = "policies"


def policy(days: int, training: bool) -> bytes:
    clauses = [
        f"We keep the messages you send us for {days} days, then delete them.",
        "You can ask us for a copy of your data, or to correct it, at any time.",
        "We share data with processors that help us run the service, under contract.",
    ]
    if training:
        clauses.append("We may use your messages to train our models unless you opt out.")
    body = "".join(f"<h2>Section {i}</h2><p>{text} ({i})</p>" for i, text in enumerate(clauses))
    return (
        "<!doctype html><html lang='en'><head><title>Privacy Policy</title></head><body>"
        f"<main><h1>Privacy Policy</h1>{body}</main></body></html>"
    ).encode()


V1, V2 = policy(30, training=False), policy(90, training=True)
# the page's history as a crawler stored it: (WARC-Date, record type, URL,
# payload, HTTP status); a revisit carries no HTTP headers of its own
HISTORY = [
    ("2021-01-05T10:00:00Z", "response", PAGE, V1, "200 OK"),
    ("2021-06-05T10:00:00Z", "response", PAGE, V1, "200 OK"),  # unchanged: collapsed
    ("2022-02-01T08:30:00Z", "response", PAGE, V2, "200 OK"),
    ("2023-03-01T00:00:00Z", "response", PAGE, V1, "200 OK"),  # back to the first text
    ("2023-09-01T00:00:00Z", "response", PAGE, b"<html>Not Found</html>", "404 Not Found"),
    ("2024-01-01T00:00:00Z", "revisit", PAGE, V2, "200 OK"),  # the second text, deduplicated
    ("2024-02-01T00:00:00Z", "response", PAGE + "/cookies", V2, "200 OK"),  # another page
]
# what must land: (captured at, downloaded?, a phrase of its text)
EXPECTED = [
    (datetime(2021, 1, 5, 10, 0, tzinfo=UTC), True, "30 days"),
    (datetime(2022, 2, 1, 8, 30, tzinfo=UTC), True, "90 days"),
    (datetime(2023, 3, 1, tzinfo=UTC), False, "30 days"),
    (datetime(2024, 1, 1, tzinfo=UTC), False, "90 days"),
]


def write_warc(path: Path) -> Path:
    """The page's history as one gzipped WARC; a revisit names the payload it repeats."""
    payload_digests: dict[bytes, str] = {}
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for when, kind, url, body, status in HISTORY:
            if kind == "revisit":
                write_revisit(writer, url, payload_digests[body], when, "2022-02-01T08:30:00Z")
                continue
            record = write_response(writer, url, when, body, status=status)
            payload_digests[body] = record.rec_headers.get_header("WARC-Payload-Digest")
    return path


def captures_of(warc: Path) -> list[ArchivedCapture]:
    """The WARC's records as the local archive's captures; a revisit (no HTTP
    headers of its own) replays the payload, status and type it repeats."""
    originals: dict[str, tuple[bytes, int, str]] = {}
    captures = []
    with warc.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type not in ("response", "revisit"):
                continue
            digest = record.rec_headers.get_header("WARC-Payload-Digest")
            if record.rec_type == "response":
                http = record.http_headers
                status, content_type = int(http.get_statuscode()), http.get_header("Content-Type")
                originals.setdefault(digest, (record.content_stream().read(), status, content_type))
            body, status, content_type = originals[digest]
            when = record.rec_headers.get_header("WARC-Date")
            captures.append(
                ArchivedCapture(
                    record.rec_headers.get_header("WARC-Target-URI"),
                    when.replace("-", "").replace(":", "").replace("T", "").rstrip("Z"),
                    body,
                    status=status,
                    mimetype=content_type.split(";")[0],
                    content_type=content_type,
                    revisit=record.rec_type == "revisit",
                )
            )
    return captures


# --------------------------------------------------------------------------
# the two archives


def pywb_bin() -> Path | None:
    """The folder holding pywb's `wb-manager` and `wayback`, or None."""
    given = os.environ.get("CLAUSETRAIL_TEST_PYWB_BIN")
    if given:
        return Path(given)
    here = Path(sys.executable).parent
    if importlib.util.find_spec("pywb") is not None and (here / "wayback").exists():
        return here
    found = shutil.which("wayback")
    if found and shutil.which("wb-manager"):
        return Path(found).parent
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str], cwd: Path, log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(command, cwd=cwd, stdout=out, stderr=out, timeout=120)
    assert done.returncode == 0, f"{command} failed:\n{log.read_text()[-2000:]}"


def _wait_until_up(url: str, server: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    with requests.Session() as http:
        http.trust_env = False
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"pywb exited with {server.returncode}:\n{log.read_text()[-2000:]}")
            try:
                if http.get(url, timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
    pytest.fail(f"pywb did not answer {url} within {seconds}s:\n{log.read_text()[-2000:]}")


class RealPywb:
    """A real pywb serving the WARC as collection COLL from `root`."""

    def __init__(self, bindir: Path, root: Path, warc: Path) -> None:
        self.log = root / "pywb.log"
        _run([str(bindir / "wb-manager"), "init", COLL], root, self.log)
        _run([str(bindir / "wb-manager"), "add", COLL, str(warc)], root, self.log)
        port = _free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        with self.log.open("ab") as out:
            self.server = subprocess.Popen(
                [str(bindir / "wayback"), "-b", "127.0.0.1", "-p", str(port)],
                cwd=root,
                stdout=out,
                stderr=out,
            )
        try:
            _wait_until_up(f"{self.base_url}/{COLL}/", self.server, self.log)
        except BaseException:
            self.stop()
            raise

    def replays(self) -> int | None:
        return None  # pywb keeps no request log we read

    def stop(self) -> None:
        self.server.terminate()
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()


class FakePywb:
    """The local archive's pywb flavour serving the WARC's records; its
    query_limit (page_size) is below the client's page size, so a short page
    must not end the listing."""

    def __init__(self, warc: Path) -> None:
        self.archive = LocalArchive(
            captures_of(warc), api="pywb", collection=COLL, page_size=2
        ).start()
        self.base_url = self.archive.base_url

    def replays(self) -> int | None:
        count = len(self.archive.requests_of("replay"))
        self.archive.clear_log()
        return count

    def stop(self) -> None:
        self.archive.stop()
        assert self.archive.server_errors == []


@pytest.fixture(params=["local", "pywb"])
def served(request, tmp_path) -> Iterator[FakePywb | RealPywb]:
    warc = write_warc(tmp_path / "policies.warc.gz")
    if request.param == "local":
        archive: FakePywb | RealPywb = FakePywb(warc)
    else:
        bindir = pywb_bin()
        if bindir is None:
            pytest.skip(
                "no pywb found: pywb 2.10.0 pins redis==2.10.6, which prefect's pydocket "
                "(redis>=6) cannot share; install it in a venv of its own and set "
                "CLAUSETRAIL_TEST_PYWB_BIN to that venv's bin folder"
            )
        root = tmp_path / "pywb"
        root.mkdir()
        archive = RealPywb(bindir, root, warc)
    try:
        yield archive
    finally:
        archive.stop()


# an archive on this machine: no rate limit, short backoffs, one worker, no bars
LOCAL = {"cdx_per_second": 0, "replay_per_second": 0, "backoff_seconds": 0.01, "workers": 1}


def _settings(tmp_path: Path, base_url: str) -> Settings:
    registry = tmp_path / "sources.yaml"
    document = {"slug": "privacy", "name": "Privacy", "type": "Privacy Policy", "urls": [PAGE]}
    platform = {"slug": "policies", "name": "Policies", "documents": [document]}
    registry.write_text(yaml.safe_dump({"platforms": [platform]}), encoding="utf-8")
    pywb = {"wayback_base": base_url, "archive_api": "pywb", "archive_collection": COLL}
    return Settings.from_env(
        {}, data_dir=tmp_path / "data", sources=registry, progress=False, **pywb, **LOCAL
    )


def _rows(settings: Settings, sql: str) -> list[tuple]:
    with open_warehouse(settings.database, read_only=True) as con:  # closed on the way out
        return con.execute(sql).fetchall()


def test_backfill_from_a_pywb_collection_versions_the_page(
    prefect_harness, tmp_path, served, monkeypatch
):
    import flows.backfill as backfill_mod
    from flows.backfill import backfill
    from flows.process import process

    # one capture a batch: a digest is known once its batch is committed, so the
    # A -> B -> A and the revisit are recorded from the bytes already held
    monkeypatch.setattr(backfill_mod, "BATCH", 1)
    settings = _settings(tmp_path, served.base_url)
    first = backfill(settings)
    assert first.get("captures") == len(EXPECTED), first
    assert first.get("downloads") == 2 and first.get("downloads_skipped") == 2
    assert served.replays() in (None, 2)

    captures = _rows(
        settings,
        "SELECT source, captured_at, original_url, archive_url, http_status, mime_type, "
        "digest_check, is_download_skipped, error FROM captures ORDER BY captured_at",
    )
    assert [c[1] for c in captures] == [when for when, _, _ in EXPECTED]
    assert {c[0] for c in captures} == {"wayback"} and {c[2] for c in captures} == {PAGE}
    for capture in captures:  # the collection's playback URL
        assert capture[3] == f"{served.base_url}/{COLL}/{capture[1]:%Y%m%d%H%M%S}/{PAGE}"
    assert [c[7] for c in captures] == [not downloaded for _, downloaded, _ in EXPECTED]
    assert [c[4] for c in captures] == [200, 200, 200, None]  # a revisit lists no status
    assert {c[5] for c in captures} == {"text/html"}
    assert {c[6] for c in captures} == {"verified"} and {c[8] for c in captures} == {None}
    assert _rows(settings, "SELECT stage, reason, detail FROM problems") == []

    process(settings)
    versions = _rows(
        settings,
        "SELECT valid_from, valid_to, text FROM analyst.document_versions ORDER BY valid_from",
    )
    assert [v[0] for v in versions] == [when for when, _, _ in EXPECTED]
    assert [v[1] for v in versions] == [when for when, _, _ in EXPECTED[1:]] + [None]
    for (_, _, text), (_, _, phrase) in zip(versions, EXPECTED, strict=True):
        assert phrase in text
    assert "train our models" in versions[1][2] and "train our models" not in versions[2][2]

    # a second run lists again and fetches nothing
    second = backfill(settings)
    assert second.get("captures", 0) == 0 and second.get("downloads", 0) == 0
    assert served.replays() in (None, 0)
