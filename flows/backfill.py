"""`backfill`: every distinct Wayback capture of every tracked page.

For each page: list its captures (CDX, status 200, HTML or PDF, adjacent
duplicates collapsed by digest), skip those already recorded, and download
the rest through `id_` replay. When the archive answers with another capture
than the listed one (its redirect to the nearest timestamp), the capture is
recorded as failed, with the problem `archive served another capture`, and
tried again by the next run. A capture whose digest we already hold is
recorded as an observation without downloading it again (the reversion
A -> B -> A needs the second A). Work is committed every `BATCH` captures, so
a killed run loses at most one batch of downloads, which the next run redoes.

Each page has a cursor (`warehouse.cursors`): after a batch is committed, it
moves to the last capture of the listing's fully recorded prefix, and the
next run lists the archive from there. When the archive refuses, the cursor
also records when to come back; until then a backfill does not call the
archive at all (unless `force=True`).
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.client import (
    ArchiveClient,
    ArchiveRefused,
    ClientError,
    Fetched,
    FetchError,
    OtherCaptureServed,
    verify_digest,
)
from flows.common import Run, log, open_run, utcnow
from flows.settings import Settings
from transforms.records import CdxRecord
from warehouse import cursors, load
from warehouse.rawstore import RawStore

BATCH = 50
UNREACHABLE_PAGES = 3  # network failures in a row before the run stops asking


@dataclass(frozen=True, slots=True)
class ReplayResult:
    record: CdxRecord
    fetched: Fetched | None
    raw_sha256: str | None
    error: str | None
    reason: str = "replay failed"  # the problem recorded with `error`


@task(name="fetch-archived-capture", cache_policy=NO_CACHE)
def fetch_archived(client: ArchiveClient, raw: RawStore, record: CdxRecord) -> ReplayResult:
    """Download one archived body and store it before anything parses it."""
    try:
        fetched = client.fetch_capture(record)
    except ArchiveRefused:
        raise
    except OtherCaptureServed as err:
        return ReplayResult(record, None, None, str(err), "archive served another capture")
    except ClientError as err:
        return ReplayResult(record, None, None, str(err))
    return ReplayResult(record, fetched, raw.put(fetched.body), None)


def _row(
    run: Run,
    client: ArchiveClient,
    document_id: str,
    page: int,
    url: str,
    record: CdxRecord,
    **values: object,
) -> load.CaptureRow:
    now = utcnow()
    return load.CaptureRow(
        capture_id=load.capture_id_for("wayback", url, record.captured_at),
        document_id=document_id,
        page=page,
        source="wayback",
        captured_at=record.captured_at,
        original_url=url,
        fetched_at=now,
        run_id=run.run_id,
        archive_url=client.archive_url(record),
        mime_type=record.mimetype,
        wayback_digest=record.digest,
        **values,
    )


def backfill_page(
    run: Run,
    client: ArchiveClient,
    document_id: str,
    page: int,
    url: str,
    from_: str | None,
    to: str | None,
) -> None:
    resume = cursors.resume_from(cursors.get_cursor(run.con, url), from_)
    if resume.is_resumed:
        run.count("pages_resumed")
    listing = client.list_captures(url, from_=resume.from_, to=to)
    records = list(listing)
    problems = [
        load.ProblemRow(
            run.run_id,
            "cdx",
            f"unparseable CDX line: {reason}",
            utcnow(),
            document_id,
            url,
            None,
            None,
            f"line {number}: {line[:500]}",
        )
        for number, line, reason in listing.bad_lines
    ]
    if problems:
        load.record_problems(run.con, problems)
        run.count("cdx_bad_lines", len(problems))
    run.count("cdx_records", len(records))
    seen_times, digests = load.known_wayback(run.con, url)
    new = [r for r in records if r.captured_at not in seen_times]
    done = set(seen_times)  # captures recorded with their bytes
    prefix = 0  # records[:prefix] are all recorded: the cursor may move to the last
    for start in range(0, len(new), BATCH):
        batch = new[start : start + BATCH]
        rows: list[load.CaptureRow] = []
        to_fetch = []
        for record in batch:
            held = digests.get(record.digest)
            if held:
                rows.append(
                    _row(
                        run,
                        client,
                        document_id,
                        page,
                        url,
                        record,
                        raw_sha256=held,
                        http_status=record.statuscode,
                        digest_check="verified",
                        is_download_skipped=True,
                    )
                )
                run.count("downloads_skipped")
            else:
                to_fetch.append(record)
        futures = [fetch_archived.submit(client, run.raw, r) for r in to_fetch]
        batch_problems = []
        for future in run.track(futures, f"{url} captures", len(futures)):
            result = future.result()
            record = result.record
            if result.fetched is None:
                row = _row(run, client, document_id, page, url, record, error=result.error)
                batch_problems.append(
                    load.ProblemRow(
                        run.run_id,
                        "fetch",
                        result.reason,
                        utcnow(),
                        document_id,
                        url,
                        record.captured_at,
                        row.capture_id,
                        result.error,
                    )
                )
            else:
                fetched = result.fetched
                check = verify_digest(fetched.body, record.digest)
                row = _row(
                    run,
                    client,
                    document_id,
                    page,
                    url,
                    record,
                    http_status=fetched.status,
                    content_type=fetched.content_type,
                    raw_sha256=result.raw_sha256,
                    raw_bytes=len(fetched.body),
                    is_truncated=fetched.truncated,
                    digest_check=check,
                )
                if fetched.truncated:
                    batch_problems.append(
                        load.ProblemRow(
                            run.run_id,
                            "fetch",
                            "body over the size cap",
                            utcnow(),
                            document_id,
                            url,
                            record.captured_at,
                            row.capture_id,
                            f"kept the first {len(fetched.body)} bytes (max_bytes); "
                            f"the archive holds {record.length or 'more'} bytes",
                        )
                    )
                if check == "mismatch":
                    batch_problems.append(
                        load.ProblemRow(
                            run.run_id,
                            "fetch",
                            "digest mismatch",
                            utcnow(),
                            document_id,
                            url,
                            record.captured_at,
                            row.capture_id,
                            f"CDX digest {record.digest}; bytes kept and marked mismatch",
                        )
                    )
                elif check == "verified":
                    digests.setdefault(record.digest, result.raw_sha256)
                run.count("downloads")
            rows.append(row)
        run.count("captures", load.record_captures(run.con, rows, batch_problems))
        run.count("failures", sum(1 for r in rows if r.error))
        # committed: only now may the cursor move past these captures
        done.update(r.captured_at for r in rows if r.raw_sha256 is not None)
        prefix = _advance(run, url, document_id, resume.listed_from, records, prefix, done)
    _advance(run, url, document_id, resume.listed_from, records, prefix, done)
    cursors.clear_refusal(run.con, url, run_id=run.run_id, now=utcnow())


def _advance(
    run: Run,
    url: str,
    document_id: str,
    listed_from: str | None,
    records: list[CdxRecord],
    prefix: int,
    done: set,
) -> int:
    """Move the page's cursor over the recorded prefix of the listing; returns its length."""
    start = prefix
    while prefix < len(records) and records[prefix].captured_at in done:
        prefix += 1
    if prefix > start:
        cursors.advance_cursor(
            run.con,
            url,
            document_id,
            listed_from,
            records[prefix - 1].captured_at,
            run_id=run.run_id,
            now=utcnow(),
        )
    return prefix


@flow(name="backfill", task_runner=ThreadPoolTaskRunner(max_workers=4))
def backfill(
    settings: Settings | None = None,
    from_: str | None = None,
    to: str | None = None,
    force: bool = False,
) -> dict[str, int]:
    """List and download the archive's captures of every tracked page.

    `from_`/`to` are Wayback timestamp prefixes (e.g. "2023" or "20230115").
    When the archive keeps refusing (429/5xx after every retry), the run stops
    cleanly, records when to come back, and the next run resumes from each
    page's cursor: nothing already recorded is fetched again. Before that
    time a run skips the archive and says so; `force=True` calls it anyway.
    """
    settings = settings or Settings.from_env()
    with open_run(settings, "backfill", {"from": from_, "to": to, "force": force}) as run:
        wait = cursors.archive_wait(run.con, utcnow())
        if wait is not None and not force:
            _skip(run, wait)
            return dict(run.counts)
        if wait is not None:
            cursors.clear_refusal(run.con, run_id=run.run_id, now=utcnow())
        client = run.archive_client()
        pages = [
            (run.document_ids[spec.key], page, url)
            for spec in run.specs
            for page, url in enumerate(spec.urls)
        ]
        unreachable = 0  # consecutive listings that failed at the network level
        for document_id, page, url in run.track(pages, "pages", len(pages)):
            try:
                backfill_page(run, client, document_id, page, url, from_, to)
                unreachable = 0
            except ArchiveRefused as err:
                when = err.retry_after.isoformat() if err.retry_after else "later"
                load.record_problems(
                    run.con,
                    [
                        load.ProblemRow(
                            run.run_id,
                            "cdx",
                            "archive refused; backfill stopped",
                            utcnow(),
                            document_id,
                            url,
                            None,
                            None,
                            f"{err}; retry after {when}",
                        )
                    ],
                )
                cursors.record_refusal(
                    run.con,
                    url,
                    document_id,
                    err.retry_after,
                    str(err),
                    run_id=run.run_id,
                    now=utcnow(),
                )
                run.count("stopped")
                run.counts["retry_after"] = when  # type: ignore[assignment]
                break
            except ClientError as err:
                load.record_problems(
                    run.con,
                    [
                        load.ProblemRow(
                            run.run_id,
                            "cdx",
                            "listing failed",
                            utcnow(),
                            document_id,
                            url,
                            None,
                            None,
                            str(err),
                        )
                    ],
                )
                run.count("failures")
                unreachable = unreachable + 1 if isinstance(err, FetchError) else 0
                if unreachable >= UNREACHABLE_PAGES:
                    message = (
                        f"the archive at {settings.wayback_base} could not be reached "
                        f"({str(err).split(': ', 1)[0]}) for {unreachable} pages in a row; "
                        "backfill stopped"
                    )
                    log.warning("%s", message)
                    run.count("stopped")
                    run.counts["unreachable"] = message  # type: ignore[assignment]
                    break
        return dict(run.counts)


def _skip(run: Run, wait: cursors.Cursor) -> None:
    """The archive asked us to come back later: do not call it, say so, record it."""
    when = wait.retry_after.isoformat() if wait.retry_after else "later"
    message = (
        f"backfill skipped: the archive refused us and asked to come back after {when} "
        f"(while backfilling {wait.original_url}); run again after that time, "
        "or force it with backfill(force=True)"
    )
    log.warning("%s", message)
    load.record_problems(
        run.con,
        [
            load.ProblemRow(
                run.run_id,
                "cdx",
                "archive asked us to wait; backfill skipped",
                utcnow(),
                wait.document_id,
                wait.original_url,
                None,
                None,
                f"retry after {when}; refusal: {wait.refusal}",
            )
        ],
    )
    run.count("stopped")
    run.counts["skipped_until"] = when  # type: ignore[assignment]
    run.counts["retry_after"] = when  # type: ignore[assignment]
