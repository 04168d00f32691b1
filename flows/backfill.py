"""`backfill`: every distinct Wayback capture of every tracked page.

For each page: list its captures (CDX, status 200, HTML or PDF, adjacent
duplicates collapsed by digest), skip those already recorded, and download
the rest through `id_` replay. A capture whose digest we already hold is
recorded as an observation without downloading it again (the reversion
A -> B -> A needs the second A). Work is committed every `BATCH` captures, so
a killed run loses at most one batch of downloads, which the next run redoes.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.client import ArchiveClient, ArchiveRefused, ClientError, Fetched, verify_digest
from flows.common import Run, open_run, utcnow
from flows.settings import Settings
from transforms.records import CdxRecord
from warehouse import load
from warehouse.rawstore import RawStore

BATCH = 50


@dataclass(frozen=True, slots=True)
class ReplayResult:
    record: CdxRecord
    fetched: Fetched | None
    raw_sha256: str | None
    error: str | None


@task(name="fetch-archived-capture", cache_policy=NO_CACHE)
def fetch_archived(client: ArchiveClient, raw: RawStore, record: CdxRecord) -> ReplayResult:
    """Download one archived body and store it before anything parses it."""
    try:
        fetched = client.fetch_capture(record)
    except ArchiveRefused:
        raise
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
    listing = client.list_captures(url, from_=from_, to=to)
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
                        "replay failed",
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


@flow(name="backfill", task_runner=ThreadPoolTaskRunner(max_workers=4))
def backfill(
    settings: Settings | None = None, from_: str | None = None, to: str | None = None
) -> dict[str, int]:
    """List and download the archive's captures of every tracked page.

    `from_`/`to` are Wayback timestamp prefixes (e.g. "2023" or "20230115").
    When the archive keeps refusing (429/5xx after every retry), the run stops
    cleanly, records when to come back, and the next run resumes: nothing
    already recorded is fetched again.
    """
    settings = settings or Settings.from_env()
    with open_run(settings, "backfill", {"from": from_, "to": to}) as run:
        client = run.archive_client()
        pages = [
            (run.document_ids[spec.key], page, url)
            for spec in run.specs
            for page, url in enumerate(spec.urls)
        ]
        for document_id, page, url in run.track(pages, "pages", len(pages)):
            try:
                backfill_page(run, client, document_id, page, url, from_, to)
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
        return dict(run.counts)
