"""Loading clause history: the id ledger, clauses, clause versions, changes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from transforms.classify import TAXONOMY_VERSION, classify_clause
from transforms.diff import is_formatting_only
from transforms.lineage import LedgerEntry, TracedVersion
from transforms.records import Version, sha256_hex
from warehouse.arrowio import insert_arrow as _insert
from warehouse.arrowio import registered

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


def replace_clause_rows(
    con: duckdb.DuckDBPyConnection, document_ids: Sequence[str], rows: ClauseRows
) -> None:
    """Swap the clause tables of these documents for `rows`, one insert per table.

    Call inside the versions' transaction. Ledger entries in `rows` replace
    the entries of the same texts; everything else of the documents goes.
    """
    if not document_ids:
        return
    if rows.ledger["text_sha256"]:
        # an entry is replaced only when its text's clauses changed (a new
        # splitting rule); its unchanged clauses kept their ids
        keys = pa.table(
            {
                "document_id": rows.ledger["document_id"],
                "text_sha256": rows.ledger["text_sha256"],
            }
        )
        with registered(con, "_ledger_keys", keys):
            con.execute(
                "DELETE FROM clause_ledger l USING _ledger_keys k "
                "WHERE l.document_id = k.document_id AND l.text_sha256 = k.text_sha256"
            )
        _insert(con, "clause_ledger", _table(rows.ledger, _LEDGER_TYPES), or_ignore=False)
    ids = list(document_ids)
    for table in ("clause_versions", "changes", "clauses"):
        con.execute(f"DELETE FROM {table} WHERE list_contains(?, document_id)", [ids])
    # plain inserts: the documents' rows were just deleted, so a duplicate key
    # is a bug to report, not a row to drop (and a plain insert is faster)
    _insert(con, "clauses", _table(rows.clauses, _CLAUSE_TYPES), or_ignore=False)
    _insert(con, "clause_versions", _table(rows.cv, _CV_TYPES), or_ignore=False)
    changes = dict(rows.ch)
    changes["change_id"] = [
        sha256_hex(f"{version_id}|{clause_id}|{kind}")[:24]
        for version_id, clause_id, kind in zip(
            rows.ch["to_version_id"], rows.ch["clause_id"], rows.ch["kind"], strict=True
        )
    ]
    _insert(con, "changes", _table(changes, _CH_TYPES), or_ignore=False)
    # keyed by clause text: a text two documents share, or one labelled by an
    # earlier run, is labelled once
    _insert(con, "clause_labels", _table(rows.labels, _LABEL_TYPES), or_ignore=True)


def prune_labels(con: duckdb.DuckDBPyConnection) -> None:
    """Drop labels of another taxonomy version and of texts no clause version holds."""
    con.execute(
        "DELETE FROM clause_labels WHERE taxonomy <> ? OR NOT EXISTS "
        "(SELECT 1 FROM clause_versions cv WHERE cv.text_sha256 = clause_labels.text_sha256)",
        [TAXONOMY_VERSION],
    )


_LEDGER_TYPES = {
    "issued_at": TS,
    "clause_ids": pa.list_(pa.string()),
    "clause_sha256s": pa.list_(pa.string()),
}
_CLAUSE_TYPES = {
    "first_seen_at": TS,
    "last_seen_at": TS,
    "version_count": pa.int32(),
    "lineage_clause_id": pa.string(),
}
_CV_TYPES = {
    "valid_from": TS,
    "valid_to": TS,
    "ordinal": pa.int32(),
    "heading_path": pa.list_(pa.string()),
    "label": pa.string(),
}
_LABEL_TYPES = {"regulations": pa.list_(pa.string())}
_CH_TYPES = {
    "changed_at": TS,
    "old_ordinal": pa.int32(),
    "new_ordinal": pa.int32(),
    "old_text": pa.string(),
    "new_text": pa.string(),
    "lineage_clause_id": pa.string(),
    "similarity": pa.float64(),
}


class ClauseRows:
    """The rows of the clause tables as column lists, filled one document at a time.

    Built where the clause history is traced (a worker process can fill it;
    it pickles as plain lists); `map_ids` rewrites every clause id it holds,
    and change ids, which hash a clause id, are made only when loading.
    """

    def __init__(self) -> None:
        self.ledger: dict[str, list] = {
            k: []
            for k in ("document_id", "text_sha256", "clause_ids", "issued_at", "clause_sha256s")
        }
        self.clauses: dict[str, list] = {
            k: []
            for k in (
                "clause_id",
                "document_id",
                "first_seen_at",
                "last_seen_at",
                "is_current",
                "version_count",
                "lineage_clause_id",
            )
        }
        self.cv: dict[str, list] = {
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
        self.ch: dict[str, list] = {
            k: []
            for k in (
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
        self.labels: dict[str, list] = {
            k: []
            for k in (
                "text_sha256",
                "category",
                "severity",
                "rule",
                "matched",
                "regulations",
                "taxonomy",
            )
        }

    def add(
        self,
        document_id: str,
        versions: Sequence[Version],
        history: ClauseHistory,
        now: datetime,
    ) -> None:
        if len(versions) != len(history.traced):
            raise ValueError(
                f"{document_id}: {len(versions)} versions, {len(history.traced)} traced"
            )
        for sha, entry in history.issued.items():
            self.ledger["document_id"].append(document_id)
            self.ledger["text_sha256"].append(sha)
            self.ledger["clause_ids"].append(list(entry.ids))
            self.ledger["issued_at"].append(now)
            self.ledger["clause_sha256s"].append(list(entry.shas or ()))
        cv, ch = self.cv, self.ch
        first: dict[str, datetime] = {}
        last: dict[str, datetime] = {}
        count: dict[str, int] = {}
        lineage: dict[str, str] = {}
        # whole columns at a time: one extend per column and version
        for index, (version, traced) in enumerate(zip(versions, history.traced, strict=True)):
            ids, clauses = traced.clauses.ids, traced.clauses.clauses
            if len(ids) != len(clauses):
                raise ValueError(f"{version.version_id}: {len(ids)} ids, {len(clauses)} clauses")
            n = len(ids)
            cv["clause_id"].extend(ids)
            cv["version_id"].extend([version.version_id] * n)
            cv["document_id"].extend([document_id] * n)
            cv["ordinal"].extend([c.ordinal for c in clauses])
            cv["heading_path"].extend([list(c.heading_path) for c in clauses])
            cv["label"].extend([c.label for c in clauses])
            cv["kind"].extend([c.kind for c in clauses])
            cv["text"].extend([c.text for c in clauses])
            cv["text_sha256"].extend([c.sha256 for c in clauses])
            cv["valid_from"].extend([version.valid_from] * n)
            cv["valid_to"].extend([version.valid_to] * n)
            for clause_id in ids:
                if clause_id not in first:
                    first[clause_id] = version.valid_from
                count[clause_id] = count.get(clause_id, 0) + 1
            last.update(dict.fromkeys(ids, version.last_seen_at))
            if index == 0:
                continue
            previous = versions[index - 1]
            changes = traced.changes
            m = len(changes)
            ch["document_id"].extend([document_id] * m)
            ch["from_version_id"].extend([previous.version_id] * m)
            ch["to_version_id"].extend([version.version_id] * m)
            ch["changed_at"].extend([version.valid_from] * m)
            ch["clause_id"].extend([c.clause_id for c in changes])
            ch["kind"].extend([c.kind for c in changes])
            ch["old_ordinal"].extend([c.old_ordinal for c in changes])
            ch["new_ordinal"].extend([c.new_ordinal for c in changes])
            ch["old_text"].extend([c.old_text for c in changes])
            ch["new_text"].extend([c.new_text for c in changes])
            ch["similarity"].extend([float(c.similarity) for c in changes])
            ch["method"].extend([c.method for c in changes])
            ch["diff_ops"].extend(
                [json.dumps([[o.op, o.old, o.new] for o in c.ops]) for c in changes]
            )
            ch["diff_text"].extend([c.rendered for c in changes])
            ch["lineage_clause_id"].extend([c.lineage_clause_id for c in changes])
            ch["is_formatting_only"].extend(
                [is_formatting_only(c.old_text, c.new_text) for c in changes]
            )
            for change in changes:
                if change.lineage_clause_id and change.kind in ("added", "removed"):
                    # split from (added part) or merged into (removed part)
                    lineage.setdefault(change.clause_id, change.lineage_clause_id)
        labelled: set[str] = set()
        labels = self.labels
        for traced in history.traced:
            for clause in traced.clauses.clauses:
                if clause.sha256 in labelled:
                    continue
                labelled.add(clause.sha256)
                for label in classify_clause(clause.text):
                    labels["text_sha256"].append(clause.sha256)
                    labels["category"].append(label.category)
                    labels["severity"].append(label.severity)
                    labels["rule"].append(label.rule)
                    labels["matched"].append(label.matched)
                    labels["regulations"].append(list(label.regulations))
                    labels["taxonomy"].append(TAXONOMY_VERSION)
        current = set(history.traced[-1].clauses.ids) if history.traced else set()
        for clause_id in first:
            self.clauses["clause_id"].append(clause_id)
            self.clauses["document_id"].append(document_id)
            self.clauses["first_seen_at"].append(first[clause_id])
            self.clauses["last_seen_at"].append(last[clause_id])
            self.clauses["is_current"].append(clause_id in current)
            self.clauses["version_count"].append(count[clause_id])
            self.clauses["lineage_clause_id"].append(lineage.get(clause_id))

    def extend(self, other: ClauseRows) -> None:
        """Append another set of rows (another document's)."""
        for mine, theirs in (
            (self.ledger, other.ledger),
            (self.clauses, other.clauses),
            (self.cv, other.cv),
            (self.ch, other.ch),
            (self.labels, other.labels),
        ):
            for name, values in theirs.items():
                mine[name].extend(values)

    def map_ids(self, fn: Callable[[str], str]) -> None:
        """Replace every clause id `i` held by `fn(i)` (ids in lists included);
        `fn` is called once per distinct id."""

        mapped: dict[str, str] = {}  # an id recurs in every version that holds it

        def one(v: str) -> str:
            out = mapped.get(v)
            if out is None:
                out = mapped[v] = fn(v)
            return out

        def each(values: list) -> list:
            return [None if v is None else one(v) for v in values]

        self.ledger["clause_ids"] = [each(ids) for ids in self.ledger["clause_ids"]]
        for columns, names in (
            (self.clauses, ("clause_id", "lineage_clause_id")),
            (self.cv, ("clause_id",)),
            (self.ch, ("clause_id", "lineage_clause_id")),
        ):
            for name in names:
                columns[name] = each(columns[name])

    @property
    def ledger_entries(self) -> int:
        return len(self.ledger["text_sha256"])


def _table(columns: dict[str, list], types: Mapping[str, pa.DataType]) -> pa.Table:
    return pa.table({name: pa.array(values, types.get(name)) for name, values in columns.items()})
