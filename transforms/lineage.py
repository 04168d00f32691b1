"""Stable clause ids across the versions of a document, and the changes.

`issue_ids` aligns a new version against a previous one the caller chooses,
carries the id of every matched clause and issues fresh ids (``P-000123``)
to the others, in ordinal order, from `next_number`. It returns the new
version's ids, its clause changes and the next free number. Nothing here
remembers anything: the caller keeps `next_number` and the ids, so a rebuild
that replays the same versions in the same order gets the same ids, and a
version discovered later (an older capture found by a backfill) is simply
aligned against a known neighbour after the existing ones, leaving every
issued id as it was.

For the first version of a document (`prev` None) every clause is reported
as `added`; a caller that wants no changes for a first version drops them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from transforms.align import DEFAULT_THRESHOLD, Match, align_clauses
from transforms.clauses import Clause
from transforms.diff import DiffOp, diff_words, render_diff


class LineageError(ValueError):
    """A previous version whose ids do not fit its clauses."""


@dataclass(frozen=True, slots=True)
class ClauseChange:
    """One clause-level change between two versions (one row of `changes`)."""

    kind: str  # "added" | "removed" | "modified" | "moved"
    clause_id: str
    old_ordinal: int | None
    new_ordinal: int | None
    old_text: str | None
    new_text: str | None
    similarity: float  # of the label-stripped bodies; 0 for added/removed
    method: str  # "hash" | "similarity" | "none"
    ops: tuple[DiffOp, ...]  # word-level diff old -> new ("" for a missing side)
    rendered: str  # the ops as readable text
    lineage_clause_id: str | None  # split: the clause an added part came from;
    # merge: the clause a removed part went into


@dataclass(frozen=True, slots=True)
class VersionClauses:
    """One version's clauses with their ids."""

    ids: tuple[str, ...]  # parallel to clauses
    clauses: tuple[Clause, ...]

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.clauses):
            raise LineageError(f"{len(self.ids)} ids for {len(self.clauses)} clauses")


@dataclass(frozen=True, slots=True)
class TracedVersion:
    """One version of a document after `trace_document`."""

    version_id: str
    clauses: VersionClauses
    changes: tuple[ClauseChange, ...]


def format_clause_id(number: int, *, prefix: str = "P-", width: int = 6) -> str:
    """``P-000123`` from 123."""
    if number < 1:
        raise ValueError(f"clause numbers start at 1, got {number}")
    return f"{prefix}{number:0{width}d}"


def _change(
    kind: str,
    clause_id: str,
    old: Clause | None,
    new: Clause | None,
    similarity: float,
    method: str,
    lineage_clause_id: str | None,
) -> ClauseChange:
    old_text = old.text if old is not None else None
    new_text = new.text if new is not None else None
    ops = diff_words(old_text or "", new_text or "")
    return ClauseChange(
        kind=kind,
        clause_id=clause_id,
        old_ordinal=old.ordinal if old is not None else None,
        new_ordinal=new.ordinal if new is not None else None,
        old_text=old_text,
        new_text=new_text,
        similarity=similarity,
        method=method,
        ops=ops,
        rendered=render_diff(ops),
        lineage_clause_id=lineage_clause_id,
    )


def _issue(
    prev: VersionClauses | None,
    new: tuple[Clause, ...],
    next_number: int,
    *,
    prefix: str,
    width: int,
    threshold: float,
) -> tuple[tuple[str, ...], tuple[Match, ...], int]:
    """The ids of `new`, its alignment against `prev` (``()`` when None), the next number."""
    if prev is None:
        ids = tuple(
            format_clause_id(next_number + k, prefix=prefix, width=width) for k in range(len(new))
        )
        return ids, (), next_number + len(new)
    matches = align_clauses(prev.clauses, new, threshold=threshold)
    new_ids: list[str | None] = [None] * len(new)
    for match in matches:
        if match.old is not None and match.new is not None:
            new_ids[match.new] = prev.ids[match.old]
    number = next_number
    for j in range(len(new)):
        if new_ids[j] is None:
            new_ids[j] = format_clause_id(number, prefix=prefix, width=width)
            number += 1
    return tuple(clause_id for clause_id in new_ids if clause_id is not None), matches, number


def issue_ids(
    prev: VersionClauses | None,
    new: Sequence[Clause],
    next_number: int,
    *,
    prefix: str = "P-",
    width: int = 6,
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[VersionClauses, tuple[ClauseChange, ...], int]:
    """Ids for the clauses of `new`, its changes against `prev`, the next free number."""
    new = tuple(new)
    ids, matches, number = _issue(
        prev, new, next_number, prefix=prefix, width=width, threshold=threshold
    )
    if prev is None:
        changes = tuple(
            _change("added", clause_id, None, clause, 0.0, "none", None)
            for clause_id, clause in zip(ids, new, strict=True)
        )
        return VersionClauses(ids, new), changes, number

    changes: list[ClauseChange] = []
    for match in matches:
        old = prev.clauses[match.old] if match.old is not None else None
        clause = new[match.new] if match.new is not None else None
        if match.kind == "unchanged":
            continue
        if match.kind == "added":
            assert match.new is not None
            lineage = prev.ids[match.lineage] if match.lineage is not None else None
            clause_id = ids[match.new]
        elif match.kind == "removed":
            assert match.old is not None
            lineage = ids[match.lineage] if match.lineage is not None else None
            clause_id = prev.ids[match.old]
        else:
            assert match.new is not None
            lineage = None
            clause_id = ids[match.new]
        changes.append(
            _change(match.kind, clause_id, old, clause, match.similarity, match.method, lineage)
        )
    return VersionClauses(ids, new), tuple(changes), number


def trace_document(
    versions: Sequence[tuple[str, Sequence[Clause]]],
    next_number: int,
    *,
    prefix: str = "P-",
    width: int = 6,
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[tuple[TracedVersion, ...], int]:
    """Ids and changes for a document's versions, each aligned with the one before.

    `versions` are (version id, clauses) in time order. Ids are issued in
    order of (version, ordinal), so replaying the same versions from the same
    `next_number` gives the same ids. Returns the traced versions and the
    next free number.
    """
    traced: list[TracedVersion] = []
    prev: VersionClauses | None = None
    number = next_number
    for version_id, clauses in versions:
        prev, changes, number = issue_ids(
            prev, clauses, number, prefix=prefix, width=width, threshold=threshold
        )
        traced.append(TracedVersion(version_id, prev, changes))
    return tuple(traced), number


def changes_between(prev: VersionClauses, cur: VersionClauses) -> tuple[ClauseChange, ...]:
    """The clause changes from `prev` to `cur`, both with their ids fixed.

    The alignment classifies each pair (unchanged, modified, moved, with
    split and merge lineage); where the fixed ids disagree with it (ids that
    came from a ledger, see `trace_with_ledger`), the ids win: the same id on
    both sides is `modified` (or `moved`), an id on one side only is `added`
    or `removed`.
    """
    return _changes_from(prev, cur, align_clauses(prev.clauses, cur.clauses))


def _changes_from(
    prev: VersionClauses, cur: VersionClauses, matches: Sequence[Match]
) -> tuple[ClauseChange, ...]:
    """`changes_between` given the alignment of `prev.clauses` with `cur.clauses`."""
    old_done: set[int] = set()
    new_done: set[int] = set()
    changes: list[ClauseChange] = []
    lineage_new: dict[int, str] = {}
    lineage_old: dict[int, str] = {}
    for m in matches:
        if m.kind == "added" and m.new is not None and m.lineage is not None:
            lineage_new[m.new] = prev.ids[m.lineage]
        if m.kind == "removed" and m.old is not None and m.lineage is not None:
            lineage_old[m.old] = cur.ids[m.lineage]
    for m in matches:
        if m.old is None or m.new is None or prev.ids[m.old] != cur.ids[m.new]:
            continue
        old_done.add(m.old)
        new_done.add(m.new)
        if m.kind != "unchanged":
            changes.append(
                _change(
                    m.kind,
                    cur.ids[m.new],
                    prev.clauses[m.old],
                    cur.clauses[m.new],
                    m.similarity,
                    m.method,
                    None,
                )
            )
    old_index = {clause_id: i for i, clause_id in enumerate(prev.ids)}
    for j, clause_id in enumerate(cur.ids):
        if j in new_done:
            continue
        i = old_index.get(clause_id)
        new = cur.clauses[j]
        if i is not None and i not in old_done:
            old_done.add(i)
            old = prev.clauses[i]
            similarity = 1.0 if old.text == new.text else fuzz.ratio(old.text, new.text) / 100
            kind = "moved" if old.heading_path != new.heading_path else "modified"
            if kind == "modified" and old.text == new.text:
                continue
            changes.append(_change(kind, clause_id, old, new, similarity, "id", None))
        else:
            changes.append(_change("added", clause_id, None, new, 0.0, "none", lineage_new.get(j)))
    for i, clause_id in enumerate(prev.ids):
        if i not in old_done:
            changes.append(
                _change(
                    "removed", clause_id, prev.clauses[i], None, 0.0, "none", lineage_old.get(i)
                )
            )
    order = {"modified": 0, "moved": 0, "added": 0, "removed": 1}
    return tuple(
        sorted(
            changes,
            key=lambda c: (
                c.new_ordinal if c.new_ordinal is not None else c.old_ordinal,
                order[c.kind],
            ),
        )
    )


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """The clause ids issued for one version text, with the clauses' hashes."""

    ids: tuple[str, ...]
    shas: tuple[str, ...] | None = None  # None for entries recorded before hashes were kept

    def fits(self, clauses: Sequence[Clause]) -> bool:
        """Whether these are the clauses the ids were issued for."""
        if self.shas is None:
            return len(self.ids) == len(clauses)
        return self.shas == tuple(c.sha256 for c in clauses)


def _carry(entry: LedgerEntry, clauses: Sequence[Clause]) -> list[str | None]:
    """Ids of an entry that no longer fits, carried to clauses with the same hash."""
    by_sha: dict[str, list[str]] = {}
    for clause_id, sha in zip(entry.ids, entry.shas or (), strict=False):
        by_sha.setdefault(sha, []).append(clause_id)
    return [by_sha[c.sha256].pop(0) if by_sha.get(c.sha256) else None for c in clauses]


def trace_with_ledger(
    versions: Sequence[tuple[str, str, Sequence[Clause]]],
    ledger: Mapping[str, LedgerEntry],
    next_number: int,
) -> tuple[tuple[TracedVersion, ...], dict[str, LedgerEntry], int]:
    """Ids and changes for a document's versions, honouring ids already issued.

    `versions` are (version id, text SHA-256, clauses) in time order; `ledger`
    maps a text SHA-256 to the clause ids issued for it before. A version
    whose text is in the ledger keeps those ids, whatever the order in which
    versions were discovered; any other version is aligned against its
    nearest earlier version (or, when it is the earliest, the nearest later
    one: history found by a backfill) and gets fresh ids from `next_number`
    for unmatched clauses. When the segmentation of a known text changed (a
    new splitting rule), each clause whose hash the entry recorded keeps its
    id and only the others go through the alignment. Returns the traced
    versions, the ledger entries issued now (new or replacing one that no
    longer fits), and the next free number.
    """
    assigned: dict[int, VersionClauses] = {}
    for k, (_vid, sha, clauses) in enumerate(versions):
        entry = ledger.get(sha)
        if entry is not None and entry.fits(clauses):
            assigned[k] = VersionClauses(tuple(entry.ids), tuple(clauses))
    issued: dict[str, LedgerEntry] = {}
    # alignments made while issuing ids, by (neighbour, version) position: the
    # changes of version k against k - 1 reuse the one of that same pair
    aligned: dict[tuple[int, int], tuple[Match, ...]] = {}
    number = next_number
    for k, (_vid, sha, clauses) in enumerate(versions):
        if k in assigned:
            continue
        if sha in issued and issued[sha].fits(clauses):
            assigned[k] = VersionClauses(issued[sha].ids, tuple(clauses))
            continue
        earlier = [i for i in assigned if i < k]
        later = [i for i in assigned if i > k]
        position = max(earlier) if earlier else (min(later) if later else None)
        neighbour = assigned[position] if position is not None else None
        clauses = tuple(clauses)
        issued_ids, matches, number = _issue(
            neighbour, clauses, number, prefix="P-", width=6, threshold=DEFAULT_THRESHOLD
        )
        if position is not None:
            aligned[position, k] = matches
        ids = list(issued_ids)
        stale = ledger.get(sha)
        if stale is not None and stale.shas is not None:
            carried = _carry(stale, clauses)
            taken = {i for i in carried if i is not None}
            for j, clause_id in enumerate(carried):
                if clause_id is not None:
                    ids[j] = clause_id
                elif ids[j] in taken:  # the alignment gave away an id the ledger keeps
                    ids[j] = format_clause_id(number)
                    number += 1
        assigned[k] = VersionClauses(tuple(ids), tuple(clauses))
        issued[sha] = LedgerEntry(tuple(ids), tuple(c.sha256 for c in clauses))
    traced = []
    for k, (version_id, _sha, _clauses) in enumerate(versions):
        if not k:
            changes: tuple[ClauseChange, ...] = ()
        elif (k - 1, k) in aligned:
            changes = _changes_from(assigned[k - 1], assigned[k], aligned[k - 1, k])
        else:
            changes = changes_between(assigned[k - 1], assigned[k])
        traced.append(TracedVersion(version_id, assigned[k], changes))
    return tuple(traced), issued, number
