"""Provisional clause numbers: ids traced in a worker, fixed by the caller.

Clause ids are issued in one sequence over all documents of a run (in
registry order), so a document's fresh ids depend on how many the documents
before it took. To trace documents in parallel, each is traced from
`PROVISIONAL_BASE` (far above any number a warehouse holds); the caller then
shifts each document's provisional numbers onto the real sequence, in
registry order, with `renumber`. The result is the same as tracing the
documents one after another from the real next number: issuance only ever
counts up from its start, and ids it did not issue (from the ledger) stay.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from transforms.lineage import LedgerEntry, TracedVersion, VersionClauses, format_clause_id

PROVISIONAL_BASE = 10**12  # a number no warehouse reaches: P-1000000000000 and up
_PREFIX = "P-"


class NumberingError(ValueError):
    """A real clause number that reaches the provisional range."""


def check_real(next_number: int) -> None:
    """Refuse a real next number inside the provisional range."""
    if next_number >= PROVISIONAL_BASE:
        raise NumberingError(
            f"clause number {next_number} reaches the provisional range ({PROVISIONAL_BASE})"
        )


def _shift(clause_id: str | None, base: int) -> str | None:
    if clause_id is None or not clause_id.startswith(_PREFIX):
        return clause_id
    number = int(clause_id[len(_PREFIX) :])
    if number < PROVISIONAL_BASE:
        return clause_id
    return format_clause_id(base + number - PROVISIONAL_BASE)


def renumber(
    traced: Sequence[TracedVersion], issued: Mapping[str, LedgerEntry], base: int
) -> tuple[tuple[TracedVersion, ...], dict[str, LedgerEntry]]:
    """Traced versions and ledger entries with provisional ids moved to start at `base`."""
    check_real(base)
    out = []
    for version in traced:
        clauses = VersionClauses(
            tuple(_shift(i, base) for i in version.clauses.ids), version.clauses.clauses
        )
        changes = tuple(
            dataclasses.replace(
                change,
                clause_id=_shift(change.clause_id, base),
                lineage_clause_id=_shift(change.lineage_clause_id, base),
            )
            for change in version.changes
        )
        out.append(TracedVersion(version.version_id, clauses, changes))
    entries = {
        sha: LedgerEntry(tuple(_shift(i, base) for i in entry.ids), entry.shas)
        for sha, entry in issued.items()
    }
    return tuple(out), entries
