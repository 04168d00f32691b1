"""`clausetrail serve`: run the scheduled deployments in this process.

The same schedules as prefect.yaml, served without a worker. Every
deployment writes to the one DuckDB file, so each is limited to one
concurrent run, and their times do not overlap.
"""

from __future__ import annotations

from prefect import serve

from flows.backfill import backfill
from flows.capture import capture
from flows.export import export
from flows.process import process
from flows.settings import Settings

SCHEDULES = {
    # name: (flow, cron in UTC)
    "daily-capture": (capture, "0 5 * * *"),
    "daily-process": (process, "30 5 * * *"),
    "weekly-backfill": (backfill, "0 1 * * 0"),
    "daily-export": (export, "0 7 * * *"),
}


def deployments(settings: Settings) -> list:
    """One deployment per schedule; the settings travel as a parameter."""
    params = {"settings": settings.model_dump(mode="json")}
    return [
        flow_.to_deployment(name=name, cron=cron, parameters=params, concurrency_limit=1)
        for name, (flow_, cron) in SCHEDULES.items()
    ]


def serve_all(settings: Settings) -> None:
    serve(*deployments(settings))
