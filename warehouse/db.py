"""The DuckDB file: opening it, migrating it, and the warehouse's errors.

DuckDB allows one writer process at a time. `open_warehouse` turns DuckDB's
lock error into a `WarehouseLocked` that names the process holding the file
(after waiting up to `wait_seconds` for it to let go); readers open it
read-only.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb

log = logging.getLogger("clausetrail")


class WarehouseError(Exception):
    """Base of the warehouse's errors."""


class WarehouseLocked(WarehouseError):
    """Another process holds the write lock on the DuckDB file."""

    def __init__(self, path: Path, holder: str | None, cause: str, waited: float = 0.0):
        self.path = path
        self.holder = holder
        who = f"process {holder}" if holder else "another process"
        after = f" (still, after waiting {waited:.0f} s)" if waited else ""
        super().__init__(
            f"{path} is open for writing by {who}{after}. DuckDB allows one writer at a time: "
            f"wait for that run to finish, or query the Parquet export instead. ({cause})"
        )


class WarehouseMissing(WarehouseError):
    """A read-only open of a database file that does not exist yet."""


@dataclass(frozen=True, slots=True)
class Migration:
    number: int
    name: str
    sql: str


@functools.cache  # files of the package: read once per process
def migrations() -> tuple[Migration, ...]:
    """Every numbered migration shipped with the package, in order."""
    found = []
    for entry in resources.files("warehouse").joinpath("migrations").iterdir():
        match = re.match(r"^(\d{3})_(\w+)\.sql$", entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return tuple(sorted(found, key=lambda m: m.number))


@functools.cache
def views_sql() -> tuple[tuple[str, str], ...]:
    """The analyst views, (file name, SQL), in file-name order."""
    folder = resources.files("warehouse").joinpath("views")
    entries = sorted((e for e in folder.iterdir() if e.name.endswith(".sql")), key=lambda e: e.name)
    return tuple((e.name, e.read_text(encoding="utf-8")) for e in entries)


LOCK_POLL_SECONDS = (0.5, 10.0)  # the first and the longest pause between tries


class Warehouse:
    """A writer's open warehouse file: a DuckDB connection (every method of
    one is here) whose `close` detaches the file.

    Each process has one DuckDB instance for its writers (`_instance`); a
    warehouse file is attached to it under a name of its own and made the
    connection's default database, so SQL names its tables as ever. DuckDB
    builds the catalog of its built-in functions for every instance it
    creates: an open as an instance of its own cost about 25 ms here, an
    ATTACH about 3 ms, which counts in a run with nothing to do
    (`clausetrail serve` runs many in one process). Closing the last
    connection to a file detaches it, which checkpoints it and releases its
    lock, as closing an instance did; a transaction left open is rolled back
    first.
    """

    def __init__(self, cursor: duckdb.DuckDBPyConnection, key: str) -> None:
        self._cursor = cursor
        self._key = key

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._cursor, name)

    def __del__(self) -> None:
        # a connection dropped without close (an error path) lets the file go
        # when it is collected, as a DuckDB connection does
        with suppress(Exception):
            self.close()

    def close(self) -> None:
        cursor, self._cursor = self._cursor, None  # type: ignore[assignment]
        if cursor is None:
            return  # closed already
        try:
            with suppress(duckdb.Error):  # "no transaction is active"
                cursor.execute("ROLLBACK")
            cursor.execute("USE memory")
            _release(cursor, self._key)
        finally:
            cursor.close()


_INSTANCE: duckdb.DuckDBPyConnection | None = None
# resolved path -> [the name it is attached under, connections open]
_ATTACHED: dict[str, list] = {}
_NAMES = itertools.count(1)
_GUARD = threading.RLock()  # reentrant: a collected connection closes itself (`__del__`)


def _instance() -> duckdb.DuckDBPyConnection:
    global _INSTANCE
    if _INSTANCE is None:
        _INSTANCE = duckdb.connect(":memory:")
        # an instance that outlives the files it attached keeps the memory
        # they used until something allocates again; jemalloc's background
        # threads hand it back to the system within seconds (DuckDB's advice
        # since DETACH stopped flushing). Without them, the process held
        # 60-100 MB more between corpus runs.
        _INSTANCE.execute("SET allocator_background_threads = true")
    return _INSTANCE


def _attach(path: Path) -> Warehouse:
    """A writer's connection with `path` attached and in use (`Warehouse`)."""
    key = str(path.resolve())
    with _GUARD:
        cursor = _instance().cursor()
        try:
            held = _ATTACHED.get(key)
            if held is None:
                name = f"warehouse_{next(_NAMES)}"
                cursor.execute(f"ATTACH '{key.replace(chr(39), chr(39) * 2)}' AS {name}")
                held = _ATTACHED[key] = [name, 0]
            cursor.execute(f"USE {held[0]}")
            held[1] += 1
        except BaseException:
            cursor.close()
            raise
    return Warehouse(cursor, key)


def _release(cursor: duckdb.DuckDBPyConnection, key: str) -> None:
    with _GUARD:
        held = _ATTACHED[key]
        held[1] -= 1
        if held[1] == 0:
            del _ATTACHED[key]
            cursor.execute(f"DETACH {held[0]}")


def open_warehouse(
    path: Path, *, read_only: bool = False, wait_seconds: float = 0.0
) -> duckdb.DuckDBPyConnection | Warehouse:
    """Open the DuckDB file; a writer also migrates it and (re)creates the views
    when their text changed (`create_views`).

    While another process holds the file, the open is tried again for up to
    `wait_seconds` (pauses doubling from half a second to ten), then fails
    with `WarehouseLocked`; 0 fails at once.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseMissing(
            f"{path} does not exist yet: run `clausetrail run` or `clausetrail demo` first"
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    pause, longest = LOCK_POLL_SECONDS
    while True:
        try:
            # a reader opens an instance of its own, as settings it makes
            # (the `sql` command turns file access off) are the instance's
            con = duckdb.connect(str(path), read_only=True) if read_only else _attach(path)
            break
        except duckdb.IOException as err:
            message = str(err)
            if "lock" not in message.lower():
                raise WarehouseError(f"cannot open {path}: {message}") from err
            found = re.search(r"PID (\d+)", message)
            holder = found[1] if found else None
            waited = time.monotonic() - started
            if waited >= wait_seconds:
                shown = waited if wait_seconds else 0.0
                raise WarehouseLocked(path, holder, message, shown) from err
            if pause == LOCK_POLL_SECONDS[0]:
                who = f"process {holder}" if holder else "another process"
                log.warning(
                    "%s is open for writing by %s; waiting up to %.0f s for it to finish",
                    path,
                    who,
                    wait_seconds,
                )
            time.sleep(min(pause, wait_seconds - waited))
            pause = min(2 * pause, longest)
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        migrate(con)
        create_views(con)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN, then COMMIT, or ROLLBACK when the block raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations not yet recorded; each in its own transaction."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " number INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    done = {row[0] for row in con.execute("SELECT number FROM schema_migrations").fetchall()}
    applied = []
    for migration in migrations():
        if migration.number in done:
            continue
        with transaction(con):
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [migration.number, migration.name, datetime.now(UTC)],
            )
        applied.append(migration.number)
    return applied


def create_views(con: duckdb.DuckDBPyConnection, *, force: bool = False) -> bool:
    """(Re)create the analyst schema's views and macros from warehouse/views.

    Skipped when the file already holds these views (`view_state` records
    the hash of their text); returns whether they were created.
    """
    views = views_sql()
    digest = hashlib.sha256()
    for name, sql in views:
        digest.update(f"{name}\0{sql}\0".encode())
    sha = digest.hexdigest()
    held = con.execute("SELECT views_sha256 FROM view_state").fetchall()
    if not force and held == [(sha,)]:
        return False
    with transaction(con):
        con.execute("CREATE SCHEMA IF NOT EXISTS analyst")
        for _name, sql in views:
            con.execute(sql)
        con.execute("DELETE FROM view_state")
        con.execute("INSERT INTO view_state VALUES (?, ?)", [sha, datetime.now(UTC)])
    return True
