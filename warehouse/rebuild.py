"""Rebuild: a fresh database seeded with what is not derived, to re-derive the rest.

Captures (what was observed, with the bytes in the raw store), documents
(their issued ids), the clause-id ledger, and capture-time problems are
inputs; everything else (extractions, texts, versions, clauses, changes, labels) is
re-derived by the process flow. `compare` then checks that the derived
tables came out the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

SEEDED = ("platforms", "documents", "captures", "clause_ledger")
# derived tables and the columns that identify their content
COMPARED = {
    "versions": "version_id, document_id, text_sha256, valid_from, valid_to, capture_count",
    "version_captures": "version_id, capture_id",
    "clause_versions": "clause_id, version_id, ordinal, text_sha256",
    "changes": "change_id, clause_id, kind, from_version_id, to_version_id",
    "clauses": "clause_id, document_id, first_seen_at, is_current",
    "clause_labels": "text_sha256, category, severity, rule, matched, taxonomy",
}


@dataclass(frozen=True, slots=True)
class TableComparison:
    table: str
    rows_old: int
    rows_new: int
    only_old: int
    only_new: int

    @property
    def same(self) -> bool:
        return self.only_old == 0 and self.only_new == 0


def seed(con: duckdb.DuckDBPyConnection, old_database: Path) -> dict[str, int]:
    """Copy the non-derived tables of `old_database` into the (migrated, empty) `con`."""
    con.execute(f"ATTACH '{_literal(old_database)}' AS src (READ_ONLY)")
    try:
        counts = {}
        con.execute("BEGIN TRANSACTION")
        for table in SEEDED:
            con.execute(f"INSERT INTO main.{table} SELECT * FROM src.{table}")
            counts[table] = con.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0]
        con.execute(
            "INSERT INTO main.problems SELECT * FROM src.problems WHERE stage IN ('cdx', 'fetch')"
        )
        con.execute("COMMIT")
    finally:
        con.execute("DETACH src")
    return counts


def compare(con: duckdb.DuckDBPyConnection, old_database: Path) -> list[TableComparison]:
    """Row-set differences between the derived tables here and in `old_database`."""
    con.execute(f"ATTACH '{_literal(old_database)}' AS src (READ_ONLY)")
    try:
        out = []
        for table, columns in COMPARED.items():
            old = f"SELECT {columns} FROM src.{table}"
            new = f"SELECT {columns} FROM main.{table}"
            out.append(
                TableComparison(
                    table,
                    con.execute(f"SELECT count(*) FROM ({old})").fetchone()[0],
                    con.execute(f"SELECT count(*) FROM ({new})").fetchone()[0],
                    con.execute(f"SELECT count(*) FROM ({old} EXCEPT ALL {new})").fetchone()[0],
                    con.execute(f"SELECT count(*) FROM ({new} EXCEPT ALL {old})").fetchone()[0],
                )
            )
        return out
    finally:
        con.execute("DETACH src")


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")
