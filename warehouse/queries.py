"""Read-only queries behind the CLI's read commands."""

from __future__ import annotations

import duckdb

from warehouse.load import table_counts


def summary(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of the main tables, and captures that gave no usable text."""
    counts = table_counts(con)
    counts["unusable_captures"] = con.execute(
        "SELECT count(*) FROM analyst.capture_log WHERE outcome NOT IN ('ok', 'stored')"
    ).fetchone()[0]
    return counts


def timeline(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """One row per version of every document, oldest first."""
    return con.execute(
        "SELECT document_id, document_name, version_number, valid_from, valid_to, "
        "capture_count, stated_date, chars FROM analyst.document_versions "
        "ORDER BY document_id, valid_from"
    ).fetchall()


def recent_runs(con: duckdb.DuckDBPyConnection, limit: int = 10) -> list[tuple]:
    return con.execute(
        "SELECT run_id, flow, started_at, finished_at, status, message FROM runs "
        "ORDER BY started_at DESC LIMIT ?",
        [limit],
    ).fetchall()


def problem_counts(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[tuple]:
    return con.execute(
        "SELECT stage, reason, count(*) AS n FROM problems GROUP BY ALL ORDER BY n DESC, stage "
        "LIMIT ?",
        [limit],
    ).fetchall()


def run_query(con: duckdb.DuckDBPyConnection, query: str) -> tuple[list[str], list[tuple]]:
    """An analyst's own query (the connection is read-only)."""
    cursor = con.execute(query)
    if cursor is None:  # nothing but comments: no statement ran
        return [], []
    columns = [d[0] for d in cursor.description or []]
    return columns, cursor.fetchall()


def recorded_blobs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """Every raw hash the captures point to, with a Wayback digest where one was verified."""
    return con.execute(
        "SELECT raw_sha256, any_value(wayback_digest) FILTER (WHERE digest_check = 'verified') "
        "FROM captures WHERE raw_sha256 IS NOT NULL GROUP BY raw_sha256 ORDER BY raw_sha256"
    ).fetchall()


def document_row(con: duckdb.DuckDBPyConnection, ref: str) -> tuple | None:
    """A document by id ('D-00001') or by 'platform/slug': (id, name, platform)."""
    return con.execute(
        "SELECT document_id, name, platform_id FROM documents "
        "WHERE document_id = ? OR platform_id || '/' || slug = ?",
        [ref, ref],
    ).fetchone()


def document_timeline(con: duckdb.DuckDBPyConnection, document_id: str) -> list[tuple]:
    return con.execute(
        "SELECT version_number, version_id, valid_from, valid_to, stated_date, capture_count, "
        "clauses, added, removed, modified, moved FROM analyst.document_timeline "
        "WHERE document_id = ? ORDER BY valid_from",
        [document_id],
    ).fetchall()


def as_time(con: duckdb.DuckDBPyConnection, value: str) -> object:
    """`value` read as DuckDB reads a time; raises `duckdb.ConversionException` if it is not one."""
    return con.execute("SELECT CAST(? AS TIMESTAMPTZ)", [value]).fetchone()[0]


def version_at(con: duckdb.DuckDBPyConnection, document_id: str, as_of: object) -> tuple | None:
    """(version id, valid_from) of the version in force at `as_of`."""
    return con.execute(
        "SELECT version_id, valid_from FROM analyst.document_text_at(?, CAST(? AS TIMESTAMPTZ))",
        [document_id, as_of],
    ).fetchone()


def version_clauses(con: duckdb.DuckDBPyConnection, version_id: str) -> list[tuple]:
    """(clause id, ordinal, heading path, label, kind, text, sha256) in order."""
    return con.execute(
        "SELECT clause_id, ordinal, heading_path, label, kind, text, text_sha256 "
        "FROM clause_versions WHERE version_id = ? ORDER BY ordinal",
        [version_id],
    ).fetchall()


def clause_history(con: duckdb.DuckDBPyConnection, clause_id: str) -> list[tuple]:
    return con.execute(
        "SELECT version_id, valid_from, valid_to, heading, label, text, change, diff_text, "
        "categories FROM analyst.clause_history(?)",
        [clause_id],
    ).fetchall()


def version_changes(con: duckdb.DuckDBPyConnection, version_id: str) -> list[tuple]:
    """(kind, clause id, heading, readable diff) for the changes entering a version."""
    return con.execute(
        "SELECT kind, clause_id, heading, diff_text FROM analyst.changes "
        "WHERE to_version_id = ? ORDER BY kind, clause_id",
        [version_id],
    ).fetchall()


def last_digest_until(con: duckdb.DuckDBPyConnection) -> str | None:
    """The end of the window of the last completed digest run (ISO text), if any."""
    row = con.execute(
        "SELECT json_extract_string(parameters, '$.until') FROM runs "
        "WHERE flow = 'digest' AND status = 'completed' ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def digest_changes(con: duckdb.DuckDBPyConnection, since: object, until: object) -> list[tuple]:
    """The clause changes that took effect in [since, until), each with the
    labels of its old and new text: (platform, document id, document name,
    version id, changed_at, kind, clause id, heading, diff text, formatting
    only, categories, highest severity) in time, document and clause order."""
    return con.execute(
        """
        WITH window_ AS (
            SELECT * FROM analyst.changes WHERE changed_at >= ? AND changed_at < ?
        ),
        labelled AS (
            SELECT w.to_version_id, w.clause_id, l.category, l.severity
            FROM window_ w
            JOIN main.clause_versions cv ON cv.clause_id = w.clause_id
                 AND cv.version_id IN (w.to_version_id, w.from_version_id)
            JOIN main.clause_labels l ON l.text_sha256 = cv.text_sha256
        )
        SELECT w.platform_id, w.document_id, w.document_name, w.to_version_id, w.changed_at,
               w.kind, w.clause_id, w.heading, w.diff_text, w.is_formatting_only,
               coalesce(list(DISTINCT l.category ORDER BY l.category)
                        FILTER (WHERE l.category IS NOT NULL), []) AS categories,
               CASE max(CASE l.severity WHEN 'high' THEN 3 WHEN 'medium' THEN 2
                                        WHEN 'low' THEN 1 END)
                    WHEN 3 THEN 'high' WHEN 2 THEN 'medium' WHEN 1 THEN 'low' END AS severity
        FROM window_ w
        LEFT JOIN labelled l ON l.to_version_id = w.to_version_id AND l.clause_id = w.clause_id
        GROUP BY ALL
        ORDER BY w.changed_at, w.document_id, w.clause_id, w.kind
        """,
        [since, until],
    ).fetchall()
