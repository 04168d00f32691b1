"""Run the real backfill and process flows in a subprocess that a test can kill.

    python tests/crash_driver.py DATA_DIR SOURCES WAYBACK_BASE

runs `backfill` then `process` (live capture is left out: its capture times
are the clock's, so two runs could never be compared) against the archive at
WAYBACK_BASE, with rate limits off and one worker.

The flows' bodies are called with `.fn(...)`, and their tasks through their
`.fn` too (a thread pool stands in for `.submit`), so no Prefect server is
started: a cold Prefect start costs 10-20 s per process, which a test that
kills and restarts the run several times cannot afford. The code that runs
is the flows' own code; only Prefect's bookkeeping is left out.

Kill points (environment):
  CRASH_KILL_POINT  where to stop and wait to be killed:
                      download        after the Nth archived body is stored in
                                      the raw store, before its batch commits
                      blob            in the middle of the Nth blob write: the
                                      temporary file is written, not renamed
                      cursor          after the Nth batch of captures commits,
                                      before the page's cursor moves
                      extract         inside the Nth extraction transaction,
                                      after the rows are inserted, before COMMIT
                      version         inside the Nth version replace, after the
                                      old versions are deleted and the new ones
                                      inserted, before COMMIT
  CRASH_KILL_AT     N (default 1)
  CRASH_READY_FILE  written when the kill point is reached; the driver then
                    sleeps until it is killed
  CRASH_BATCH       captures per committed batch (default: the flow's BATCH)

It also holds `table_digests`, the comparison the crash tests use.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Columns that legitimately differ between two runs of the same work: run
# ids, and the times a row was fetched, processed or written. Everything
# else must be identical.
VOLATILE_COLUMNS: dict[str, set[str]] = {
    "schema_migrations": {"applied_at"},
    "view_state": {"created_at"},
    "documents": {"first_tracked_at", "last_verified_at"},
    "captures": {"fetched_at", "run_id", "confirmed_at"},
    "extractions": {"extracted_at"},
    "document_state": {"built_at"},
    "process_state": {"recorded_at", "watermark"},  # the watermark holds a fetch time
    "problems": {"run_id", "recorded_at"},
    "clause_ledger": {"issued_at"},
    "backfill_cursors": {"updated_at", "run_id"},
}
# Tables left out of the comparison: `runs` is one row per run, by design.
SKIPPED_TABLES = {"runs"}


def table_digests(database: Path, skip: set[str] = frozenset()) -> dict[str, tuple[int, str]]:
    """(row count, SHA-256 of the sorted content rows) of every base table."""
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        tables = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1"
            ).fetchall()
        ]
        out = {}
        for table in tables:
            if table in SKIPPED_TABLES or table in skip:
                continue
            columns = [
                row[0]
                for row in con.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                if row[0] not in VOLATILE_COLUMNS.get(table, set())
            ]
            # a table whose every column is volatile compares by its row count
            listed = ", ".join(f'"{c}"' for c in columns) or "1"
            rows = con.execute(f"SELECT {listed} FROM {table} ORDER BY ALL").fetchall()
            digest = hashlib.sha256()
            for row in rows:
                digest.update(repr(row).encode())
                digest.update(b"\n")
            out[table] = (len(rows), digest.hexdigest())
        return out
    finally:
        con.close()


# ---------------------------------------------------------------- kill points


class _KillPoint:
    def __init__(self) -> None:
        self.name = os.environ.get("CRASH_KILL_POINT", "")
        self.at = int(os.environ.get("CRASH_KILL_AT", "1"))
        self.ready = os.environ.get("CRASH_READY_FILE")
        self.seen = 0
        self.lock = threading.Lock()

    def reached(self, name: str) -> None:
        """Count a passage through `name`; at the Nth, signal and wait to be killed."""
        if name != self.name:
            return
        with self.lock:
            self.seen += 1
            hit = self.seen == self.at
        if not hit:
            return
        if self.ready:
            # written whole, then renamed: the test kills this process as soon
            # as the file exists, which could be before a plain write's content
            ready = Path(self.ready)
            part = ready.with_name(ready.name + ".part")
            part.write_text(f"{os.getpid()} {name} {self.at}\n")
            os.replace(part, ready)
        while True:  # until SIGKILL
            time.sleep(60)


def _unquoted(fn):  # type: ignore[no-untyped-def]
    """A task body that takes its arguments as Prefect would hand them over.

    The flows wrap large arguments in `quote` (no introspection); Prefect
    unwraps them before calling the task, and so does this.
    """
    from prefect.utilities.annotations import quote

    def call(*args):  # type: ignore[no-untyped-def]
        return fn(*(a.unquote() if isinstance(a, quote) else a for a in args))

    return call


def _install(kill: _KillPoint) -> None:
    """Route the flows' tasks to their bodies and hook the kill points in."""
    import flows.backfill as backfill_mod
    import flows.process as process_mod
    import warehouse.load as load_mod
    import warehouse.rawstore as rawstore_mod
    from warehouse import cursors

    if os.environ.get("CRASH_BATCH"):
        backfill_mod.BATCH = int(os.environ["CRASH_BATCH"])
    # one document per version transaction, so "the Nth version replace" is
    # the Nth document, as the kill points say
    process_mod.DOCUMENT_BATCH = 1

    pool = ThreadPoolExecutor(max_workers=4)
    fetch = backfill_mod.fetch_archived.fn

    def fetch_and_maybe_stop(client, raw, record):  # type: ignore[no-untyped-def]
        result = fetch(client, raw, record)
        if result.fetched is not None:
            kill.reached("download")
        return result

    class _Submitter:
        @staticmethod
        def submit(*args):  # type: ignore[no-untyped-def]
            return pool.submit(fetch_and_maybe_stop, *args)

    backfill_mod.fetch_archived = _Submitter()
    process_mod.extract_pending = _unquoted(process_mod.extract_pending.fn)
    process_mod.rebuild_versions = _unquoted(process_mod.rebuild_versions.fn)
    # the bodies need no Prefect client: making one would start Prefect's
    # ephemeral server, which a SIGKILL of this process leaves running
    process_mod.shared_client = nullcontext

    real_replace = os.replace

    class _Os:
        """`os` as the raw store sees it, with a pause between write and rename."""

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(os, name)

        @staticmethod
        def replace(src, dst):  # type: ignore[no-untyped-def]
            kill.reached("blob")
            return real_replace(src, dst)

    rawstore_mod.os = _Os()

    real_insert = load_mod._insert

    def insert(con, table, arrow, **kwargs):  # type: ignore[no-untyped-def]
        real_insert(con, table, arrow, **kwargs)
        if table == "extractions":
            kill.reached("extract")
        elif table == "version_captures":
            kill.reached("version")

    load_mod._insert = insert

    real_advance = cursors.advance_cursor

    def advance(*args, **kwargs):  # type: ignore[no-untyped-def]
        kill.reached("cursor")
        return real_advance(*args, **kwargs)

    cursors.advance_cursor = advance


def main(argv: list[str]) -> int:
    data_dir, sources, base = argv
    sys.path.insert(0, str(ROOT))
    from flows.settings import Settings

    _install(_KillPoint())
    from flows.backfill import backfill
    from flows.process import process

    settings = Settings(
        data_dir=Path(data_dir),
        sources=Path(sources),
        wayback_base=base,
        cdx_per_second=0,
        replay_per_second=0,
        backoff_seconds=0.01,
        workers=1,
        progress=False,
    )
    print("backfill", backfill.fn(settings), flush=True)
    print("process", process.fn(settings), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
