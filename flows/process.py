"""`process`: extract text from stored captures and rebuild versions.

Extraction is cached by (raw SHA-256, extractor key): a body is extracted
once. Before extracting, a cheap visible-text fingerprint is taken; a body
whose fingerprint matches one already extracted for the same document reuses
that result (HTML churn without a text change costs a parse, not an
extraction). Versions are rebuilt only for documents whose inputs changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import Run, open_run, utcnow
from flows.settings import Settings
from transforms import extract as extract_mod
from transforms.clauses import split_clauses
from transforms.dates import find_stated_date
from transforms.lineage import trace_with_ledger
from transforms.quality import is_collapse
from transforms.records import DocumentSpec, Extraction, Version, sha256_hex
from transforms.versions import PageText, build_versions, combine_pages, screen_pages
from warehouse import clauses as clause_store
from warehouse import load
from warehouse.clauses import ClauseHistory
from warehouse.rawstore import RawStore

CLAUSE_LAYER = "1"  # bump when segmentation or alignment output can change
POOL_THRESHOLD = 8  # below this many bodies, extract in-process


def extractor_key(spec: DocumentSpec) -> str:
    selectors = json.dumps([list(spec.select), list(spec.remove)])
    return f"v{extract_mod.EXTRACTOR_VERSION}:{sha256_hex(selectors)[:12]}"


def _fingerprint(raw_dir: str, sha: str, content_type: str | None) -> str:
    body = RawStore(Path(raw_dir)).get(sha)
    return extract_mod.visible_fingerprint(body, content_type=content_type)


def _extract(
    raw_dir: str,
    sha: str,
    content_type: str | None,
    url: str,
    select: tuple[str, ...],
    remove: tuple[str, ...],
) -> Extraction:
    body = RawStore(Path(raw_dir)).get(sha)
    return extract_mod.extract_text(
        body, content_type=content_type, url=url, select=select, remove=remove
    )


def _map(workers: int, fn, *columns):  # type: ignore[no-untyped-def]
    jobs = list(zip(*columns, strict=True))
    if workers <= 1 or len(jobs) < POOL_THRESHOLD:
        return [fn(*job) for job in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, *columns, chunksize=max(1, len(jobs) // (workers * 4))))


@task(name="extract-document", cache_policy=NO_CACHE)
def extract_document(run: Run, spec: DocumentSpec, document_id: str) -> int:
    """Extract every body of a document not yet extracted; returns how many were new."""
    key = extractor_key(spec)
    pending = load.pending_extractions(run.con, document_id, key)
    if not pending:
        return 0
    raw_dir = str(run.raw.root)
    shas = [sha for sha, _ in pending]
    types = [ctype for _, ctype in pending]
    workers = run.settings.workers
    prints = _map(workers, _fingerprint, [raw_dir] * len(shas), shas, types)
    known = load.known_fingerprints(run.con, prints, key)
    # one extraction per new fingerprint; the rest reuse it
    todo: dict[str, int] = {}
    for index, fp in enumerate(prints):
        if fp not in known and fp not in todo:
            todo[fp] = index
    picks = list(todo.values())
    url = spec.urls[0]
    results = _map(
        workers,
        _extract,
        [raw_dir] * len(picks),
        [shas[i] for i in picks],
        [types[i] for i in picks],
        [url] * len(picks),
        [spec.select] * len(picks),
        [spec.remove] * len(picks),
    )
    now = utcnow()
    by_print: dict[str, load.ExtractionRow] = dict(known)
    texts: dict[str, str] = {}
    for index, extraction in zip(picks, results, strict=True):
        by_print[prints[index]] = load.ExtractionRow(
            raw_sha256=shas[index],
            extractor_key=key,
            status=extraction.status,
            extracted_at=now,
            reason=extraction.reason,
            text_sha256=extraction.text_sha256,
            title=extraction.title,
            language=extraction.language,
            fingerprint=prints[index],
        )
        if extraction.is_ok:
            texts[extraction.text_sha256] = extraction.text
    rows = []
    for sha, fp in zip(shas, prints, strict=True):
        source = by_print[fp]
        rows.append(
            load.ExtractionRow(
                raw_sha256=sha,
                extractor_key=key,
                status=source.status,
                extracted_at=now,
                reason=source.reason,
                text_sha256=source.text_sha256,
                title=source.title,
                language=source.language,
                fingerprint=fp,
            )
        )
    load.record_extractions(run.con, rows, texts)
    run.count("extracted", len(picks))
    run.count("extraction_reused", len(shas) - len(picks))
    return len(picks)


def trace_clauses(
    run: Run, document_id: str, versions: Sequence[Version], texts: dict[str, str]
) -> ClauseHistory:
    """Split every version into clauses and carry ids across versions (ledger first)."""
    split: dict[str, tuple] = {}
    items = []
    for version in versions:
        sha = version.text_sha256
        if sha not in split:
            split[sha] = split_clauses(texts[sha])
        items.append((version.version_id, sha, split[sha]))
    ledger = clause_store.load_ledger(run.con, document_id)
    traced, issued, _next = trace_with_ledger(
        items, ledger, clause_store.next_clause_number(run.con)
    )
    run.count("clause_ids_issued", sum(len(ids) for ids in issued.values()))
    return ClauseHistory(traced, issued)


@task(name="version-document", cache_policy=NO_CACHE)
def version_document(run: Run, spec: DocumentSpec, document_id: str) -> bool:
    """Rebuild a document's versions if its inputs changed; returns whether it did."""
    key = extractor_key(spec)
    captures = load.page_captures(run.con, document_id, key)
    inputs = sha256_hex(
        json.dumps(
            [key, CLAUSE_LAYER, len(spec.urls)]
            + [
                [c.capture_id, c.page, c.http_status, c.is_truncated, c.status, c.text_sha256]
                for c in captures
            ]
        )
    )
    if load.document_inputs_sha(run.con, document_id) == inputs:
        return False
    now = utcnow()
    problems = []
    pages = []
    for c in captures:
        if c.page >= len(spec.urls):
            continue  # a page dropped from the registry
        if c.http_status is not None and not 200 <= c.http_status < 300:
            continue  # recorded as a fetch problem when captured
        if c.is_truncated:
            # part of a page is not the page: recorded when fetched, never a version
            continue
        if c.status != "ok":
            problems.append(
                load.ProblemRow(
                    run.run_id,
                    "extract",
                    c.status or "not extracted",
                    now,
                    document_id,
                    spec.urls[c.page],
                    c.captured_at,
                    c.capture_id,
                    c.reason,
                )
            )
            continue
        pages.append(PageText(c.page, c.captured_at, c.capture_id, c.text_sha256))
    texts = load.load_texts(run.con, {p.text_sha256 for p in pages})
    accepted, rejected = screen_pages(pages, texts, is_collapse)
    for r in rejected:
        problems.append(
            load.ProblemRow(
                run.run_id,
                "screen",
                "not the document",
                now,
                document_id,
                None,
                r.captured_at,
                r.capture_id,
                r.reason,
            )
        )
    observations, combined = combine_pages(accepted, len(spec.urls), texts)
    versions = build_versions(
        document_id, observations, stated_date=lambda sha: find_stated_date(combined[sha])
    )
    new_texts = {v.text_sha256: combined[v.text_sha256] for v in versions}
    history = trace_clauses(run, document_id, versions, new_texts)
    load.replace_versions(
        run.con, document_id, versions, new_texts, inputs, problems, now, clause_history=history
    )
    run.count("documents_rebuilt")
    return True


@flow(name="process")
def process(settings: Settings | None = None) -> dict[str, int]:
    """Extract what is new and rebuild the versions of documents that changed."""
    settings = settings or Settings.from_env()
    with open_run(settings, "process", {}) as run:
        for spec in run.track(run.specs, "documents", len(run.specs)):
            document_id = run.document_ids[spec.key]
            extract_document(run, spec, document_id)
            version_document(run, spec, document_id)
        run.counts.update(load.table_counts(run.con))
        return dict(run.counts)
