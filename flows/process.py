"""`process`: extract text from stored captures and rebuild versions.

Extraction is cached by (raw SHA-256, extractor key): a body is extracted
once. Before extracting, a cheap visible-text fingerprint is taken; a body
whose fingerprint matches one already extracted with the same extractor key
(version and selectors) reuses that result, so HTML churn without a text
change costs a parse, not an extraction. Pending bodies of all documents go
through one process pool per run, as a stream of jobs (largest first);
their results are committed every `CHUNK` bodies while the workers go on.

Versions are rebuilt only for documents whose inputs changed; a run with
nothing new starts no task. Each changed document is built (screen, combine,
version, split, align, label) in the same pool, from texts and a clause ledger the
parent reads for it; clause numbers are provisional there and fixed by the
parent in registry order (`transforms.numbering`), so the ids are the same
as one build after another. Builds are loaded in batches of
`DOCUMENT_BATCH` documents, one transaction each.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Generic, TypeVar

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import SyncClientContext
from prefect.utilities.annotations import quote

from flows import signals
from flows.common import Run, open_run, utcnow
from flows.settings import Settings
from transforms import extract as extract_mod
from transforms.classify import TAXONOMY_VERSION
from transforms.clauses import split_clauses
from transforms.dates import find_stated_date
from transforms.lineage import LedgerEntry, trace_with_ledger
from transforms.numbering import PROVISIONAL_BASE, check_real
from transforms.quality import is_collapse
from transforms.records import DocumentSpec, Extraction, sha256_hex
from transforms.versions import PageText, build_versions, combine_pages, screen_pages
from warehouse import clauses as clause_store
from warehouse import load
from warehouse.clauses import ClauseHistory, ClauseRows
from warehouse.rawstore import RawStore, RawStoreError

# bump when versioning, segmentation or alignment output can change; a new
# taxonomy (transforms.classify) relabels, so it rebuilds every document too
CLAUSE_LAYER = f"3+labels{TAXONOMY_VERSION}"
POOL_THRESHOLD = 8  # below this many pending bodies, extract in-process
DOCUMENT_BATCH = 16  # document builds per committed transaction
READ_AHEAD = 8  # documents whose build inputs are read in one query
J = TypeVar("J")
R = TypeVar("R")


def extractor_key(spec: DocumentSpec) -> str:
    selectors = json.dumps([list(spec.select), list(spec.remove)])
    return f"v{extract_mod.EXTRACTOR_VERSION}:{sha256_hex(selectors)[:12]}"


CHUNK = 200  # extraction outcomes per commit
GROUP = 200  # bodies per extraction job at most: bounded memory, a long history spread


@dataclass(frozen=True, slots=True)
class Pending:
    """A stored body that this document's extractor setting has not read yet."""

    raw_sha256: str
    content_type: str | None
    key: str
    url: str
    select: tuple[str, ...]
    remove: tuple[str, ...]
    document_id: str  # the first document (in id order) that holds the body


@dataclass(frozen=True, slots=True)
class BodyGroup:
    """One worker job: pending bodies of one document and extractor setting."""

    raw_dir: str
    jobs: tuple[Pending, ...]
    known: frozenset[str]  # fingerprints already extracted for this document


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A body the raw store could not give back (missing, or altered on disk)."""

    reason: str


def read_group(group: BodyGroup) -> list[tuple[str | Unreadable, Extraction | None]]:
    """In a worker: each body's fingerprint, and its extraction unless its
    visible text is known (from the warehouse or an earlier body of the group).

    Each body is decoded and parsed once (`fingerprint_and_extract`). A body
    the raw store cannot give back comes back `Unreadable`: it is recorded as
    a problem and stays pending, and the other bodies go on.
    """
    store = RawStore(Path(group.raw_dir))
    seen = set(group.known)
    out: list[tuple[str | Unreadable, Extraction | None]] = []
    for job in group.jobs:
        try:
            body = store.get(job.raw_sha256)
        except RawStoreError as err:
            out.append((Unreadable(str(err)), None))
            continue
        fingerprint, extraction = extract_mod.fingerprint_and_extract(
            body,
            content_type=job.content_type,
            url=job.url,
            select=job.select,
            remove=job.remove,
            known=seen,
        )
        seen.add(fingerprint)
        out.append((fingerprint, extraction))
    return out


# The cyclic garbage collector's first threshold while a run works (Python's
# default is 700 allocations). Extraction and builds make hundreds of
# thousands of short-lived tuples, lists and records, few of them in cycles;
# at 700 a collection ran every few milliseconds: 0.20 of 2.10 CPU s of the
# corpus's builds, against 0.02 s at this threshold (measured with
# gc.callbacks), and 0.11 of 2.04 s of its extractions.
GC_FIRST_THRESHOLD = 20_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect garbage less often inside the block (`GC_FIRST_THRESHOLD`),
    then put the thresholds back."""
    before = _raise_first_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*before)


def start_worker() -> None:
    """A pool worker's start: the command's stop handling dropped
    (`signals.reset_in_worker`), the objects inherited from the parent
    (Prefect, DuckDB, the modules: about 140,000) left out of every
    collection, which would otherwise walk them again and again (and touch
    the pages the worker shares with its parent), and `GC_FIRST_THRESHOLD`."""
    signals.reset_in_worker()
    gc.freeze()
    _raise_first_threshold()


def _raise_first_threshold() -> tuple[int, int, int]:
    """Raise the first threshold to at least `GC_FIRST_THRESHOLD`; the thresholds before."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], GC_FIRST_THRESHOLD), *before[1:])
    return before


class Stream(Iterator[R], Generic[R]):
    """The results of `fn` over jobs, in order, from a process pool.

    The first `ahead` jobs are submitted at once, so the workers start before
    the first result is asked for (while Prefect starts the task that takes
    them); then one more each time a result is taken. Jobs are drawn from
    `jobs` only then, so a job's inputs are read shortly before it runs and
    memory stays bounded. Once the `last` stream of a pool has handed over
    its final result, the workers are told to exit, which they do while the
    parent goes on. Without an executor, each job runs in this process when
    its result is taken.
    """

    def __init__(
        self,
        fn: Callable[[J], R],
        jobs: Iterable[J],
        ahead: int,
        executor: ProcessPoolExecutor | None,
        *,
        last: bool = False,
    ) -> None:
        self._fn = fn
        self._jobs = iter(jobs)
        self._executor = executor
        self._last = last
        self._in_flight: deque[Future[R]] = deque()
        if executor is not None:
            for job in itertools.islice(self._jobs, ahead):
                self._in_flight.append(executor.submit(fn, job))

    def __next__(self) -> R:
        if self._executor is None:
            return self._fn(next(self._jobs))
        if not self._in_flight:
            raise StopIteration
        first = self._in_flight.popleft()
        for job in itertools.islice(self._jobs, 1):
            self._in_flight.append(self._executor.submit(self._fn, job))
        result = first.result()
        if self._last and not self._in_flight:
            self._executor.shutdown(wait=False)
        return result


class Pool:
    """One process pool per run (extraction and builds are CPU-bound), or none for 1 worker."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=start_worker)
        return self._pool

    def stream(
        self,
        fn: Callable[[J], R],
        jobs: Iterable[J],
        ahead: int,
        *,
        in_process: bool = False,
        last: bool = False,
    ) -> Stream[R]:
        """`fn` of each job, in order (`Stream`); at most `ahead` jobs in flight.

        With one worker, or `in_process`, the jobs run in this process, as
        the results are taken. After the `last` stream the pool takes no job.
        """
        if self.workers <= 1 or in_process:
            return Stream(fn, jobs, 0, None)
        return Stream(fn, jobs, max(ahead, self.workers), self._executor(), last=last)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def pending_bodies(run: Run) -> list[Pending]:
    """Every stored body, of every document, not yet extracted with its setting."""
    specs = {run.document_ids[spec.key]: spec for spec in run.specs}
    keys = {document_id: extractor_key(spec) for document_id, spec in specs.items()}
    jobs: dict[tuple[str, str], Pending] = {}
    for document_id, sha, ctype in load.pending_extractions(run.con, keys):
        spec, key = specs[document_id], keys[document_id]
        jobs.setdefault(
            (sha, key),
            Pending(sha, ctype, key, spec.urls[0], spec.select, spec.remove, document_id),
        )
    return list(jobs.values())


def body_groups(run: Run, pending: Sequence[Pending]) -> list[BodyGroup]:
    """The pending bodies split by (document, extractor setting), in order of
    first appearance, in groups of at most `GROUP` bodies (a long history is
    several jobs, so it is spread over the workers and held in parts)."""
    grouped: dict[tuple[str, str], list[Pending]] = {}
    for job in pending:
        grouped.setdefault((job.document_id, job.key), []).append(job)
    known = load.document_fingerprints(run.con, {document_id: key for document_id, key in grouped})
    raw_dir = str(run.raw.root)
    return [
        BodyGroup(raw_dir, tuple(jobs[i : i + GROUP]), known.get(document_id, frozenset()))
        for (document_id, _key), jobs in grouped.items()
        for i in range(0, len(jobs), GROUP)
    ]


def _expected_cost(group: BodyGroup) -> tuple[int, int]:
    """Sort key putting the jobs expected to take longest first, so that no
    long job is left for the end while the other workers wait: those with
    PDFs (each page's text is rendered: a PDF of the corpus took 0.3 s,
    longer than any job of 16 HTML bodies), then those with more bodies."""
    pdfs = sum(1 for job in group.jobs if (job.content_type or "").startswith("application/pdf"))
    return (-pdfs, -len(group.jobs))


def start_extraction(
    run: Run, pending: Sequence[Pending], pool: Pool
) -> tuple[list[BodyGroup], Stream[list[tuple[str | Unreadable, Extraction | None]]]]:
    """The extraction jobs of the pending bodies (`body_groups`), the
    costliest first (`_expected_cost`), and their results, the first few
    jobs already in the pool (`Pool.stream`)."""
    groups = sorted(body_groups(run, pending), key=_expected_cost)
    ahead = 2 * pool.workers + 2
    results = pool.stream(read_group, groups, ahead, in_process=len(pending) < POOL_THRESHOLD)
    return groups, results


@task(name="extract-pending", cache_policy=NO_CACHE, persist_result=False)
def extract_pending(
    run: Run,
    groups: Sequence[BodyGroup],
    results: Stream[list[tuple[str | Unreadable, Extraction | None]]],
) -> int:
    """Record the extraction jobs' results (`start_extraction`); returns how
    many bodies were really extracted.

    The bodies are split into jobs of one document and setting
    (`body_groups`, `read_group`): every body is fingerprinted, and only the
    first body of each visible text not already extracted is extracted. A
    body whose text was known reuses that extraction's row (from its job or
    the warehouse). The jobs stream through the pool, the costliest first,
    a few ahead; results are committed every `CHUNK` bodies while the
    workers go on, so no worker waits for a commit or for the last job of a
    batch.
    """
    extracted = 0
    outcomes: list[tuple[Pending, str, Extraction | None]] = []
    for group, result in run.track(
        zip(groups, results, strict=True), "extraction jobs", len(groups)
    ):
        unreadable = []
        for job, (fingerprint, extraction) in zip(group.jobs, result, strict=True):
            if isinstance(fingerprint, Unreadable):
                unreadable.append((job, fingerprint))
            else:
                outcomes.append((job, fingerprint, extraction))
        if unreadable:
            record_unreadable(run, unreadable)
        if len(outcomes) >= CHUNK:
            extracted += record_outcomes(run, outcomes)
            outcomes = []
    return extracted + record_outcomes(run, outcomes)


def record_unreadable(run: Run, bodies: Sequence[tuple[Pending, Unreadable]]) -> None:
    """One `extract` problem per body the raw store could not give back; no
    extraction is recorded, so the body is read again once the store is repaired
    (`clausetrail verify` names the blobs)."""
    now = utcnow()
    load.record_problems(
        run.con,
        [
            load.ProblemRow(
                run.run_id,
                "extract",
                "raw body unreadable",
                now,
                job.document_id,
                job.url,
                None,
                None,
                f"{fault.reason}; run `clausetrail verify`",
            )
            for job, fault in bodies
        ],
    )
    run.count("unreadable", len(bodies))


def record_outcomes(run: Run, outcomes: Sequence[tuple[Pending, str, Extraction | None]]) -> int:
    """Record a batch of `read_group` outcomes in one commit; how many were extracted."""
    if not outcomes:
        return 0
    now = utcnow()
    made: dict[tuple[str, str], load.ExtractionRow] = {}
    texts: dict[str, str] = {}
    own: list[load.ExtractionRow | None] = []  # the row of each body extracted now
    for job, fingerprint, extraction in outcomes:
        if extraction is None:
            own.append(None)
            continue
        text_sha256 = extraction.text_sha256  # hashes the text: once
        row = load.ExtractionRow(
            raw_sha256=job.raw_sha256,
            extractor_key=job.key,
            status=extraction.status,
            extracted_at=now,
            reason=extraction.reason,
            text_sha256=text_sha256,
            title=extraction.title,
            language=extraction.language,
            fingerprint=fingerprint,
        )
        own.append(row)
        made.setdefault((fingerprint, job.key), row)
        if text_sha256 is not None:
            texts[text_sha256] = extraction.text
    missing: dict[str, set[str]] = {}
    for job, fingerprint, extraction in outcomes:
        if extraction is None and (fingerprint, job.key) not in made:
            missing.setdefault(job.key, set()).add(fingerprint)
    for key, prints in missing.items():
        found = load.known_fingerprints(run.con, prints, key)
        made.update({(fp, key): row for fp, row in found.items()})
    # a reused body gets the row of its visible text, under its own hash
    out = [
        row
        or dataclasses.replace(
            made[(fingerprint, job.key)], raw_sha256=job.raw_sha256, extracted_at=now
        )
        for (job, fingerprint, _extraction), row in zip(outcomes, own, strict=True)
    ]
    load.record_extractions(run.con, out, texts)
    done = sum(1 for row in own if row is not None)
    run.count("extracted", done)
    run.count("extraction_reused", len(out) - done)
    return done


@dataclass(frozen=True, slots=True)
class DocumentJob:
    """What one document's build needs, read from the warehouse by the parent."""

    spec: DocumentSpec
    document_id: str
    inputs: str
    captures: tuple[load.PageCapture, ...]
    texts: dict[str, str]  # the accepted pages' texts by SHA-256
    ledger: dict[str, LedgerEntry]
    run_id: str
    now: datetime


@dataclass(frozen=True, slots=True)
class BuiltDocument:
    """A document's build; its clause rows hold provisional ids (transforms.numbering)."""

    build: load.DocumentBuild
    fresh: int  # provisional numbers used: the real sequence moves on by this much


def build_document(job: DocumentJob) -> BuiltDocument:
    """One document's versions and clause history from its captures (pure; runs in a worker).

    Captures that are not usable pages (a page dropped from the registry, an
    HTTP error, a body cut at the size cap) are left out; failed extractions
    and pages whose text collapsed are recorded as problems.
    """
    spec, document_id, now = job.spec, job.document_id, job.now
    problems = []
    pages = []
    for c in job.captures:
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
                    job.run_id,
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
    accepted, rejected = screen_pages(pages, job.texts, is_collapse)
    for r in rejected:
        problems.append(
            load.ProblemRow(
                job.run_id,
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
    observations, combined = combine_pages(accepted, len(spec.urls), job.texts)
    versions = build_versions(
        document_id, observations, stated_date=lambda sha: find_stated_date(combined[sha])
    )
    split: dict[str, tuple] = {}
    items = []
    for version in versions:
        sha = version.text_sha256
        if sha not in split:
            split[sha] = split_clauses(combined[sha])
        items.append((version.version_id, sha, split[sha]))
    traced, issued, number = trace_with_ledger(items, job.ledger, PROVISIONAL_BASE)
    rows = ClauseRows()
    rows.add(document_id, versions, ClauseHistory(traced, issued), now)
    # a version of one page has that page's text, which the warehouse holds
    # (it came from there): only combined texts of several pages are new
    new_texts = {sha: combined[sha] for sha in split if sha not in job.texts}
    build = load.DocumentBuild(
        document_id, versions, new_texts, job.inputs, tuple(problems), rows.tables()
    )
    return BuiltDocument(build, number - PROVISIONAL_BASE)


def _inputs_head(spec: DocumentSpec) -> str:
    """The start of a document's inputs (`document_inputs`), before its captures."""
    return json.dumps([extractor_key(spec), CLAUSE_LAYER, len(spec.urls)])[:-1]


def capture_states(run: Run) -> dict[str, load.CaptureState]:
    """`load.capture_states` of every document that has captures."""
    keys = {
        run.document_ids[spec.key]: (extractor_key(spec), _inputs_head(spec)) for spec in run.specs
    }
    return load.capture_states(run.con, keys)


def document_inputs(run: Run, states: Mapping[str, load.CaptureState]) -> dict[str, str]:
    """For every document: the hash of what its versions are built from, the
    SHA-256 of the JSON list [extractor key, clause layer, page count, then
    per capture: capture id, page, HTTP status, truncated, extraction status,
    text hash]. It is computed by `load.capture_states` inside DuckDB;
    captures are fetched only for the documents whose hash moved
    (`changed_captures`)."""
    out = {}
    for spec in run.specs:
        document_id = run.document_ids[spec.key]
        state = states.get(document_id)
        # a document with no stored capture: the list of the head alone
        out[document_id] = state.inputs_sha256 if state else sha256_hex(_inputs_head(spec) + "]")
    return out


def changed_captures(
    run: Run, documents: Sequence[tuple[DocumentSpec, str]]
) -> dict[str, list[load.PageCapture]]:
    """The captures of these (spec, document id), with their extractions, in time order."""
    if not documents:
        return {}
    keys = {document_id: extractor_key(spec) for spec, document_id in documents}
    return load.page_captures(run.con, keys)


def document_jobs(
    run: Run, changed: Sequence[tuple[DocumentSpec, str, str, list[load.PageCapture]]]
) -> Iterator[DocumentJob]:
    """The changed documents' jobs, read `READ_AHEAD` documents at a time (one
    query for their texts, one for their ledgers; memory stays bounded)."""
    for start in range(0, len(changed), READ_AHEAD):
        part = changed[start : start + READ_AHEAD]
        shas = [
            {c.text_sha256 for c in captures if c.status == "ok" and c.text_sha256}
            for _spec, _document_id, _inputs, captures in part
        ]
        texts = load.load_texts(run.con, set().union(*shas))
        ledgers = clause_store.load_ledgers(run.con, [document_id for _s, document_id, *_ in part])
        for (spec, document_id, inputs, captures), wanted in zip(part, shas, strict=True):
            yield DocumentJob(
                spec,
                document_id,
                inputs,
                tuple(captures),
                {sha: texts[sha] for sha in wanted if sha in texts},
                ledgers[document_id],
                run.run_id,
                utcnow(),
            )


def start_builds(
    run: Run, changed: Sequence[tuple[DocumentSpec, str, str, list[load.PageCapture]]], pool: Pool
) -> Stream[BuiltDocument]:
    """The changed documents' builds, in registry order, the first few
    already in the pool (`Pool.stream`): enough jobs in flight to keep the
    workers busy while a batch is written."""
    ahead = DOCUMENT_BATCH + 2 * pool.workers
    # the builds are the run's last jobs: the workers exit while the parent
    # loads the last batch
    return pool.stream(build_document, document_jobs(run, changed), ahead, last=True)


@task(name="rebuild-versions", cache_policy=NO_CACHE, persist_result=False)
def rebuild_versions(
    run: Run,
    changed: Sequence[tuple[DocumentSpec, str, str, list[load.PageCapture]]],
    built: Stream[BuiltDocument],
) -> int:
    """Load the versions and clause history of each changed document from
    its build (`start_builds`).

    Builds are loaded in batches of `DOCUMENT_BATCH`, one transaction each.
    Clause numbers are fixed in registry order as the builds come back, so
    the ids are those of a build of one document after another.
    """
    if run.next_clause_number is None:  # read once per run, then carried
        run.next_clause_number = clause_store.next_clause_number(run.con)
    # labels of an older taxonomy go before the builds insert this one's
    clause_store.prune_labels(run.con)
    batch: list[load.DocumentBuild] = []
    for result in run.track(built, "documents", len(changed)):
        base = run.next_clause_number
        check_real(base)
        build = result.build
        assert build.clauses is not None  # build_document always traces clauses
        if result.fresh:  # no fresh number, no provisional id to move (at load)
            build = dataclasses.replace(build, clause_base=base)
        run.next_clause_number += result.fresh
        batch.append(build)
        run.count("ledger_entries_issued", build.clauses.ledger_entries)
        run.count("documents_rebuilt")
        if len(batch) >= DOCUMENT_BATCH:
            load.replace_documents(run.con, batch, utcnow())
            batch = []
    load.replace_documents(run.con, batch, utcnow())
    clause_store.prune_labels(run.con)  # and those of texts no clause holds any more
    return len(changed)


@flow(name="process")
def process(settings: Settings | None = None) -> dict[str, int]:
    """Extract what is new and rebuild the versions of documents that changed.

    Work is found first, so a run with nothing new starts no task at all:
    when the inputs' watermark (`load.input_watermark`) is the one the last
    complete run recorded, nothing else is read; otherwise each document's
    inputs hash says which to rebuild.
    """
    settings = settings or Settings.from_env()
    with open_run(settings, "process", {}) as run, fewer_collections():
        heads = {run.document_ids[spec.key]: _inputs_head(spec) for spec in run.specs}
        changed: list = []
        if load.input_watermark(run.con, heads) != load.last_watermark(run.con):
            changed = process_changes(run, settings, heads)
        run.count("documents_unchanged", len(run.specs) - len(changed))
        run.counts.update(load.table_counts(run.con))
        return dict(run.counts)


def shared_client() -> AbstractContextManager[SyncClientContext]:
    """The Prefect API client for this run's tasks, entered before each task:
    a task started outside a flow run (`process.fn`) would make its own, with
    its own SSL context (about 0.07 s of the parent's time); in a flow run,
    or once entered, it is the one already in use."""
    return SyncClientContext.get_or_create()


def process_changes(
    run: Run, settings: Settings, heads: Mapping[str, str]
) -> list[tuple[DocumentSpec, str, str, list[load.PageCapture]]]:
    """Extract every pending body and rebuild every document whose inputs
    moved; returns those documents. Once nothing waits for an extraction any
    more (a body the raw store cannot give back stays pending), the inputs'
    watermark (over the documents' `heads`) is recorded for the next run."""
    with ExitStack() as stack:
        pool = Pool(settings.workers)  # its processes start with its first stream
        stack.callback(pool.close)
        states = capture_states(run)
        # the body list is read only when a capture waits for its extraction
        pending = pending_bodies(run) if any(s.unextracted for s in states.values()) else []
        if pending:
            # the first jobs are in the pool before the task starts; quoted:
            # Prefect would otherwise walk every element looking for futures
            groups, results = start_extraction(run, pending, pool)
            stack.enter_context(shared_client())
            extract_pending(quote(run), quote(groups), quote(results))
            states = capture_states(run)
        built = load.built_inputs(run.con)
        inputs = document_inputs(run, states)
        moved = [
            (spec, document_id)
            for spec in run.specs
            if built.get(document_id := run.document_ids[spec.key]) != inputs[document_id]
        ]
        captures = changed_captures(run, moved)
        changed = [
            (spec, document_id, inputs[document_id], captures[document_id])
            for spec, document_id in moved
        ]
        if changed:
            builds = start_builds(run, changed, pool)
            stack.enter_context(shared_client())
            rebuild_versions(quote(run), quote(changed), quote(builds))
    if not any(s.unextracted for s in states.values()):
        load.record_watermark(run.con, load.input_watermark(run.con, heads), utcnow())
    return changed
