"""Loading clause history: the id ledger, clauses, clause versions, changes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from transforms.classify import TAXONOMY_VERSION, classify_clause
from transforms.diff import is_formatting_only
from transforms.lineage import LedgerEntry, TracedVersion, format_clause_id
from transforms.numbering import PROVISIONAL_BASE
from transforms.records import Version
from warehouse.arrowio import insert_arrow as _insert
from warehouse.arrowio import registered

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class ClauseHistory:
    """A document's traced versions (parallel to its versions, in time order)."""

    traced: tuple[TracedVersion, ...]
    issued: Mapping[str, LedgerEntry]  # ledger entries issued (or replaced) by this build


def load_ledgers(
    con: duckdb.DuckDBPyConnection, document_ids: Sequence[str]
) -> dict[str, dict[str, LedgerEntry]]:
    """The clause ledger of each of these documents (text SHA-256 -> entry),
    in one query; a document without entries gets an empty one."""
    rows = con.execute(
        "SELECT document_id, text_sha256, clause_ids, clause_sha256s FROM clause_ledger "
        "WHERE list_contains(?, document_id)",
        [list(document_ids)],
    ).fetchall()
    out: dict[str, dict[str, LedgerEntry]] = {document_id: {} for document_id in document_ids}
    for document_id, sha, ids, shas in rows:
        out[document_id][sha] = LedgerEntry(tuple(ids), tuple(shas) if shas is not None else None)
    return out


def next_clause_number(con: duckdb.DuckDBPyConnection) -> int:
    """One past the highest clause number ever issued, in any document."""
    row = con.execute(
        "SELECT max(CAST(substr(id, 3) AS BIGINT)) FROM "
        "(SELECT unnest(clause_ids) AS id FROM clause_ledger)"
    ).fetchone()
    return (row[0] or 0) + 1


def replace_clause_rows(
    con: duckdb.DuckDBPyConnection, document_ids: Sequence[str], tables: ClauseTables
) -> None:
    """Swap the clause tables of these documents for `tables`, one insert per table.

    Call inside the versions' transaction. Ledger entries in `tables` replace
    the entries of the same texts; everything else of the documents goes.
    """
    if not document_ids:
        return
    if tables.ledger.num_rows:
        # an entry is replaced only when its text's clauses changed (a new
        # splitting rule); its unchanged clauses kept their ids
        keys = tables.ledger.select(["document_id", "text_sha256"])
        with registered(con, "_ledger_keys", keys):
            con.execute(
                "DELETE FROM clause_ledger l USING _ledger_keys k "
                "WHERE l.document_id = k.document_id AND l.text_sha256 = k.text_sha256"
            )
        _insert(con, "clause_ledger", tables.ledger, or_ignore=False)
    ids = list(document_ids)
    for table in ("clause_versions", "changes", "clauses"):
        con.execute(f"DELETE FROM {table} WHERE list_contains(?, document_id)", [ids])
    # plain inserts: the documents' rows were just deleted, so a duplicate key
    # is a bug to report, not a row to drop (and a plain insert is faster)
    _insert(con, "clauses", tables.clauses, or_ignore=False)
    _insert(con, "clause_versions", tables.cv, or_ignore=False)
    # the change id hashes the final clause id, so DuckDB makes it here,
    # after the provisional ids were moved (`CHANGE_ID_SQL`)
    _insert(con, "changes", tables.ch, or_ignore=False, computed={"change_id": CHANGE_ID_SQL})
    # keyed by clause text: a text two documents share, or one labelled by an
    # earlier run, is labelled once
    _insert(con, "clause_labels", tables.labels, or_ignore=True)


# sha256(to_version_id|clause_id|kind)[:24] in hex, as migration 002 states;
# DuckDB's sha256 hashes the UTF-8 bytes and writes lower-case hex, as
# hashlib's hexdigest does (tests/test_warehouse.py checks one against the other)
CHANGE_ID_SQL = "substr(sha256(to_version_id || '|' || clause_id || '|' || kind), 1, 24)"


def prune_labels(con: duckdb.DuckDBPyConnection) -> None:
    """Drop labels of another taxonomy version and of texts no clause version holds."""
    con.execute(
        "DELETE FROM clause_labels WHERE taxonomy <> ? OR NOT EXISTS "
        "(SELECT 1 FROM clause_versions cv WHERE cv.text_sha256 = clause_labels.text_sha256)",
        [TAXONOMY_VERSION],
    )


_S = pa.string()
_STRINGS = pa.list_(pa.string())
# every column of every clause table, typed: an empty build has the schema of a full one
_LEDGER_TYPES = {
    "document_id": _S,
    "text_sha256": _S,
    "clause_ids": _STRINGS,
    "issued_at": TS,
    "clause_sha256s": _STRINGS,
}
_CLAUSE_TYPES = {
    "clause_id": _S,
    "document_id": _S,
    "first_seen_at": TS,
    "last_seen_at": TS,
    "is_current": pa.bool_(),
    "version_count": pa.int32(),
    "lineage_clause_id": _S,
}
_CV_TYPES = {
    "clause_id": _S,
    "version_id": _S,
    "document_id": _S,
    "ordinal": pa.int32(),
    "heading_path": _STRINGS,
    "label": _S,
    "kind": _S,
    "text": _S,
    "text_sha256": _S,
    "valid_from": TS,
    "valid_to": TS,
}
_CH_TYPES = {
    "document_id": _S,
    "from_version_id": _S,
    "to_version_id": _S,
    "changed_at": TS,
    "clause_id": _S,
    "kind": _S,
    "old_ordinal": pa.int32(),
    "new_ordinal": pa.int32(),
    "old_text": _S,
    "new_text": _S,
    "similarity": pa.float64(),
    "method": _S,
    "diff_ops": _S,
    "diff_text": _S,
    "lineage_clause_id": _S,
    "is_formatting_only": pa.bool_(),
}
_LABEL_TYPES = {
    "text_sha256": _S,
    "category": _S,
    "severity": _S,
    "rule": _S,
    "matched": _S,
    "regulations": _STRINGS,
    "taxonomy": _S,
}


class ClauseRows:
    """The rows of the clause tables as column lists, filled one document at a time.

    Built where the clause history is traced; `tables` gives them as Arrow
    tables (what a worker process sends back and the warehouse inserts).
    Change ids, which hash a clause id, are made only when loading.
    """

    def __init__(self) -> None:
        self.ledger: dict[str, list] = {name: [] for name in _LEDGER_TYPES}
        self.clauses: dict[str, list] = {name: [] for name in _CLAUSE_TYPES}
        self.cv: dict[str, list] = {name: [] for name in _CV_TYPES}
        self.ch: dict[str, list] = {name: [] for name in _CH_TYPES}
        self.labels: dict[str, list] = {name: [] for name in _LABEL_TYPES}

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

    def tables(self) -> ClauseTables:
        """The rows as Arrow tables, typed as the warehouse's columns."""
        return ClauseTables(
            ledger=_table(self.ledger, _LEDGER_TYPES),
            clauses=_table(self.clauses, _CLAUSE_TYPES),
            cv=_table(self.cv, _CV_TYPES),
            ch=_table(self.ch, _CH_TYPES),
            labels=_table(self.labels, _LABEL_TYPES),
        )

    @property
    def ledger_entries(self) -> int:
        return len(self.ledger["text_sha256"])


def _table(columns: dict[str, list], types: Mapping[str, pa.DataType]) -> pa.Table:
    return pa.table({name: pa.array(columns[name], kind) for name, kind in types.items()})


@dataclass(frozen=True, slots=True)
class ClauseTables:
    """The rows of the clause tables of one or more documents, as Arrow tables.

    What a worker process sends back from a build (Arrow pickles as buffers:
    the parent neither rebuilds Python objects nor converts them again) and
    what `replace_clause_rows` inserts.
    """

    ledger: pa.Table
    clauses: pa.Table
    cv: pa.Table
    ch: pa.Table
    labels: pa.Table

    @property
    def ledger_entries(self) -> int:
        return self.ledger.num_rows

    @staticmethod
    def concat(
        parts: Sequence[ClauseTables], bases: Sequence[int | None] | None = None
    ) -> ClauseTables:
        """The rows of several documents' tables, in order. With `bases`, the
        provisional clause ids of each part are moved onto the real sequence
        starting at its base (`transforms.numbering.shift_id`; None: the part
        holds real ids only), in one pass per column for all the parts."""
        if not parts:
            return ClauseRows().tables()
        tables = {
            name: pa.concat_tables([getattr(part, name) for part in parts])
            for name in ("ledger", "clauses", "cv", "ch", "labels")
        }
        if bases is None or all(base is None for base in bases):
            return ClauseTables(**tables)
        if len(bases) != len(parts):
            raise ValueError(f"{len(bases)} bases for {len(parts)} parts")

        def per_row(name: str) -> pa.Array:
            # each part's base on each of its rows (0 where it has none: no
            # provisional id to move there)
            return pa.array(
                [
                    base or 0
                    for part, base in zip(parts, bases, strict=True)
                    for _ in range(getattr(part, name).num_rows)
                ],
                pa.int64(),
            )

        ledger = tables["ledger"]
        if ledger.num_rows:
            lists = ledger.column("clause_ids").combine_chunks()
            element_bases = per_row("ledger").take(pc.list_parent_indices(lists))
            moved = pa.ListArray.from_arrays(
                lists.offsets, shift_clause_ids(lists.flatten(), element_bases), type=lists.type
            )
            ledger = ledger.set_column(
                ledger.schema.get_field_index("clause_ids"), "clause_ids", moved
            )
        return ClauseTables(
            ledger,
            _shift_columns(
                tables["clauses"], per_row("clauses"), ("clause_id", "lineage_clause_id")
            ),
            _shift_columns(tables["cv"], per_row("cv"), ("clause_id",)),
            _shift_columns(tables["ch"], per_row("ch"), ("clause_id", "lineage_clause_id")),
            tables["labels"],
        )


_PROVISIONAL_LENGTH = len(format_clause_id(PROVISIONAL_BASE))


def shift_clause_ids(
    ids: pa.Array | pa.ChunkedArray, base: int | pa.Array
) -> pa.Array | pa.ChunkedArray:
    """`transforms.numbering.shift_id` of every id of a string array, in
    Arrow's compute kernels (nulls stay null); `base` is one base for all, or
    one per id."""
    ids = ids.cast(pa.string())
    if not len(ids) or ids.null_count == len(ids):
        return ids
    candidate = pc.and_(
        pc.greater_equal(pc.utf8_length(ids), _PROVISIONAL_LENGTH), pc.starts_with(ids, "P-")
    )
    if not pc.any(candidate).as_py():
        return ids
    numbers = pc.cast(
        pc.if_else(candidate, pc.utf8_slice_codeunits(ids, 2), pa.scalar("0")), pa.int64()
    )
    provisional = pc.and_(candidate, pc.greater_equal(numbers, PROVISIONAL_BASE))
    real = pc.add(pc.subtract(numbers, PROVISIONAL_BASE), base)
    # format_clause_id: "P-" and the number, at least six digits
    written = pc.binary_join_element_wise(
        "P-", pc.utf8_lpad(pc.cast(real, pa.string()), 6, "0"), ""
    )
    return pc.if_else(provisional, written, ids)


def _shift_columns(table: pa.Table, bases: pa.Array, names: Sequence[str]) -> pa.Table:
    for name in names:
        index = table.schema.get_field_index(name)
        column = table.column(index).combine_chunks()
        table = table.set_column(index, name, shift_clause_ids(column, bases))
    return table
