"""Import WARC files (a crawl of one's own, Webrecorder, Archive-It) as captures.

Every ``response`` record whose target URI is a page of a registry document
becomes a capture with source ``warc``: its HTTP payload (decoded from chunked
transfer and gzip/deflate/brotli content encoding, as warcio reads it) goes
to the raw store, its row to ``captures`` (captured at ``WARC-Date``, HTTP
status and MIME type from the record, ``archive_url`` the record's
``WARC-Record-ID``, and ``digest_check`` from warcio's check of the record's
block and payload digests: ``verified``, ``mismatch``, or ``unverifiable``
when the record carries none). A
``revisit`` record of a payload met earlier in the same import, or held by
a capture already in the warehouse, is a capture of the same bytes
(``is_download_skipped``); one whose payload is neither is recorded as a
problem. A record without a WARC-Date that reads as a time is skipped with a
problem. Records of other URLs (assets, other
pages) are counted and left alone.

URLs are matched by the archive's SURT key (`flows.local_archive.surt_key`:
no scheme, no leading ``www.``, no default port, sorted query, lower case),
without a trailing slash, so that a crawl of ``http://www.x/legal/`` finds the
registry's ``https://x/legal`` (`url_key`). A file that is not a WARC, or
cannot be read on (a ``.gz`` that ends inside a gzip member, a record cut
short), is reported as a problem naming the file, and the records read
before are kept; the other files go on. A record whose block or payload
digest fails is kept with ``digest_check = 'mismatch'`` and a ``digest
mismatch`` problem. Importing twice adds nothing: capture ids are derived
from (source, URL, capture time).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from flows.common import Run, open_run, utcnow
from flows.local_archive import surt_key
from flows.settings import Settings
from warehouse import load

SOURCE = "warc"


class WarcImportError(Exception):
    """No WARC to read (a missing path)."""


def url_key(url: str) -> str:
    """The form two URLs share when they name the same page: the SURT key
    without a trailing slash on the path (see the module docstring)."""
    path, mark, query = surt_key(url).partition("?")
    return path.rstrip("/") + mark + query


@dataclass
class WarcCounts:
    files: int = 0
    records: int = 0  # response and revisit records read
    matched: int = 0  # of them, pages of registry documents
    captures_added: int = 0
    problems: int = 0


def _sha1_digest(value: str | None) -> str | None:
    """The base32 SHA-1 of a ``WARC-Payload-Digest`` (``sha1:...``), else None."""
    if value and value.lower().startswith("sha1:"):
        return value[5:]
    return None


def _records(path: Path) -> Iterator[tuple[object, ArchiveIterator]]:
    """Response and revisit records, each with its iterator (whose
    `get_record_offset` reads the record to its end: call it after the body)."""
    with path.open("rb") as stream:
        # digests (block and payload) are checked as each record is read to its end
        records = ArchiveIterator(stream, check_digests=True)
        for record in records:
            if record.format != "warc":
                # warcio reads any text as ARC; clausetrail reads WARC only
                raise ValueError(f"not a WARC file (a record reads as {record.format})")
            if record.rec_type is None:
                raise ValueError("a record without a WARC-Type: the file is damaged or cut short")
            if record.rec_type in ("response", "revisit"):
                yield record, records
    _check_gzip_members(path)


def _check_gzip_members(path: Path) -> None:
    """Raise when a .gz file ends inside a gzip member.

    warcio stops quietly at a member cut short, so the records in and after
    it would be lost without a word; reading the members through once (about
    the cost of the import's own decompression) tells.
    """
    with path.open("rb") as head:
        if head.read(2) != b"\x1f\x8b":
            return
    try:
        with gzip.open(path, "rb") as members:
            while members.read(1 << 20):
                pass
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise ValueError(
            f"the file is cut short or damaged ({err}): the records after it are lost"
        ) from err


def _when(record) -> datetime | None:  # type: ignore[no-untyped-def]
    """The record's WARC-Date in UTC, or None when it has none that reads as a time."""
    text = record.rec_headers.get_header("WARC-Date") or ""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _problem(run: Run, reason: str, detail: str, **where: object) -> load.ProblemRow:
    return load.ProblemRow(
        run.run_id,
        "import",
        reason,
        utcnow(),
        where.get("document_id"),  # type: ignore[arg-type]
        where.get("url"),  # type: ignore[arg-type]
        where.get("captured_at"),  # type: ignore[arg-type]
        where.get("capture_id"),  # type: ignore[arg-type]
        detail,
    )


def import_warcs(settings: Settings, paths: Sequence[Path]) -> WarcCounts:
    """Import the registry documents' pages found in these WARC files."""
    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise WarcImportError(f"no such WARC file: {', '.join(missing)}")
    counts = WarcCounts()
    with open_run(settings, "import-warc", {"paths": [str(p) for p in paths]}) as run:
        pages: dict[str, tuple[str, int]] = {}
        for spec in run.specs:
            for page, url in enumerate(spec.urls):
                pages.setdefault(url_key(url), (run.document_ids[spec.key], page))
        # payload digest -> (raw SHA-256, digest check) of a response of this import
        payloads: dict[str, tuple[str, str]] = {}
        rows: list[load.CaptureRow] = []
        problems: list[load.ProblemRow] = []
        for path in run.track(paths, "WARC files", len(paths)):
            counts.files += 1
            try:
                for record, records in _records(path):
                    counts.records += 1
                    url = record.rec_headers.get_header("WARC-Target-URI") or ""
                    found = pages.get(url_key(url))
                    if found is None:
                        continue
                    counts.matched += 1
                    row, problem = _capture(
                        run, settings, record, records, path, url, found, payloads
                    )
                    if row is not None:
                        rows.append(row)
                    if problem is not None:
                        problems.append(problem)
            except (ArchiveLoadFailed, EOFError, OSError, ValueError) as err:
                problems.append(
                    _problem(
                        run,
                        "unreadable WARC",
                        f"{path}: {type(err).__name__}: {err} (records read before it are kept)",
                    )
                )
        counts.captures_added = load.record_captures(run.con, rows, problems)
        counts.problems = len(problems)
        for name in ("files", "records", "matched", "captures_added", "problems"):
            run.count(name, getattr(counts, name))
    return counts


def _capture(  # type: ignore[no-untyped-def]
    run: Run,
    settings: Settings,
    record,
    records: ArchiveIterator,
    path: Path,
    url: str,
    found: tuple[str, int],
    payloads: dict[str, tuple[str, str]],
) -> tuple[load.CaptureRow | None, load.ProblemRow | None]:
    document_id, page = found
    captured_at = _when(record)
    if captured_at is None:
        offset = records.get_record_offset()
        date = record.rec_headers.get_header("WARC-Date")
        detail = f"{path}@{offset}: WARC-Date {date!r} is not a time; the record is skipped"
        return None, _problem(
            run, "record without a time", detail, url=url, document_id=document_id
        )
    capture_id = load.capture_id_for(SOURCE, url, captured_at)
    digest = _sha1_digest(record.rec_headers.get_header("WARC-Payload-Digest"))
    headers = record.http_headers
    status = int(headers.get_statuscode()) if headers and headers.get_statuscode() else None
    content_type = headers.get_header("Content-Type") if headers else None
    base = {
        "capture_id": capture_id,
        "document_id": document_id,
        "page": page,
        "source": SOURCE,
        "captured_at": captured_at,
        "original_url": url,
        "fetched_at": utcnow(),
        "run_id": run.run_id,
        "archive_url": record.rec_headers.get_header("WARC-Record-ID"),
        "http_status": status,
        "mime_type": (content_type or "").split(";")[0].strip() or None,
        "content_type": content_type,
        "wayback_digest": digest,
    }
    where = {"document_id": document_id, "url": url, "captured_at": captured_at}
    if record.rec_type == "revisit":
        offset = records.get_record_offset()
        held = payloads.get(digest or "")
        if held is None and digest:
            # the payload may have come with an earlier import (a later crawl
            # of the same collection revisits what an earlier one saved)
            sha = load.raw_for_wayback_digest(run.con, digest)
            held = (sha, "verified") if sha else None
        if held is None:
            detail = (
                f"{path}@{offset}: a revisit of payload {digest}, which these files do not hold"
            )
            reason = "revisit without its payload"
            problem = _problem(run, reason, detail, capture_id=capture_id, **where)
            return load.CaptureRow(**base, error=reason), problem
        sha, check = held
        row = load.CaptureRow(**base, raw_sha256=sha, is_download_skipped=True, digest_check=check)
        return row, None
    body = record.content_stream().read(settings.max_bytes + 1)
    truncated = len(body) > settings.max_bytes
    body = body[: settings.max_bytes]
    # reads the record to its end, so that warcio has checked its digests
    offset = records.get_record_offset()
    sha = run.raw.put(body)
    # the digests are of the bytes as stored (before any decoding)
    check = {True: "verified", False: "mismatch", None: "unverifiable"}[
        record.digest_checker.passed
    ]
    if digest and check != "mismatch" and not truncated:
        payloads.setdefault(digest, (sha, check))
    problem = None
    if check == "mismatch":
        said = "; ".join(record.digest_checker.problems)
        detail = f"{path}@{offset}: {said} (a damaged or cut record)"
        problem = _problem(run, "digest mismatch", detail, capture_id=capture_id, **where)
    if truncated:
        detail = f"{path}@{offset}: cut at {settings.max_bytes} bytes"
        problem = _problem(run, "body too large", detail, capture_id=capture_id, **where)
    row = load.CaptureRow(
        **base, raw_sha256=sha, raw_bytes=len(body), is_truncated=truncated, digest_check=check
    )
    return row, problem


@flow(name="import-warc")
def import_warc(settings: Settings | None = None, paths: Sequence[str] = ()) -> dict[str, int]:
    """Import WARC files as captures (see `import_warcs`); then run `process`."""
    settings = settings or Settings.from_env()
    counts = import_warcs(settings, [Path(p) for p in paths])
    return dict(vars(counts))
