"""`export`: write the tables of `warehouse.export.EXPORTS` to Parquet, hive-partitioned
by platform."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.common import open_run, utcnow
from flows.settings import Settings
from warehouse.export import export_parquet


@flow(name="export")
def export(settings: Settings | None = None, out: str | None = None) -> dict[str, object]:
    """Export the warehouse to `out` (default: <data_dir>/export)."""
    settings = settings or Settings.from_env()
    out_dir = Path(out) if out else settings.export_dir
    with open_run(settings, "export", {"out": str(out_dir)}) as run:
        result = export_parquet(run.con, out_dir, created_at=utcnow())
        run.count("files", result.files)
        return {
            "out": str(result.out_dir),
            "files": result.files,
            "rows": result.rows,
            "manifest": str(result.manifest),
        }
