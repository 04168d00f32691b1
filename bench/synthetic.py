"""A scaled synthetic warehouse, generated inside DuckDB, and the analyst
queries timed on it.

    python -m bench.synthetic [--documents 200 --versions 100 --clauses 500] [--runs 7]

The warehouse is a real one (`warehouse.db.open_warehouse`: the migrations and
the analyst views are the shipped ones); only its rows are made up, by SQL
over `range()` with hash-derived words, so no Python loop touches a row.

Shape, per document (D documents, V versions, C clauses per version):

- versions are 30 days apart (document d starts d hours after the epoch); the
  last one is current (valid_to NULL); one capture per version.
- the first C - R ordinals are stable clauses (R = min(10, C // 5)); clause at
  ordinal c rewords itself every 5 + c % 20 versions (a `modified` change).
- the last R ordinals rotate every 25 versions: R clauses `removed`, R new
  ones `added`.
- clause texts are 16 words drawn from a 64-word legal vocabulary by hash
  (about 130 characters), with a heading path and a label.

So clause_versions has D x V x C rows (10 million at 200 x 100 x 500), stored
in document, version, ordinal order — the order the process flow writes them
(one document at a time). Version texts are short stand-ins (the full text is
not what the timed queries read).

Timed (median of --runs runs after one warm-up, different documents and
times each run): `analyst.clauses_at(doc, ts)` (one document as of a time),
`analyst.all_clauses_at(ts)` (every document), `analyst.document_timeline`
for one document, and `warehouse.export.export_parquet` (including the clause
tables). When the as-of query misses its target, the EXPLAIN ANALYZE of one
run is kept in the results.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from warehouse.db import open_warehouse
from warehouse.export import EXPORTS, export_parquet

ASOF_TARGET_MS = 200.0
EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
PERIOD_DAYS = 30
ROTATE_EVERY = 25

WORDS = (
    "the",
    "service",
    "may",
    "collect",
    "use",
    "share",
    "retain",
    "delete",
    "personal",
    "data",
    "information",
    "content",
    "account",
    "user",
    "users",
    "we",
    "you",
    "your",
    "third",
    "parties",
    "partners",
    "providers",
    "law",
    "applicable",
    "consent",
    "rights",
    "request",
    "access",
    "correct",
    "process",
    "processing",
    "purposes",
    "security",
    "transfer",
    "countries",
    "outside",
    "agreement",
    "terms",
    "policy",
    "update",
    "notice",
    "change",
    "liability",
    "damages",
    "warranty",
    "license",
    "grant",
    "feedback",
    "model",
    "training",
    "improve",
    "products",
    "safety",
    "minors",
    "age",
    "verification",
    "dispute",
    "arbitration",
    "court",
    "jurisdiction",
    "termination",
    "suspend",
    "limit",
    "notify",
)  # 64: a word is picked by 6 bits of a hash
assert len(WORDS) == 64

# Clause tables the export does not carry yet get an export select here.
CLAUSE_EXPORTS: dict[str, str] = {
    "clauses": "SELECT c.*, d.platform_id FROM clauses c JOIN documents d USING (document_id)",
    "clause_versions": (
        "SELECT cv.*, d.platform_id FROM clause_versions cv JOIN documents d USING (document_id)"
    ),
    "changes": "SELECT ch.*, d.platform_id FROM changes ch JOIN documents d USING (document_id)",
}


@dataclass(frozen=True, slots=True)
class Scale:
    documents: int = 200
    versions: int = 100
    clauses: int = 500
    platforms: int = 20

    @property
    def rotating(self) -> int:
        return min(10, self.clauses // 5)

    @property
    def stable(self) -> int:
        return self.clauses - self.rotating

    @property
    def ids_per_document(self) -> int:
        return self.stable + self.rotating * (self.versions // ROTATE_EVERY + 1)

    @property
    def clause_versions(self) -> int:
        return self.documents * self.versions * self.clauses


def _words_sql() -> str:
    return "[" + ", ".join(f"'{w}'" for w in WORDS) + "]"


def generate(con: duckdb.DuckDBPyConnection, scale: Scale) -> dict[str, float]:
    """Fill an empty, migrated warehouse with a synthetic history; returns seconds per step."""
    D, V, C = scale.documents, scale.versions, scale.clauses
    S, R, P = scale.stable, scale.rotating, scale.platforms
    per_doc = scale.ids_per_document
    timings: dict[str, float] = {}

    def step(name: str, sql: str, params: list | None = None) -> None:
        started = time.perf_counter()
        con.execute(sql, params or [])
        timings[name] = round(time.perf_counter() - started, 3)

    con.execute(
        f"CREATE OR REPLACE TEMP MACRO _syn_word(h, k) AS ({_words_sql()})[1 + ((h >> (6 * k)) & 63)::INTEGER]"
    )
    con.execute(
        "CREATE OR REPLACE TEMP MACRO _syn_sentence(h) AS "
        + " || ' ' || ".join(f"_syn_word(h, {k})" for k in range(8))
    )
    con.execute(
        "CREATE OR REPLACE TEMP MACRO _syn_doc(d) AS 'D-' || lpad(CAST(d + 1 AS VARCHAR), 5, '0')"
    )
    con.execute(
        "CREATE OR REPLACE TEMP MACRO _syn_clause(d, n) AS "
        f"'P-' || lpad(CAST(d * {per_doc} + n + 1 AS VARCHAR), 7, '0')"
    )
    step(
        "platforms_documents",
        f"""
        INSERT INTO platforms
        SELECT 'platform-' || lpad(CAST(p AS VARCHAR), 3, '0'), 'Platform ' || p FROM range({P}) t(p);
        INSERT INTO documents
        SELECT _syn_doc(d), 'platform-' || lpad(CAST(d % {P} AS VARCHAR), 3, '0'),
               'document-' || d, 'Synthetic document ' || d,
               (['Terms of Service', 'Privacy Policy', 'Acceptable Use Policy', 'Commercial Terms'])[1 + d % 4],
               ['https://example.com/legal/' || d], [], [], TIMESTAMPTZ '{EPOCH.isoformat()}', NULL
        FROM range({D}) t(d);
        """,
    )
    step(
        "versions",
        f"""
        CREATE TEMP TABLE _syn_versions AS
        SELECT d, v, _syn_doc(d) AS document_id,
               TIMESTAMPTZ '{EPOCH.isoformat()}' + to_days(CAST(v * {PERIOD_DAYS} AS INTEGER)) + to_hours(CAST(d AS INTEGER)) AS valid_from,
               CASE WHEN v < {V - 1} THEN TIMESTAMPTZ '{EPOCH.isoformat()}' + to_days(CAST((v + 1) * {PERIOD_DAYS} AS INTEGER)) + to_hours(CAST(d AS INTEGER)) END AS valid_to,
               sha256('synthetic ' || d || ' ' || v) AS text_sha256
        FROM range({D}) a(d), range({V}) b(v);
        ALTER TABLE _syn_versions ADD COLUMN version_id VARCHAR;
        UPDATE _syn_versions SET version_id = document_id || '@' || strftime(valid_from, '%Y%m%dT%H%M%SZ') || '.' || left(text_sha256, 8);
        CREATE TEMP TABLE _syn_steps AS
        SELECT d, v, document_id, version_id, valid_from,
               lag(version_id) OVER (PARTITION BY d ORDER BY v) AS prev_version_id
        FROM _syn_versions;
        INSERT INTO texts
        SELECT text_sha256, txt, length(txt)
        FROM (SELECT text_sha256, 'Synthetic document ' || d || ', version ' || v || '.' AS txt FROM _syn_versions);
        INSERT INTO versions
        SELECT version_id, document_id, text_sha256, valid_from, valid_to,
               coalesce(valid_to, valid_from + INTERVAL 1 DAY) - INTERVAL 1 SECOND, 1, CAST(valid_from AS DATE)
        FROM _syn_versions ORDER BY d, v;
        INSERT INTO captures (capture_id, document_id, page, source, captured_at, original_url,
                              archive_url, http_status, mime_type, content_type, raw_sha256, raw_bytes,
                              fetched_at, run_id)
        SELECT left(sha256('capture ' || version_id), 24), document_id, 0, 'wayback', valid_from,
               'https://example.com/legal/' || d, 'https://web.archive.org/web/' || strftime(valid_from, '%Y%m%d%H%M%S') || '/https://example.com/legal/' || d,
               200, 'text/html', 'text/html; charset=utf-8', sha256('raw ' || version_id), 50000, valid_from, 'synthetic'
        FROM _syn_versions;
        INSERT INTO version_captures SELECT version_id, left(sha256('capture ' || version_id), 24) FROM _syn_versions;
        """,
    )
    # Distinct clause texts: (document, clause number, text epoch).
    step(
        "clause_texts",
        f"""
        CREATE TEMP TABLE _syn_texts AS
        WITH keys AS (
            SELECT d, n, e FROM range({D}) a(d), range({S}) b(n), range({V}) c(e)
            WHERE e <= ({V} - 1) // (5 + n % 20)
            UNION ALL
            SELECT d, n, 0 FROM range({D}) a(d), range({S}, {per_doc}) b(n)
        )
        SELECT d, n, e, text, sha256(text) AS text_sha256
        FROM (
            SELECT d, n, e,
                   'Section ' || (n // 50 + 1) || '.' || (n % 50 + 1) || ': '
                   || _syn_sentence(hash(d, n, e)) || ' ' || _syn_sentence(hash(e, n, d, 'b')) || '.' AS text
            FROM keys
        );
        """,
    )
    step(
        "clause_versions",
        f"""
        INSERT INTO clause_versions
        WITH rows AS (
            SELECT i // {V * C} AS d, (i // {C}) % {V} AS v, i % {C} AS c FROM range({D * V * C}) t(i)
        ), keyed AS (
            SELECT d, v, c,
                   CASE WHEN c < {S} THEN c ELSE {S} + (v // {ROTATE_EVERY}) * {R} + (c - {S}) END AS n,
                   CASE WHEN c < {S} THEN v // (5 + c % 20) ELSE 0 END AS e
            FROM rows
        )
        SELECT _syn_clause(k.d, k.n), sv.version_id, sv.document_id, CAST(k.c AS INTEGER),
               ['Part ' || (k.c // 100 + 1), 'Section ' || (k.c // 50 + 1)],
               (k.c // 50 + 1) || '.' || (k.c % 50 + 1),
               CASE WHEN k.c % 50 = 0 THEN 'heading' WHEN k.c % 7 = 0 THEN 'list_item' ELSE 'paragraph' END,
               t.text, t.text_sha256, sv.valid_from, sv.valid_to
        FROM keyed k
        JOIN _syn_versions sv ON sv.d = k.d AND sv.v = k.v
        JOIN _syn_texts t ON t.d = k.d AND t.n = k.n AND t.e = k.e;
        """,
    )
    step(
        "changes",
        f"""
        INSERT INTO changes
        WITH modified AS (
            SELECT d, v, c AS n, c AS ordinal, 'modified' AS kind, v // (5 + c % 20) AS e
            FROM range({D}) a(d), range(1, {V}) b(v), range({S}) x(c)
            WHERE v % (5 + c % 20) = 0
        ), rotated AS (
            SELECT d, v, {S} + (v // {ROTATE_EVERY}) * {R} + r AS n, {S} + r AS ordinal, 'added' AS kind, 0 AS e
            FROM range({D}) a(d), range({ROTATE_EVERY}, {V}, {ROTATE_EVERY}) b(v), range({R}) x(r)
            UNION ALL
            SELECT d, v, {S} + (v // {ROTATE_EVERY} - 1) * {R} + r, {S} + r, 'removed', 0
            FROM range({D}) a(d), range({ROTATE_EVERY}, {V}, {ROTATE_EVERY}) b(v), range({R}) x(r)
        ), events AS (
            SELECT d, v, n, ordinal, kind, e, e - 1 AS old_e FROM modified
            UNION ALL
            SELECT d, v, n, ordinal, kind, e, e - 1 FROM rotated
        )
        SELECT left(sha256(cur.version_id || '|' || _syn_clause(ev.d, ev.n) || '|' || ev.kind), 24),
               cur.document_id, cur.prev_version_id, cur.version_id, cur.valid_from,
               _syn_clause(ev.d, ev.n), ev.kind,
               CASE WHEN ev.kind <> 'added' THEN CAST(ev.ordinal AS INTEGER) END,
               CASE WHEN ev.kind <> 'removed' THEN CAST(ev.ordinal AS INTEGER) END,
               CASE WHEN ev.kind = 'modified' THEN old.text WHEN ev.kind = 'removed' THEN new.text END,
               CASE WHEN ev.kind <> 'removed' THEN new.text END,
               CASE WHEN ev.kind = 'modified' THEN 0.5 ELSE 0.0 END,
               CASE WHEN ev.kind = 'modified' THEN 'similarity' ELSE 'none' END,
               '[]',
               CASE WHEN ev.kind = 'modified' THEN '[-' || old.text || '-]{{+' || new.text || '+}}' ELSE coalesce(new.text, '') END,
               NULL,
               false
        FROM events ev
        JOIN _syn_steps cur ON cur.d = ev.d AND cur.v = ev.v
        JOIN _syn_texts new ON new.d = ev.d AND new.n = ev.n AND new.e = ev.e
        LEFT JOIN _syn_texts old ON old.d = ev.d AND old.n = ev.n AND old.e = ev.old_e;
        """,
    )
    step(
        "clauses",
        """
        INSERT INTO clauses
        SELECT clause_id, any_value(document_id), min(valid_from),
               max(coalesce(valid_to, valid_from + INTERVAL 1 DAY) - INTERVAL 1 SECOND),
               bool_or(valid_to IS NULL), CAST(count(*) AS INTEGER), NULL
        FROM clause_versions GROUP BY clause_id;
        """,
    )
    step(
        "ledger_runs",
        f"""
        INSERT INTO clause_ledger
        SELECT document_id, text_sha256, [], TIMESTAMPTZ '{EPOCH.isoformat()}', NULL
        FROM _syn_versions;
        INSERT INTO runs VALUES ('synthetic', 'synthetic', now(), now(), 'completed', '{{}}', '{{}}', NULL);
        DROP TABLE _syn_texts;
        DROP TABLE _syn_steps;
        DROP TABLE _syn_versions;
        CHECKPOINT;
        """,
    )
    return timings


def build(path: Path, scale: Scale) -> tuple[duckdb.DuckDBPyConnection, dict[str, float]]:
    """Create the warehouse file at `path` and generate the history into it."""
    con = open_warehouse(path)
    return con, generate(con, scale)


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    names = ("documents", "versions", "clauses", "clause_versions", "changes", "captures")
    return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}


# ---------------------------------------------------------------- timed queries


def probe(scale: Scale, run: int) -> tuple[str, datetime]:
    """A document and an instant inside its history, different for each run."""
    d = (run * 37 + 11) % scale.documents
    v = (run * 13 + scale.versions // 2) % scale.versions
    at = EPOCH + timedelta(days=v * PERIOD_DAYS + 3, hours=d)
    return f"D-{d + 1:05d}", at


ASOF_SQL = "SELECT * FROM analyst.clauses_at(?, ?)"
ALL_ASOF_SQL = "SELECT * FROM analyst.all_clauses_at(?)"
TIMELINE_SQL = (
    "SELECT * FROM analyst.document_timeline WHERE document_id = ? ORDER BY version_number"
)


def asof(con: duckdb.DuckDBPyConnection, document_id: str, at: datetime) -> list[tuple]:
    return con.execute(ASOF_SQL, [document_id, at]).fetchall()


def all_asof(con: duckdb.DuckDBPyConnection, at: datetime) -> int:
    relation = con.sql(ALL_ASOF_SQL, params=[at])
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    return fetch().num_rows


def timeline(con: duckdb.DuckDBPyConnection, document_id: str) -> list[tuple]:
    return con.execute(TIMELINE_SQL, [document_id]).fetchall()


def _median_ms(fn: Callable[[int], object], runs: int) -> tuple[float, list[float]]:
    fn(-1)  # warm-up: first touch of the blocks
    times = []
    for run in range(runs):
        started = time.perf_counter()
        fn(run)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2), [round(t, 2) for t in times]


def explain(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> str:
    rows = con.execute("EXPLAIN ANALYZE " + sql, params).fetchall()
    return "\n".join(str(r[-1]) for r in rows)


def time_queries(
    con: duckdb.DuckDBPyConnection,
    scale: Scale,
    *,
    runs: int = 7,
    export_runs: int = 1,
    export_dir: Path | None = None,
) -> dict[str, object]:
    """Median latencies of the analyst queries and the export on a built warehouse."""
    result: dict[str, object] = {}
    result["asof_ms"], result["asof_runs_ms"] = _median_ms(
        lambda run: asof(con, *probe(scale, run)), runs
    )
    result["asof_all_ms"], result["asof_all_runs_ms"] = _median_ms(
        lambda run: all_asof(con, probe(scale, run)[1]), runs
    )
    result["timeline_ms"], result["timeline_runs_ms"] = _median_ms(
        lambda run: timeline(con, probe(scale, run)[0]), runs
    )
    if result["asof_ms"] > ASOF_TARGET_MS:  # type: ignore[operator]
        document_id, at = probe(scale, 0)
        result["asof_plan"] = explain(con, ASOF_SQL, [document_id, at])
    extra = {k: v for k, v in CLAUSE_EXPORTS.items() if k not in EXPORTS}
    export_times = []
    own_dir = export_dir is None
    base = Path(tempfile.mkdtemp(prefix="clausetrail-export-")) if own_dir else export_dir
    try:
        for _ in range(max(1, export_runs)):
            started = time.perf_counter()
            exported = export_parquet(
                con, base / "export", created_at=datetime.now(UTC), extra_tables=extra
            )
            export_times.append(time.perf_counter() - started)
        result["export_s"] = round(statistics.median(export_times), 2)
        result["export_runs_s"] = [round(t, 2) for t in export_times]
        result["export_rows"] = exported.rows
        result["export_files"] = exported.files
        result["export_mb"] = round(
            sum(p.stat().st_size for p in (base / "export").rglob("*.parquet")) / 2**20, 1
        )
    finally:
        if own_dir:
            shutil.rmtree(base, ignore_errors=True)
    return result


def measure_synthetic(
    scale: Scale, *, runs: int = 7, export_runs: int = 1, work_dir: Path | None = None
) -> dict[str, object]:
    """Generate, time, clean up. Returns the figures (times in ms, export in s)."""
    own_dir = work_dir is None
    base = Path(tempfile.mkdtemp(prefix="clausetrail-synthetic-")) if own_dir else work_dir
    base.mkdir(parents=True, exist_ok=True)
    db = base / "synthetic.duckdb"
    db.unlink(missing_ok=True)
    try:
        started = time.perf_counter()
        con, steps = build(db, scale)
        generate_s = time.perf_counter() - started
        try:
            counts = row_counts(con)
            figures = time_queries(con, scale, runs=runs, export_runs=export_runs, export_dir=base)
        finally:
            con.close()
        return {
            "scale": asdict(scale),
            "rows": counts,
            "generate_s": round(generate_s, 2),
            "generate_steps_s": steps,
            "database_mb": round(db.stat().st_size / 2**20, 1),
            **figures,
        }
    finally:
        if own_dir:
            shutil.rmtree(base, ignore_errors=True)


def render(result: dict) -> str:
    rows = result["rows"]
    lines = [
        f"synthetic warehouse: {rows['documents']} documents, {rows['versions']} versions, "
        f"{rows['clause_versions']:,} clause versions, {rows['changes']:,} changes "
        f"({result['database_mb']} MB, generated in {result['generate_s']} s)",
        f"  as-of, one document   {result['asof_ms']:>9} ms (median; runs {result['asof_runs_ms']})",
        f"  as-of, all documents  {result['asof_all_ms']:>9} ms",
        f"  timeline, one document{result['timeline_ms']:>9} ms",
        f"  Parquet export        {result['export_s']:>9} s  ({result['export_mb']} MB, "
        f"{result['export_files']} files)",
    ]
    if "asof_plan" in result:
        lines += ["", "as-of query over its target; EXPLAIN ANALYZE:", result["asof_plan"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.synthetic", description=__doc__.split("\n")[0]
    )
    full = Scale()
    parser.add_argument("--documents", type=int, default=full.documents)
    parser.add_argument("--versions", type=int, default=full.versions)
    parser.add_argument("--clauses", type=int, default=full.clauses)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per query (median)")
    parser.add_argument("--export-runs", type=int, default=1)
    parser.add_argument("--work-dir", type=Path, default=None, help="keep the files here")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON results here")
    args = parser.parse_args(argv)
    scale = Scale(args.documents, args.versions, args.clauses)
    result = measure_synthetic(
        scale, runs=args.runs, export_runs=args.export_runs, work_dir=args.work_dir
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
