"""`track`: the whole job: live capture, Wayback backfill, processing, export, digest."""

from __future__ import annotations

from prefect import flow

from flows.backfill import backfill
from flows.capture import capture
from flows.digest import digest
from flows.export import export
from flows.process import process
from flows.settings import Settings


@flow(name="track")
def track(
    settings: Settings | None = None,
    from_: str | None = None,
    to: str | None = None,
    live: bool = True,
    wayback: bool = True,
    export_parquet: bool = True,
) -> dict[str, dict]:
    """Capture, backfill, process, export and write the digest; each step's counts
    are returned."""
    settings = settings or Settings.from_env()
    summary: dict[str, dict] = {}
    if live:
        summary["capture"] = capture(settings)
    if wayback:
        summary["backfill"] = backfill(settings, from_=from_, to=to)
    summary["process"] = process(settings)
    if export_parquet:
        summary["export"] = export(settings)
    written = digest(settings)
    summary["digest"] = {k: written[k] for k in ("path", "since", "until", "changes", "documents")}
    return summary
