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
    columns = [d[0] for d in cursor.description or []]
    return columns, cursor.fetchall()


def recorded_blobs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """Every raw hash the captures point to, with a Wayback digest where one was verified."""
    return con.execute(
        "SELECT raw_sha256, any_value(wayback_digest) FILTER (WHERE digest_check = 'verified') "
        "FROM captures WHERE raw_sha256 IS NOT NULL GROUP BY raw_sha256 ORDER BY raw_sha256"
    ).fetchall()
