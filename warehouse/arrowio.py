"""Bulk inserts through Arrow (no row-by-row loads)."""

from __future__ import annotations

import duckdb
import pyarrow as pa


def insert_arrow(
    con: duckdb.DuckDBPyConnection, table: str, arrow: pa.Table, *, or_ignore: bool = True
) -> None:
    """Insert an Arrow table's columns into `table` (table names are ours, not input)."""
    if arrow.num_rows == 0:
        return
    columns = ", ".join(arrow.column_names)
    verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
    con.register("_incoming", arrow)
    try:
        con.execute(f"{verb} INTO {table} ({columns}) SELECT {columns} FROM _incoming")
    finally:
        con.unregister("_incoming")
