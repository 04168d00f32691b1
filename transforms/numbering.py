"""Provisional clause numbers: ids traced in a worker, fixed by the caller.

Clause ids are issued in one sequence over all documents of a run (in
registry order), so a document's fresh ids depend on how many the documents
before it took. To trace documents in parallel, each is traced from
`PROVISIONAL_BASE` (far above any number a warehouse holds); the caller then
shifts each document's provisional numbers onto the real sequence, in
registry order, with `shift_id` (after `check_real` on the real start). The
result is the same as tracing the documents one after another from the real
next number: issuance only ever counts up from its start, and ids it did not
issue (from the ledger) stay.
"""

from __future__ import annotations

from transforms.lineage import format_clause_id

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


_PROVISIONAL_LENGTH = len(format_clause_id(PROVISIONAL_BASE))


def shift_id(clause_id: str, base: int) -> str:
    """A provisional id moved onto the real sequence starting at `base`; others unchanged."""
    if len(clause_id) < _PROVISIONAL_LENGTH or not clause_id.startswith(_PREFIX):
        return clause_id  # shorter ids are real numbers (`check_real` keeps them below)
    number = int(clause_id[len(_PREFIX) :])
    if number < PROVISIONAL_BASE:
        return clause_id
    return format_clause_id(base + number - PROVISIONAL_BASE)
