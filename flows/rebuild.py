"""`rebuild`: re-derive every derived table from the raw store into a fresh database.

The fresh database is seeded with what was observed and issued (documents,
captures, the clause-id ledger); the process flow then re-extracts every
body from the raw store and rebuilds versions, clauses and changes. The
result is compared with the current database table by table.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from prefect import flow

from flows.process import process
from flows.settings import Settings
from warehouse.db import WarehouseError, open_warehouse
from warehouse.rebuild import compare, seed


def _check_target(new: Path, old: Path) -> None:
    """The rebuild deletes its target first: refuse the current database and
    any file that is not a DuckDB database (an earlier rebuild is one)."""
    if new.exists() and old.exists() and new.resolve() == old.resolve():
        raise WarehouseError(
            f"cannot rebuild into {new}: it is the current database; give another --out "
            "(use --replace to swap the rebuilt database in)"
        )
    if new.is_dir():
        raise WarehouseError(f"cannot rebuild into {new}: it is a folder; give a file name")
    if new.exists():
        with new.open("rb") as handle:
            is_duckdb = handle.read(12)[8:12] == b"DUCK"
        if not is_duckdb:
            raise WarehouseError(
                f"cannot rebuild into {new}: it exists and is not a DuckDB database"
            )


@flow(name="rebuild")
def rebuild(
    settings: Settings | None = None, out: str | None = None, replace: bool = False
) -> dict[str, object]:
    """Rebuild into `out` (default <data_dir>/rebuild/clausetrail.duckdb) and compare.

    With `replace`, and only when every derived table came out identical,
    the rebuilt file takes the current one's place (the old one is kept as
    clausetrail.duckdb.bak).
    """
    settings = settings or Settings.from_env()
    old = settings.database
    new = Path(out) if out else settings.data_dir / "rebuild" / "clausetrail.duckdb"
    _check_target(new, old)
    new.parent.mkdir(parents=True, exist_ok=True)
    new.unlink(missing_ok=True)
    con = open_warehouse(new)
    try:
        seeded = seed(con, old)
    finally:
        con.close()
    counts = process(settings.model_copy(update={"database_file": new}))
    con = open_warehouse(new)
    try:
        comparisons = compare(con, old)
    finally:
        con.close()
    same = all(c.same for c in comparisons)
    replaced = False
    if replace and same:
        shutil.copy2(old, old.with_name(old.name + ".bak"))
        shutil.move(new, old)
        replaced = True
    return {
        "database": str(new),
        "seeded": seeded,
        "process": counts,
        "identical": same,
        "replaced": replaced,
        "tables": [
            {
                "table": c.table,
                "rows_old": c.rows_old,
                "rows_new": c.rows_new,
                "only_old": c.only_old,
                "only_new": c.only_new,
            }
            for c in comparisons
        ],
    }
