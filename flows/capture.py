"""`capture`: fetch the current page of every tracked document."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.client import ClientError, Fetched, LiveClient
from flows.common import Run, open_run, utcnow
from flows.settings import Settings
from warehouse import load
from warehouse.rawstore import RawStore


@dataclass(frozen=True, slots=True)
class LiveResult:
    document_id: str
    page: int
    url: str
    fetched: Fetched | None
    raw_sha256: str | None
    error: str | None


@task(name="fetch-live-page", cache_policy=NO_CACHE)
def fetch_live_page(
    client: LiveClient, raw: RawStore, document_id: str, page: int, url: str
) -> LiveResult:
    """Fetch one page and write its bytes to the raw store before anything parses them."""
    try:
        fetched = client.fetch(url)
    except ClientError as err:
        return LiveResult(document_id, page, url, None, None, str(err))
    return LiveResult(document_id, page, url, fetched, raw.put(fetched.body), None)


def live_rows(run: Run, result: LiveResult) -> tuple[load.CaptureRow, list[load.ProblemRow]]:
    """The capture row of one live fetch (failed or not) and its problems."""
    fetched = result.fetched
    when = fetched.fetched_at if fetched else utcnow()
    capture_id = load.capture_id_for("live", result.url, when)

    def problem(reason: str, detail: str | None, cid: str | None = capture_id) -> load.ProblemRow:
        return load.ProblemRow(
            run.run_id, "fetch", reason, when, result.document_id, result.url, when, cid, detail
        )

    row = load.CaptureRow(
        capture_id=capture_id,
        document_id=result.document_id,
        page=result.page,
        source="live",
        captured_at=when,
        original_url=result.url,
        fetched_at=when,
        run_id=run.run_id,
    )
    if fetched is None:
        return dataclasses.replace(row, error=result.error), [
            problem("fetch failed", result.error, cid=None)
        ]
    problems = []
    if not 200 <= fetched.status < 300:
        problems.append(problem(f"HTTP {fetched.status}", fetched.final_url))
    if fetched.truncated:
        problems.append(
            problem("body over the size cap", f"kept the first {len(fetched.body)} bytes")
        )
    row = dataclasses.replace(
        row,
        http_status=fetched.status,
        mime_type=_mime(fetched.content_type),
        content_type=fetched.content_type,
        raw_sha256=result.raw_sha256,
        raw_bytes=len(fetched.body),
        is_truncated=fetched.truncated,
    )
    return row, problems


def _mime(content_type: str | None) -> str | None:
    return content_type.split(";")[0].strip().lower() if content_type else None


@flow(name="capture", task_runner=ThreadPoolTaskRunner(max_workers=4), log_prints=False)
def capture(settings: Settings | None = None) -> dict[str, int]:
    """Fetch every page of every tracked document once; record each outcome."""
    settings = settings or Settings.from_env()
    with open_run(settings, "capture", {}) as run:
        client = run.live_client()
        jobs = [
            (run.document_ids[spec.key], page, url)
            for spec in run.specs
            for page, url in enumerate(spec.urls)
        ]
        futures = [fetch_live_page.submit(client, run.raw, d, p, u) for d, p, u in jobs]
        by_document: dict[str, list[LiveResult]] = {}
        for future in run.track(futures, "live pages", len(futures)):
            result = future.result()
            by_document.setdefault(result.document_id, []).append(result)
        page_counts = {run.document_ids[s.key]: len(s.urls) for s in run.specs}
        for document_id, results in by_document.items():
            rows, problems, confirmed = [], [], []
            for result in results:
                row, found = live_rows(run, result)
                problems.extend(found)
                latest = load.latest_live(run.con, result.url) if row.raw_sha256 else None
                if latest and latest[1] == row.raw_sha256 and _ok(row.http_status):
                    # the same bytes as the last live capture: confirm it, add no row
                    load.confirm_capture(run.con, latest[0], row.fetched_at)
                    confirmed.append(row)
                    run.count("unchanged_pages")
                    continue
                rows.append(row)
            run.count("captures", load.record_captures(run.con, rows, problems))
            seen = rows + confirmed
            run.count("failures", sum(1 for r in seen if r.error or not _ok(r.http_status)))
            healthy = all(r.error is None and _ok(r.http_status) for r in seen)
            if healthy and len(seen) == page_counts[document_id]:
                load.mark_verified(run.con, document_id, max(r.fetched_at for r in seen))
        return dict(run.counts)


def _ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300
