"""Parquet export: the tables in `EXPORTS`, hive-partitioned by platform, with a manifest.

The bookkeeping tables (extractions, clause_ledger, backfill_cursors,
document_state, schema_migrations, view_state) are not exported; the texts
are, inside `versions.text`.

The export is written into a staging folder next to the target and swapped
in at the end, so readers never see half an export. `manifest.json` lists
every file with its row count and SHA-256, so a dataset can be cited and
checked.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from warehouse.db import WarehouseError


class ExportRefused(WarehouseError):
    """The export target is not a folder the export may replace."""


# table name -> SELECT giving its rows with a platform_id column to partition by
EXPORTS: dict[str, str] = {
    "platforms": "SELECT * FROM platforms",
    "documents": "SELECT * FROM documents",
    "captures": ("SELECT c.*, d.platform_id FROM captures c JOIN documents d USING (document_id)"),
    "versions": (
        "SELECT v.*, t.text, d.platform_id FROM versions v "
        "JOIN documents d USING (document_id) JOIN texts t USING (text_sha256)"
    ),
    "version_captures": (
        "SELECT vc.*, d.platform_id FROM version_captures vc "
        "JOIN versions v USING (version_id) JOIN documents d USING (document_id)"
    ),
    "clauses": ("SELECT c.*, d.platform_id FROM clauses c JOIN documents d USING (document_id)"),
    "clause_versions": (
        "SELECT cv.*, d.platform_id FROM clause_versions cv JOIN documents d USING (document_id)"
    ),
    "changes": ("SELECT ch.*, d.platform_id FROM changes ch JOIN documents d USING (document_id)"),
    "problems": (
        "SELECT p.*, coalesce(d.platform_id, '_none') AS platform_id FROM problems p "
        "LEFT JOIN documents d USING (document_id)"
    ),
}
# clause labels belong to clause texts, which documents of several platforms can share
UNPARTITIONED: dict[str, str] = {
    "runs": "SELECT * FROM runs",
    "clause_labels": "SELECT * FROM clause_labels",
}


@dataclass(frozen=True, slots=True)
class ExportResult:
    out_dir: Path
    rows: dict[str, int]
    files: int
    manifest: Path


def export_parquet(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    *,
    created_at: datetime,
    extra_tables: dict[str, str] | None = None,
) -> ExportResult:
    """Write every table of `EXPORTS` under `out_dir` and return what was written."""
    out_dir = Path(out_dir).resolve()
    _check_target(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    rows: dict[str, int] = {}
    tables = {**EXPORTS, **(extra_tables or {})}
    for name, select in tables.items():
        target = staging / name
        # COPY answers with the number of rows it wrote
        rows[name] = con.execute(
            f"COPY ({select}) TO '{_quote(target)}' "
            "(FORMAT parquet, PARTITION_BY (platform_id), FILENAME_PATTERN 'part-{i}')"
        ).fetchone()[0]
        if rows[name] == 0:
            # An empty table still gets a file, so readers find its schema.
            target.mkdir(exist_ok=True)
            con.execute(f"COPY ({select}) TO '{_quote(target / 'empty.parquet')}' (FORMAT parquet)")
    for name, select in UNPARTITIONED.items():
        (staging / name).mkdir()
        rows[name] = con.execute(
            f"COPY ({select}) TO '{_quote(staging / name / 'part-0.parquet')}' (FORMAT parquet)"
        ).fetchone()[0]

    files = []
    for path in sorted(p for p in staging.rglob("*.parquet")):
        files.append(
            {
                "path": path.relative_to(staging).as_posix(),
                "rows": pq.ParquetFile(path).metadata.num_rows,
                "bytes": path.stat().st_size,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            }
        )
    manifest = {
        "created_at": created_at.isoformat(),
        "tables": rows,
        "files": files,
        "partitioning": "hive, by platform_id (runs: unpartitioned)",
        "time_zone": "UTC",
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    old = out_dir.parent / f".{out_dir.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(old)
    staging.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return ExportResult(out_dir, rows, len(files), out_dir / "manifest.json")


def _check_target(out_dir: Path) -> None:
    """Refuse a target the final swap would destroy: the export replaces the
    whole folder, so it may only be new, empty, or an earlier export (every file
    in it is listed in its `manifest.json`). A file, the data directory, a home
    folder are refused."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ExportRefused(f"cannot export to {out_dir}: it exists and is not a folder")
    listed = {"manifest.json"}
    try:
        manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
        listed.update(f["path"] for f in manifest["files"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not an export; empty is fine, anything else is refused below
    foreign = sorted(
        p.relative_to(out_dir).as_posix()
        for p in out_dir.rglob("*")
        if not p.is_dir() and p.relative_to(out_dir).as_posix() not in listed
    )
    if foreign:
        raise ExportRefused(
            f"cannot export to {out_dir}: it holds files that are not part of a clausetrail "
            f"export ({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}), and the "
            "export replaces the whole folder. Give a new or empty folder."
        )


def _quote(path: Path) -> str:
    """A path as a SQL string literal body (COPY targets cannot be bound)."""
    return str(path).replace("'", "''")
