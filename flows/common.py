"""What every flow opens once and passes down: settings, registry, warehouse,
raw store, clients, and the run's lineage row."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import duckdb
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from flows.client import WAYBACK, ArchiveClient, LiveClient, PywbApi, RateLimiter
from flows.settings import Settings, load_registry
from flows.signals import stop_if_signalled
from transforms.records import DocumentSpec
from warehouse import load
from warehouse.db import open_warehouse
from warehouse.rawstore import RawStore

log = logging.getLogger("clausetrail")
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Run:
    """One flow run's handles. Flows write through `con` from one thread."""

    settings: Settings
    flow: str
    run_id: str
    con: duckdb.DuckDBPyConnection
    raw: RawStore
    specs: tuple[DocumentSpec, ...]
    document_ids: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)
    next_clause_number: int | None = None  # the next free P- number, once read

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def live_client(self) -> LiveClient:
        s = self.settings
        return LiveClient(
            user_agent=s.user_agent,
            timeout=(s.connect_timeout, s.read_timeout),
            max_bytes=s.max_bytes,
            proxy=s.live_proxy,
            max_attempts=s.max_attempts,
            backoff=s.backoff_seconds,
            max_wait=s.max_wait_seconds,
        )

    def archive_client(self) -> ArchiveClient:
        s = self.settings
        return ArchiveClient(
            base_url=s.wayback_base,
            user_agent=s.user_agent,
            timeout=(s.connect_timeout, s.read_timeout),
            cdx_limiter=RateLimiter(s.cdx_per_second),
            replay_limiter=RateLimiter(s.replay_per_second),
            max_bytes=s.max_bytes,
            max_attempts=s.max_attempts,
            backoff=s.backoff_seconds,
            max_wait=s.max_wait_seconds,
            api=(
                WAYBACK
                if s.archive_api == "wayback"
                # the settings refuse pywb without a collection; PywbApi refuses "" too
                else PywbApi(s.archive_collection or "", s.archive_cdx_endpoint or "/cdx")
            ),
        )

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        """Iterate with a progress bar on a terminal, plainly otherwise; stop
        before the next item after a Ctrl-C or SIGTERM (`flows.signals`)."""
        if not (self.settings.progress and sys.stderr.isatty()):
            for item in items:
                stop_if_signalled()
                yield item
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, transient=True) as progress:
            task = progress.add_task(description, total=total)
            for item in items:
                stop_if_signalled()
                yield item
                progress.advance(task)


@contextmanager
def open_run(settings: Settings, flow: str, parameters: dict[str, object]) -> Iterator[Run]:
    """Open the warehouse, sync the registry and record the run; close it on exit."""
    stop_if_signalled()  # no flow starts after a stop signal, even one that was swallowed
    specs = load_registry(settings.sources)
    con = open_warehouse(settings.database, wait_seconds=settings.lock_wait_seconds)
    try:
        run_id = f"{flow}-{utcnow():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        load.start_run(con, run_id, flow, utcnow(), parameters)
        document_ids = load.sync_registry(con, specs, utcnow())
        run = Run(settings, flow, run_id, con, RawStore(settings.raw_dir), specs, document_ids)
        run.raw.remove_partials()
        try:
            yield run
        except BaseException as err:
            load.finish_run(
                con, run_id, utcnow(), "failed", run.counts, f"{type(err).__name__}: {err}"
            )
            raise
        status = "stopped" if run.counts.get("stopped") else "completed"
        load.finish_run(con, run_id, utcnow(), status, run.counts, None)
    finally:
        con.close()
