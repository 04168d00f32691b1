"""Loading clause history: the id ledger, clauses, clause versions, changes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from transforms.diff import is_formatting_only
from transforms.lineage import LedgerEntry, TracedVersion
from transforms.records import Version, sha256_hex
from warehouse.arrowio import insert_arrow as _insert

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class ClauseHistory:
    """A document's traced versions (parallel to its versions, in time order)."""

    traced: tuple[TracedVersion, ...]
    issued: Mapping[str, LedgerEntry]  # ledger entries issued (or replaced) by this build


def load_ledger(con: duckdb.DuckDBPyConnection, document_id: str) -> dict[str, LedgerEntry]:
    rows = con.execute(
        "SELECT text_sha256, clause_ids, clause_sha256s FROM clause_ledger WHERE document_id = ?",
        [document_id],
    ).fetchall()
    return {
        sha: LedgerEntry(tuple(ids), tuple(shas) if shas is not None else None)
        for sha, ids, shas in rows
    }


def next_clause_number(con: duckdb.DuckDBPyConnection) -> int:
    """One past the highest clause number ever issued, in any document."""
    row = con.execute(
        "SELECT max(CAST(substr(id, 3) AS BIGINT)) FROM "
        "(SELECT unnest(clause_ids) AS id FROM clause_ledger)"
    ).fetchone()
    return (row[0] or 0) + 1


def replace_clauses(
    con: duckdb.DuckDBPyConnection,
    document_id: str,
    versions: Sequence[Version],
    history: ClauseHistory,
    now: datetime,
) -> None:
    """Swap a document's clause tables; call inside the versions' transaction."""
    if len(versions) != len(history.traced):
        raise ValueError(f"{document_id}: {len(versions)} versions, {len(history.traced)} traced")
    if history.issued:
        shas = list(history.issued)
        ledger = pa.table(
            {
                "document_id": [document_id] * len(shas),
                "text_sha256": shas,
                "clause_ids": [list(history.issued[s].ids) for s in shas],
                "issued_at": pa.array([now] * len(shas), TS),
                "clause_sha256s": [list(history.issued[s].shas or ()) for s in shas],
            }
        )
        # an entry is replaced only when its text's clauses changed (a new
        # splitting rule); its unchanged clauses kept their ids
        con.execute(
            "DELETE FROM clause_ledger WHERE document_id = ? AND list_contains(?, text_sha256)",
            [document_id, shas],
        )
        _insert(con, "clause_ledger", ledger, or_ignore=False)
    for table in ("clause_versions", "changes", "clauses"):
        con.execute(f"DELETE FROM {table} WHERE document_id = ?", [document_id])

    cv: dict[str, list] = {
        k: []
        for k in (
            "clause_id",
            "version_id",
            "document_id",
            "ordinal",
            "heading_path",
            "label",
            "kind",
            "text",
            "text_sha256",
            "valid_from",
            "valid_to",
        )
    }
    ch: dict[str, list] = {
        k: []
        for k in (
            "change_id",
            "document_id",
            "from_version_id",
            "to_version_id",
            "changed_at",
            "clause_id",
            "kind",
            "old_ordinal",
            "new_ordinal",
            "old_text",
            "new_text",
            "similarity",
            "method",
            "diff_ops",
            "diff_text",
            "lineage_clause_id",
            "is_formatting_only",
        )
    }
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    count: dict[str, int] = {}
    lineage: dict[str, str] = {}
    for index, (version, traced) in enumerate(zip(versions, history.traced, strict=True)):
        for clause_id, clause in zip(traced.clauses.ids, traced.clauses.clauses, strict=True):
            cv["clause_id"].append(clause_id)
            cv["version_id"].append(version.version_id)
            cv["document_id"].append(document_id)
            cv["ordinal"].append(clause.ordinal)
            cv["heading_path"].append(list(clause.heading_path))
            cv["label"].append(clause.label)
            cv["kind"].append(clause.kind)
            cv["text"].append(clause.text)
            cv["text_sha256"].append(clause.sha256)
            cv["valid_from"].append(version.valid_from)
            cv["valid_to"].append(version.valid_to)
            first.setdefault(clause_id, version.valid_from)
            last[clause_id] = version.last_seen_at
            count[clause_id] = count.get(clause_id, 0) + 1
        if index == 0:
            continue
        previous = versions[index - 1]
        for change in traced.changes:
            ch["change_id"].append(
                sha256_hex(f"{version.version_id}|{change.clause_id}|{change.kind}")[:24]
            )
            ch["document_id"].append(document_id)
            ch["from_version_id"].append(previous.version_id)
            ch["to_version_id"].append(version.version_id)
            ch["changed_at"].append(version.valid_from)
            ch["clause_id"].append(change.clause_id)
            ch["kind"].append(change.kind)
            ch["old_ordinal"].append(change.old_ordinal)
            ch["new_ordinal"].append(change.new_ordinal)
            ch["old_text"].append(change.old_text)
            ch["new_text"].append(change.new_text)
            ch["similarity"].append(float(change.similarity))
            ch["method"].append(change.method)
            ch["diff_ops"].append(json.dumps([[o.op, o.old, o.new] for o in change.ops]))
            ch["diff_text"].append(change.rendered)
            ch["lineage_clause_id"].append(change.lineage_clause_id)
            ch["is_formatting_only"].append(is_formatting_only(change.old_text, change.new_text))
            if change.lineage_clause_id and change.kind in ("added", "removed"):
                # split from (added part) or merged into (removed part)
                lineage.setdefault(change.clause_id, change.lineage_clause_id)
    current = set(history.traced[-1].clauses.ids) if history.traced else set()
    ids = list(first)
    clauses = pa.table(
        {
            "clause_id": ids,
            "document_id": [document_id] * len(ids),
            "first_seen_at": pa.array([first[i] for i in ids], TS),
            "last_seen_at": pa.array([last[i] for i in ids], TS),
            "is_current": [i in current for i in ids],
            "version_count": pa.array([count[i] for i in ids], pa.int32()),
            "lineage_clause_id": pa.array([lineage.get(i) for i in ids], pa.string()),
        }
    )
    schema_cv = {
        "valid_from": TS,
        "valid_to": TS,
        "ordinal": pa.int32(),
        "heading_path": pa.list_(pa.string()),
        "label": pa.string(),
    }
    schema_ch = {
        "changed_at": TS,
        "old_ordinal": pa.int32(),
        "new_ordinal": pa.int32(),
        "old_text": pa.string(),
        "new_text": pa.string(),
        "lineage_clause_id": pa.string(),
        "similarity": pa.float64(),
    }
    _insert(con, "clauses", clauses)
    _insert(con, "clause_versions", _table(cv, schema_cv))
    _insert(con, "changes", _table(ch, schema_ch))


def _table(columns: dict[str, list], types: Mapping[str, pa.DataType]) -> pa.Table:
    return pa.table({name: pa.array(values, types.get(name)) for name, values in columns.items()})
