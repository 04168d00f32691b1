"""Bulk inserts through Arrow (no row-by-row loads)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress

import duckdb
import pyarrow as pa


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, arrow: pa.Table) -> Iterator[None]:
    """`arrow` readable as the relation `name` inside the block.

    DuckDB refuses to register or unregister while a result of `execute` is
    unread (a `fetchone` leaves one), so such a result is run to its end
    first, before and after the block.
    """
    con.complete()
    con.register(name, arrow)
    try:
        yield
    except BaseException:
        # an aborted transaction refuses the clean-up too ("Current transaction
        # is aborted"); the block's own exception (a Ctrl-C inside the insert,
        # a constraint) is the one to report, not that
        with suppress(duckdb.Error):
            con.complete()
            con.unregister(name)
        raise
    con.complete()
    con.unregister(name)


def insert_arrow(
    con: duckdb.DuckDBPyConnection,
    table: str,
    arrow: pa.Table,
    *,
    or_ignore: bool = True,
    computed: Mapping[str, str] | None = None,
) -> None:
    """Insert an Arrow table's columns into `table`, and the `computed` columns
    (name -> SQL expression over the Arrow columns); table names and
    expressions are ours, not input."""
    if arrow.num_rows == 0:
        return
    computed = computed or {}
    columns = ", ".join([*computed, *arrow.column_names])
    values = ", ".join([*computed.values(), *arrow.column_names])
    verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
    with registered(con, "_incoming", arrow):
        con.execute(f"{verb} INTO {table} ({columns}) SELECT {values} FROM _incoming")
