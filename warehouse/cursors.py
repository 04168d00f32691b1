"""Backfill cursors: where each page's Wayback backfill stopped, and when the
archive asked us to come back.

A cursor is one row of `backfill_cursors` per original URL. `cursor_at` is
the last capture of the prefix of the archive's listing (counted from
`listed_from`, NULL = the beginning) whose every capture is recorded with its
bytes. The next backfill lists the archive from `cursor_at` instead of from
the beginning. The flow moves a cursor only after the captures behind it are
committed, in a later transaction: a kill in between leaves the cursor
behind, never ahead, and a cursor behind costs a longer listing, not a
download (captures already recorded are skipped by timestamp).

`retry_after` is set when the archive refused us; until that time the
backfill does not call the archive at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

__all__ = [
    "Cursor",
    "Resume",
    "advance_cursor",
    "archive_wait",
    "clear_refusal",
    "get_cursor",
    "record_refusal",
    "resume_from",
    "wayback_timestamp",
]

_COLUMNS = "original_url, document_id, listed_from, cursor_at, retry_after, refusal"


@dataclass(frozen=True, slots=True)
class Cursor:
    original_url: str
    document_id: str
    listed_from: str | None
    cursor_at: datetime | None
    retry_after: datetime | None
    refusal: str | None


@dataclass(frozen=True, slots=True)
class Resume:
    """How to list one page: the `from` to ask the archive, and the range it counts from."""

    from_: str | None  # the CDX `from` parameter (inclusive)
    listed_from: str | None  # the range a cursor advanced by this listing belongs to
    is_resumed: bool  # True when the stored cursor was used


def wayback_timestamp(moment: datetime) -> str:
    """14-digit UTC Wayback timestamp."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def _key(prefix: str | None) -> str:
    """A Wayback timestamp prefix made comparable: '2023' -> '20230000000000'."""
    return (prefix or "").ljust(14, "0")


def resume_from(cursor: Cursor | None, from_: str | None) -> Resume:
    """Where to start listing a page asked `from_`, given its stored cursor.

    The cursor applies when the range it counts from starts no later than the
    one asked for, and it has moved past the asked start: then the listing
    starts at the cursor's own capture (the archive's `from` is inclusive).
    Otherwise the page is listed from `from_` and a new cursor begins there.
    """
    if cursor is not None and cursor.cursor_at is not None:
        at = wayback_timestamp(cursor.cursor_at)
        if _key(cursor.listed_from) <= _key(from_) <= at:
            return Resume(at, cursor.listed_from, True)
    return Resume(from_, from_, False)


def get_cursor(con: duckdb.DuckDBPyConnection, url: str) -> Cursor | None:
    row = con.execute(
        f"SELECT {_COLUMNS} FROM backfill_cursors WHERE original_url = ?", [url]
    ).fetchone()
    return Cursor(*row) if row else None


def advance_cursor(
    con: duckdb.DuckDBPyConnection,
    url: str,
    document_id: str,
    listed_from: str | None,
    cursor_at: datetime,
    *,
    run_id: str,
    now: datetime,
) -> None:
    """Move a page's cursor to `cursor_at` (never backwards within one range).

    Call only after every capture up to `cursor_at` is committed. A cursor
    for a different range (`listed_from`) is replaced.
    """
    con.execute(
        "INSERT INTO backfill_cursors "
        "(original_url, document_id, listed_from, cursor_at, retry_after, refusal, updated_at, run_id) "
        "VALUES (?, ?, ?, ?, NULL, NULL, ?, ?) "
        "ON CONFLICT (original_url) DO UPDATE SET "
        "  cursor_at = CASE "
        "    WHEN backfill_cursors.listed_from IS NOT DISTINCT FROM excluded.listed_from "
        "    THEN greatest(coalesce(backfill_cursors.cursor_at, excluded.cursor_at), excluded.cursor_at) "
        "    ELSE excluded.cursor_at END, "
        "  listed_from = excluded.listed_from, "
        "  document_id = excluded.document_id, "
        "  updated_at = excluded.updated_at, "
        "  run_id = excluded.run_id",
        [url, document_id, listed_from, cursor_at, now, run_id],
    )


def record_refusal(
    con: duckdb.DuckDBPyConnection,
    url: str,
    document_id: str,
    retry_after: datetime | None,
    message: str,
    *,
    run_id: str,
    now: datetime,
) -> None:
    """The archive refused while this page was backfilled: remember until when."""
    con.execute(
        "INSERT INTO backfill_cursors "
        "(original_url, document_id, listed_from, cursor_at, retry_after, refusal, updated_at, run_id) "
        "VALUES (?, ?, NULL, NULL, ?, ?, ?, ?) "
        "ON CONFLICT (original_url) DO UPDATE SET "
        "  retry_after = excluded.retry_after, refusal = excluded.refusal, "
        "  updated_at = excluded.updated_at, run_id = excluded.run_id",
        [url, document_id, retry_after or now, message, now, run_id],
    )


def clear_refusal(
    con: duckdb.DuckDBPyConnection, url: str | None = None, *, run_id: str, now: datetime
) -> None:
    """Forget a refusal (of one page, or of every page when `url` is None)."""
    sql = (
        "UPDATE backfill_cursors SET retry_after = NULL, refusal = NULL, updated_at = ?, "
        "run_id = ? WHERE retry_after IS NOT NULL"
    )
    if url is None:
        con.execute(sql, [now, run_id])
    else:
        con.execute(sql + " AND original_url = ?", [now, run_id, url])


def archive_wait(con: duckdb.DuckDBPyConnection, now: datetime) -> Cursor | None:
    """The refusal that still holds at `now` (the latest retry_after), if any.

    The archive limits by client, not by page: one refusal holds for all.
    """
    row = con.execute(
        f"SELECT {_COLUMNS} FROM backfill_cursors WHERE retry_after > ? "
        "ORDER BY retry_after DESC, original_url LIMIT 1",
        [now],
    ).fetchone()
    return Cursor(*row) if row else None
