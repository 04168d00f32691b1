"""`clausetrail serve`: run the scheduled deployments in this process.

The same schedules as prefect.yaml, served without a worker. Every
deployment writes to the one DuckDB file, so each is limited to one
concurrent run, their times do not overlap, and a run that finds the file
held by another (a backfill running late) waits for it up to
`SCHEDULED_LOCK_WAIT` seconds instead of failing.
"""

from __future__ import annotations

from prefect import serve

from flows.backfill import backfill
from flows.capture import capture
from flows.digest import digest
from flows.export import export
from flows.process import process
from flows.settings import Settings

SCHEDULED_LOCK_WAIT = 6 * 3600  # the same as CLAUSETRAIL_LOCK_WAIT_SECONDS in prefect.yaml

SCHEDULES = {
    # name: (flow, cron in UTC)
    "daily-capture": (capture, "0 5 * * *"),
    "daily-process": (process, "30 5 * * *"),
    "weekly-backfill": (backfill, "0 1 * * 0"),
    "daily-export": (export, "0 7 * * *"),
    "daily-digest": (digest, "30 7 * * *"),
}


def deployments(settings: Settings) -> list:
    """One deployment per schedule; the settings travel as a parameter (with
    `SCHEDULED_LOCK_WAIT` unless the settings name a wait of their own)."""
    if "lock_wait_seconds" not in settings.model_fields_set:
        settings = settings.model_copy(update={"lock_wait_seconds": SCHEDULED_LOCK_WAIT})
    params = {"settings": settings.model_dump(mode="json")}
    return [
        flow_.to_deployment(name=name, cron=cron, parameters=params, concurrency_limit=1)
        for name, (flow_, cron) in SCHEDULES.items()
    ]


def serve_all(settings: Settings, *, announce: bool = True) -> None:
    """Serve every deployment until stopped; `announce` prints Prefect's own
    start message (its Prefect UI link is wrong for a server without a UI)."""
    serve(*deployments(settings), print_starting_message=announce)


def schedule_lines(api_url: str) -> list[str]:
    """What `serve` prints of its deployments when it runs its own server:
    each with its schedule, and how to start one now from another terminal."""
    lines = [
        f"  {flow_.name}/{name}  (cron {cron}, UTC)" for name, (flow_, cron) in SCHEDULES.items()
    ]
    lines.append(
        f"start one now from another terminal: PREFECT_API_URL={api_url} "
        "prefect deployment run FLOW/DEPLOYMENT"
    )
    return lines
