"""Loading into the warehouse. Every function writes one unit of work in one
transaction, in bulk through Arrow, with bound values only."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import datetime

import duckdb
import pyarrow as pa

from transforms.records import DocumentSpec, Version, sha256_hex
from warehouse.arrowio import insert_arrow as _insert
from warehouse.arrowio import registered
from warehouse.clauses import ClauseHistory, ClauseRows, ClauseTables, replace_clause_rows
from warehouse.db import transaction


@dataclass(frozen=True, slots=True)
class CaptureRow:
    """One observation of one page (or a failed attempt at one)."""

    capture_id: str
    document_id: str
    page: int
    source: str  # live | wayback
    captured_at: datetime
    original_url: str
    fetched_at: datetime
    run_id: str
    archive_url: str | None = None
    http_status: int | None = None
    mime_type: str | None = None
    content_type: str | None = None
    raw_sha256: str | None = None
    raw_bytes: int | None = None
    is_truncated: bool = False
    wayback_digest: str | None = None
    digest_check: str | None = None
    is_download_skipped: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ExtractionRow:
    raw_sha256: str
    extractor_key: str
    status: str
    extracted_at: datetime
    reason: str | None = None
    text_sha256: str | None = None
    title: str | None = None
    language: str | None = None
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class ProblemRow:
    run_id: str
    stage: str  # cdx | fetch | extract | screen
    reason: str
    recorded_at: datetime
    document_id: str | None = None
    url: str | None = None
    captured_at: datetime | None = None
    capture_id: str | None = None
    detail: str | None = None

    @property
    def problem_id(self) -> str:
        when = self.captured_at.isoformat() if self.captured_at else ""
        key = "|".join(
            [
                self.stage,
                self.document_id or "",
                self.url or "",
                when,
                self.capture_id or "",
                self.reason,
                self.detail or "",
            ]
        )
        return sha256_hex(key)[:24]


@dataclass(frozen=True, slots=True)
class PageCapture:
    """A stored capture of one page with its extraction, as processing needs it."""

    capture_id: str
    page: int
    captured_at: datetime
    raw_sha256: str
    http_status: int | None
    is_truncated: bool  # the body was cut at the size cap
    status: str | None  # extraction status, None when not yet extracted
    reason: str | None
    text_sha256: str | None


def capture_id_for(source: str, url: str, captured_at: datetime) -> str:
    """A capture id derived from what identifies the observation."""
    return sha256_hex(f"{source}|{url}|{captured_at.isoformat()}")[:24]


def _arrow(
    rows: Sequence[object], cls: type, extra: Mapping[str, object] | None = None
) -> pa.Table:
    names = [f.name for f in fields(cls)]
    data = {name: [getattr(r, name) for r in rows] for name in names}
    if extra:
        for name, values in extra.items():
            data[name] = list(values)  # type: ignore[arg-type]
    return pa.table(data)


# ---------------------------------------------------------------- registry


def sync_registry(
    con: duckdb.DuckDBPyConnection, specs: Sequence[DocumentSpec], now: datetime
) -> dict[str, str]:
    """Upsert platforms and documents; issue ids to new documents.

    Returns document ids keyed by `DocumentSpec.key`. Ids are issued once, in
    registry order, and never change or get reused.
    """
    # only what differs is written: an unchanged registry costs two reads
    platforms = dict(con.execute("SELECT platform_id, name FROM platforms").fetchall())
    rows = con.execute(
        "SELECT document_id, platform_id, slug, name, terms_type, urls, select_css, remove_css "
        "FROM documents"
    ).fetchall()
    known = {f"{p}/{s}": d for d, p, s, *_ in rows}
    current = {d: (n, t, tuple(u), tuple(sel), tuple(rem)) for d, _p, _s, n, t, u, sel, rem in rows}
    renamed = [spec for spec in specs if platforms.get(spec.platform) != spec.platform_name]
    edited = [
        spec
        for spec in specs
        if spec.key not in known
        or current[known[spec.key]]
        != (spec.name, spec.terms_type, spec.urls, spec.select, spec.remove)
    ]
    if not renamed and not edited:
        return {spec.key: known[spec.key] for spec in specs}  # no transaction to open
    with transaction(con):
        for spec in renamed:
            if platforms.get(spec.platform) == spec.platform_name:
                continue  # an earlier entry of the platform wrote its name
            con.execute(
                "INSERT INTO platforms VALUES (?, ?) ON CONFLICT (platform_id) DO UPDATE SET name = excluded.name",
                [spec.platform, spec.platform_name],
            )
            platforms[spec.platform] = spec.platform_name
        last = con.execute(
            "SELECT coalesce(max(CAST(substr(document_id, 3) AS INTEGER)), 0) FROM documents"
        ).fetchone()[0]
        for spec in edited:
            if spec.key in known:
                con.execute(
                    "UPDATE documents SET name = ?, terms_type = ?, urls = ?, select_css = ?, remove_css = ? "
                    "WHERE document_id = ?",
                    [
                        spec.name,
                        spec.terms_type,
                        list(spec.urls),
                        list(spec.select),
                        list(spec.remove),
                        known[spec.key],
                    ],
                )
                continue
            last += 1
            document_id = f"D-{last:05d}"
            con.execute(
                "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                [
                    document_id,
                    spec.platform,
                    spec.slug,
                    spec.name,
                    spec.terms_type,
                    list(spec.urls),
                    list(spec.select),
                    list(spec.remove),
                    now,
                ],
            )
            known[spec.key] = document_id
    return {spec.key: known[spec.key] for spec in specs}


# ---------------------------------------------------------------- captures


def known_wayback(con: duckdb.DuckDBPyConnection, url: str) -> tuple[set[datetime], dict[str, str]]:
    """For one URL: the archive timestamps already recorded, and raw hashes by digest."""
    times = {
        row[0]
        for row in con.execute(
            "SELECT captured_at FROM captures WHERE source = 'wayback' AND original_url = ? "
            "AND raw_sha256 IS NOT NULL",
            [url],
        ).fetchall()
    }
    digests = dict(
        con.execute(
            "SELECT wayback_digest, any_value(raw_sha256) FROM captures "
            "WHERE wayback_digest IS NOT NULL AND raw_sha256 IS NOT NULL "
            "AND digest_check IN ('verified', 'unverifiable') AND original_url = ? "
            "GROUP BY wayback_digest",
            [url],
        ).fetchall()
    )
    return times, digests


def raw_for_wayback_digest(con: duckdb.DuckDBPyConnection, digest: str) -> str | None:
    """The raw SHA-256 of a held body whose bytes were verified against this
    payload digest (base32 SHA-1, as Wayback and WARC files give it), if any."""
    row = con.execute(
        "SELECT min(raw_sha256) FROM captures WHERE wayback_digest = ? "
        "AND digest_check = 'verified' AND raw_sha256 IS NOT NULL",
        [digest],
    ).fetchone()
    return row[0] if row else None


def record_captures(
    con: duckdb.DuckDBPyConnection,
    captures: Sequence[CaptureRow],
    problems: Sequence[ProblemRow] = (),
) -> int:
    """Insert captures and their problems together; returns how many rows are new.

    A capture id already recorded with its bytes is kept as it is (a re-run
    adds nothing). One recorded as a failed attempt (no bytes) takes the new
    row: a retry that got the bytes fills it in, one that failed again
    leaves its own error and time.
    """
    before = con.execute("SELECT count(*) FROM captures").fetchone()[0]
    table = _arrow(captures, CaptureRow)
    with transaction(con):
        if table.num_rows:
            columns = table.column_names
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "capture_id")
            with registered(con, "_incoming", table):
                con.execute(
                    f"INSERT INTO captures ({', '.join(columns)}) "
                    f"SELECT {', '.join(columns)} FROM _incoming "
                    f"ON CONFLICT (capture_id) DO UPDATE SET {updates} "
                    "WHERE captures.raw_sha256 IS NULL"
                )
        _record_problems(con, problems)
    return con.execute("SELECT count(*) FROM captures").fetchone()[0] - before


def _record_problems(con: duckdb.DuckDBPyConnection, problems: Sequence[ProblemRow]) -> None:
    if problems:
        table = _arrow(problems, ProblemRow, {"problem_id": [p.problem_id for p in problems]})
        _insert(con, "problems", table)


def record_problems(con: duckdb.DuckDBPyConnection, problems: Sequence[ProblemRow]) -> None:
    with transaction(con):
        _record_problems(con, problems)


def latest_live(con: duckdb.DuckDBPyConnection, url: str) -> tuple[str, str | None] | None:
    """The newest live capture of a URL: (capture id, raw SHA-256), or None."""
    row = con.execute(
        "SELECT capture_id, raw_sha256 FROM captures WHERE source = 'live' AND original_url = ? "
        "ORDER BY captured_at DESC LIMIT 1",
        [url],
    ).fetchone()
    return (row[0], row[1]) if row else None


def confirm_capture(con: duckdb.DuckDBPyConnection, capture_id: str, at: datetime) -> None:
    """A live fetch returned the same bytes as this capture: note when, add no row."""
    con.execute("UPDATE captures SET confirmed_at = ? WHERE capture_id = ?", [at, capture_id])


def mark_verified(con: duckdb.DuckDBPyConnection, document_id: str, at: datetime) -> None:
    con.execute(
        "UPDATE documents SET last_verified_at = ? WHERE document_id = ?", [at, document_id]
    )


# ---------------------------------------------------------------- extraction


def _keys(con: duckdb.DuckDBPyConnection, keys: Mapping[str, str]) -> AbstractContextManager[None]:
    """Register {document_id: extractor_key} as the relation `_keys`."""
    table = pa.table({"document_id": list(keys), "extractor_key": list(keys.values())})
    return registered(con, "_keys", table)


def pending_extractions(
    con: duckdb.DuckDBPyConnection, keys: Mapping[str, str]
) -> list[tuple[str, str, str | None]]:
    """Bodies not yet extracted with their document's key: (document id, sha, content type).

    `keys` maps each document id to its extractor key; one query for all.
    """
    with _keys(con, keys):
        return con.execute(
            "SELECT c.document_id, c.raw_sha256, any_value(c.content_type) FROM captures c "
            "JOIN _keys k USING (document_id) "
            "LEFT JOIN extractions e "
            "  ON e.raw_sha256 = c.raw_sha256 AND e.extractor_key = k.extractor_key "
            "WHERE c.raw_sha256 IS NOT NULL AND e.raw_sha256 IS NULL "
            "GROUP BY ALL ORDER BY 1, 2"
        ).fetchall()


def record_extractions(
    con: duckdb.DuckDBPyConnection,
    rows: Sequence[ExtractionRow],
    texts: Mapping[str, str],
) -> None:
    """Store extractions and any new texts in one transaction."""
    with transaction(con):
        _store_texts(con, texts)
        _insert(con, "extractions", _arrow(rows, ExtractionRow))


def _store_texts(con: duckdb.DuckDBPyConnection, texts: Mapping[str, str]) -> None:
    if texts:
        shas = list(texts)
        table = pa.table(
            {
                "text_sha256": shas,
                "text": [texts[s] for s in shas],
                "chars": [len(texts[s]) for s in shas],
            }
        )
        _insert(con, "texts", table)


def page_captures(
    con: duckdb.DuckDBPyConnection, keys: Mapping[str, str]
) -> dict[str, list[PageCapture]]:
    """Every stored capture of these documents with its extraction, by document, in time order."""
    with _keys(con, keys):
        rows = con.execute(
            "SELECT c.document_id, c.capture_id, c.page, c.captured_at, c.raw_sha256, "
            "c.http_status, c.is_truncated, e.status, e.reason, e.text_sha256 "
            "FROM captures c JOIN _keys k USING (document_id) LEFT JOIN extractions e "
            "  ON e.raw_sha256 = c.raw_sha256 AND e.extractor_key = k.extractor_key "
            "WHERE c.raw_sha256 IS NOT NULL "
            "ORDER BY c.document_id, c.captured_at, c.page, c.capture_id"
        ).fetchall()
    out: dict[str, list[PageCapture]] = {document_id: [] for document_id in keys}
    for document_id, *row in rows:
        out[document_id].append(PageCapture(*row))
    return out


@dataclass(frozen=True, slots=True)
class CaptureState:
    """What processing needs to know of one document's stored captures."""

    inputs_sha256: str  # what its versions are built from (see `capture_states`)
    unextracted: int  # captures whose body its extractor setting has not read yet


def capture_states(
    con: duckdb.DuckDBPyConnection, keys: Mapping[str, tuple[str, str]]
) -> dict[str, CaptureState]:
    """For each of these documents that has stored captures, in one query:
    its inputs hash, and how many of its captures still wait for an
    extraction. Computed in the database: a run with nothing new fetches no
    capture row.

    `keys` maps each document id to (extractor key, head): the hash is the
    SHA-256 of `head`, then for each capture in `page_captures` order
    `, ["<capture id>", <page>, <HTTP status>, <truncated>, "<status>",
    "<text hash>"]` (JSON, `null` for a missing value), then `]`. That is
    `json.dumps` of the head's list with the captures appended, for these
    fields: capture ids and text hashes are hex and statuses plain words,
    so none needs escaping.
    """
    table = pa.table(
        {
            "document_id": list(keys),
            "extractor_key": [key for key, _head in keys.values()],
            "head": [head for _key, head in keys.values()],
        }
    )
    with registered(con, "_heads", table):
        rows = con.execute(
            "SELECT c.document_id, sha256(any_value(k.head) || string_agg("
            "  ', [\"' || c.capture_id || '\", ' || c.page || ', ' "
            "  || coalesce(CAST(c.http_status AS VARCHAR), 'null') || ', ' "
            "  || CASE WHEN c.is_truncated THEN 'true' ELSE 'false' END || ', ' "
            "  || coalesce('\"' || e.status || '\"', 'null') || ', ' "
            "  || coalesce('\"' || e.text_sha256 || '\"', 'null') || ']', '' "
            "  ORDER BY c.captured_at, c.page, c.capture_id) || ']'), "
            "  count(*) FILTER (WHERE e.raw_sha256 IS NULL) "
            "FROM captures c JOIN _heads k USING (document_id) LEFT JOIN extractions e "
            "  ON e.raw_sha256 = c.raw_sha256 AND e.extractor_key = k.extractor_key "
            "WHERE c.raw_sha256 IS NOT NULL GROUP BY c.document_id"
        ).fetchall()
    return {document_id: CaptureState(sha, n) for document_id, sha, n in rows}


def document_fingerprints(
    con: duckdb.DuckDBPyConnection, keys: Mapping[str, str]
) -> dict[str, frozenset[str]]:
    """The visible-text fingerprints already extracted for each document's bodies.

    `keys` maps document ids to their extractor key; only extractions made
    with that key count. One query for all the documents.
    """
    out: dict[str, set[str]] = {document_id: set() for document_id in keys}
    with _keys(con, keys):
        rows = con.execute(
            "SELECT DISTINCT c.document_id, e.fingerprint FROM captures c "
            "JOIN _keys k USING (document_id) "
            "JOIN extractions e "
            "  ON e.raw_sha256 = c.raw_sha256 AND e.extractor_key = k.extractor_key "
            "WHERE e.fingerprint IS NOT NULL"
        ).fetchall()
    for document_id, fingerprint in rows:
        out[document_id].add(fingerprint)
    return {document_id: frozenset(prints) for document_id, prints in out.items()}


def known_fingerprints(
    con: duckdb.DuckDBPyConnection, fingerprints: Iterable[str], extractor_key: str
) -> dict[str, ExtractionRow]:
    """Extractions already made of bodies with these visible-text fingerprints."""
    wanted = sorted(set(fingerprints))
    if not wanted:
        return {}
    rows = con.execute(
        "SELECT fingerprint, arg_min(raw_sha256, raw_sha256), arg_min(status, raw_sha256), "
        "arg_min(extracted_at, raw_sha256), arg_min(reason, raw_sha256), "
        "arg_min(text_sha256, raw_sha256), arg_min(title, raw_sha256), arg_min(language, raw_sha256) "
        "FROM extractions WHERE extractor_key = ? AND list_contains(?, fingerprint) "
        "GROUP BY fingerprint",
        [extractor_key, wanted],
    ).fetchall()
    return {
        fp: ExtractionRow(raw, extractor_key, status, at, reason, text, title, lang, fp)
        for fp, raw, status, at, reason, text, title, lang in rows
    }


def load_texts(con: duckdb.DuckDBPyConnection, shas: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    rows = con.execute(
        "SELECT text_sha256, text FROM texts WHERE list_contains(?, text_sha256)", [wanted]
    ).fetchall()
    return dict(rows)


# ---------------------------------------------------------------- versions


def input_watermark(con: duckdb.DuckDBPyConnection, heads: Mapping[str, object]) -> str:
    """A digest of everything processing reads, in one cheap query: the
    documents' heads (`heads`: document id -> extractor key, clause layer,
    page count), and the stored captures and extractions as counts and the
    newest fetch time.

    Captures and extractions are only ever inserted (a failed capture is
    filled in: it gains its bytes), so any new input moves a count. Equal
    watermarks mean equal inputs; a different one says only that something
    may have changed (`capture_states` says what).
    """
    row = con.execute(
        "SELECT count(*) FILTER (WHERE raw_sha256 IS NOT NULL), "
        "  CAST(max(fetched_at) FILTER (WHERE raw_sha256 IS NOT NULL) AS VARCHAR), "
        "  (SELECT count(*) FROM extractions) "
        "FROM captures"
    ).fetchone()
    digest = json.dumps([sorted(heads.items()), list(row)], default=str)
    return sha256_hex(digest)


def last_watermark(con: duckdb.DuckDBPyConnection) -> str | None:
    """The watermark the last process run recorded (`record_watermark`), if any."""
    row = con.execute("SELECT watermark FROM process_state").fetchone()
    return row[0] if row else None


def record_watermark(con: duckdb.DuckDBPyConnection, watermark: str, at: datetime) -> None:
    """Record that every input with this watermark is extracted and built."""
    with transaction(con):
        con.execute("DELETE FROM process_state")
        con.execute("INSERT INTO process_state VALUES (?, ?)", [watermark, at])


def built_inputs(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The inputs hash each document's versions were last built from."""
    return dict(con.execute("SELECT document_id, inputs_sha256 FROM document_state").fetchall())


@dataclass(frozen=True, slots=True)
class DocumentBuild:
    """A fresh build of one document: what `replace_documents` swaps in."""

    document_id: str
    versions: Sequence[Version]
    texts: Mapping[str, str]  # the versions' texts the warehouse may not hold yet, by SHA-256
    inputs_sha256: str  # what the build was made from (see `built_inputs`)
    problems: Sequence[ProblemRow] = ()
    clauses: ClauseTables | None = None  # the clause tables' rows; None leaves them alone
    # where the provisional clause ids of `clauses` go on the real sequence
    # (transforms.numbering); None when they hold real ids only
    clause_base: int | None = None


def replace_versions(
    con: duckdb.DuckDBPyConnection,
    document_id: str,
    versions: Sequence[Version],
    texts: Mapping[str, str],
    inputs_sha256: str,
    problems: Sequence[ProblemRow],
    now: datetime,
    clause_history: ClauseHistory | None = None,
) -> None:
    """Swap a document's versions (and clause history) for a fresh build, in one transaction."""
    tables = None
    if clause_history is not None:
        rows = ClauseRows()
        rows.add(document_id, versions, clause_history, now)
        tables = rows.tables()
    build = DocumentBuild(document_id, versions, texts, inputs_sha256, problems, tables)
    replace_documents(con, [build], now)


def replace_documents(
    con: duckdb.DuckDBPyConnection, builds: Sequence[DocumentBuild], now: datetime
) -> None:
    """Swap the versions (and clause history) of several documents, in one transaction.

    One insert per table for the whole batch: the statement count, not the
    row count, is what a per-document load paid for.
    """
    if not builds:
        return
    ids = [b.document_id for b in builds]
    if len(set(ids)) != len(ids):
        raise ValueError(f"a document appears twice in one batch: {sorted(ids)}")
    versions = [v for b in builds for v in b.versions]
    texts = {sha: text for b in builds for sha, text in b.texts.items()}
    version_table = pa.table(
        {
            "version_id": [v.version_id for v in versions],
            "document_id": [v.document_id for v in versions],
            "text_sha256": [v.text_sha256 for v in versions],
            "valid_from": pa.array([v.valid_from for v in versions], pa.timestamp("us", tz="UTC")),
            "valid_to": pa.array([v.valid_to for v in versions], pa.timestamp("us", tz="UTC")),
            "last_seen_at": pa.array(
                [v.last_seen_at for v in versions], pa.timestamp("us", tz="UTC")
            ),
            "capture_count": pa.array([len(v.capture_ids) for v in versions], pa.int32()),
            "stated_date": pa.array([v.stated_date for v in versions], pa.date32()),
        }
    )
    links = pa.table(
        {
            "version_id": pa.array(
                [v.version_id for v in versions for _ in v.capture_ids], pa.string()
            ),
            "capture_id": pa.array([c for v in versions for c in v.capture_ids], pa.string()),
        }
    )
    state = pa.table(
        {
            "document_id": ids,
            "inputs_sha256": [b.inputs_sha256 for b in builds],
            "built_at": pa.array([now] * len(ids), pa.timestamp("us", tz="UTC")),
        }
    )
    with transaction(con):
        _store_texts(con, texts)
        con.execute(
            "DELETE FROM version_captures WHERE version_id IN "
            "(SELECT version_id FROM versions WHERE list_contains(?, document_id))",
            [ids],
        )
        con.execute("DELETE FROM versions WHERE list_contains(?, document_id)", [ids])
        _insert(con, "versions", version_table, or_ignore=False)
        _insert(con, "version_captures", links, or_ignore=False)  # deleted just above
        with_clauses = [b for b in builds if b.clauses is not None]
        if with_clauses:
            tables = ClauseTables.concat(
                [b.clauses for b in with_clauses],  # type: ignore[misc]
                [b.clause_base for b in with_clauses],
            )
            replace_clause_rows(con, [b.document_id for b in with_clauses], tables)
        _record_problems(con, [p for b in builds for p in b.problems])
        con.execute("DELETE FROM document_state WHERE list_contains(?, document_id)", [ids])
        _insert(con, "document_state", state, or_ignore=False)


# ---------------------------------------------------------------- runs


def start_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    flow: str,
    started_at: datetime,
    parameters: Mapping[str, object],
) -> None:
    con.execute(
        "INSERT INTO runs VALUES (?, ?, ?, NULL, 'running', ?, NULL, NULL)",
        [run_id, flow, started_at, json.dumps(parameters, default=str, sort_keys=True)],
    )


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    finished_at: datetime,
    status: str,
    counts: Mapping[str, object],
    message: str | None = None,
) -> None:
    con.execute(
        "UPDATE runs SET finished_at = ?, status = ?, counts = ?, message = ? WHERE run_id = ?",
        [finished_at, status, json.dumps(counts, default=str, sort_keys=True), message, run_id],
    )


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    names = ["platforms", "documents", "captures", "versions", "problems", "runs"]
    return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}
