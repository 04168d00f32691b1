"""Provisional clause numbers: documents traced apart, renumbered, equal a sequential trace."""

import pytest

from transforms.clauses import split_clauses
from transforms.lineage import LedgerEntry, trace_with_ledger
from transforms.numbering import PROVISIONAL_BASE, NumberingError, check_real, renumber
from transforms.records import sha256_hex

TERMS = [
    "# Terms\n\nWe keep chats for 30 days.\n\nYou may cancel at any time.\n",
    "# Terms\n\nWe keep chats for 5 years.\n\nYou may cancel at any time.\n\nWe train on chats.\n",
    "# Terms\n\nWe collect usage data such as the pages you visit and the links you click. "
    "We also collect device data.\n\nYou may cancel at any time.\n",
    # a split: one paragraph becomes two (the added part records where it came from)
    "# Terms\n\nWe collect usage data such as the pages you visit and the links you click.\n\n"
    "We also collect device data.\n\nYou may cancel at any time.\n",
]
PRIVACY = [
    "# Privacy\n\n1. We collect your email.\n\n2. We share it with nobody.\n",
    "# Privacy\n\n1. We collect your email and phone.\n\n2. We sell it.\n\n3. Ask us.\n",
]
AUP = ["# Use\n\nNo spam.\n\nNo malware.\n"]


def versions(name, texts):
    return [(f"{name}-{i}", sha256_hex(t), split_clauses(t)) for i, t in enumerate(texts)]


DOCUMENTS = [versions("terms", TERMS), versions("privacy", PRIVACY), versions("aup", AUP)]


def sequential(ledgers, start):
    out, number = [], start
    for items, ledger in zip(DOCUMENTS, ledgers, strict=True):
        traced, issued, number = trace_with_ledger(items, ledger, number)
        out.append((traced, issued))
    return out, number


def provisional(ledgers, start):
    out, number = [], start
    for items, ledger in zip(DOCUMENTS, ledgers, strict=True):
        traced, issued, end = trace_with_ledger(items, ledger, PROVISIONAL_BASE)
        traced, issued = renumber(traced, issued, number)
        number += end - PROVISIONAL_BASE
        out.append((traced, issued))
    return out, number


def test_renumbered_documents_equal_one_trace_after_another():
    expected, expected_next = sequential([{}, {}, {}], 41)
    got, got_next = provisional([{}, {}, {}], 41)
    assert got_next == expected_next
    assert got == expected
    # the trace really issued fresh ids, split lineage included
    ids = [i for traced, _ in got for t in traced for i in t.clauses.ids]
    assert min(int(i[2:]) for i in ids) == 41
    assert any(c.lineage_clause_id for traced, _ in got for t in traced for c in t.changes)


def test_ids_from_the_ledger_are_kept_as_they_are():
    first, number = sequential([{}, {}, {}], 1)
    ledgers = [dict(issued) for _traced, issued in first]
    # one document's ledger holds an id from far back; a new version is traced
    ledgers[0][sha256_hex(TERMS[0])] = LedgerEntry(
        ("P-000007",) + ledgers[0][sha256_hex(TERMS[0])].ids[1:]
    )
    expected, expected_next = sequential(ledgers, number)
    got, got_next = provisional(ledgers, number)
    assert got == expected
    assert got_next == expected_next
    assert "P-000007" in got[0][0][0].clauses.ids


def test_a_real_number_in_the_provisional_range_is_refused():
    check_real(PROVISIONAL_BASE - 1)
    with pytest.raises(NumberingError, match="provisional range"):
        check_real(PROVISIONAL_BASE)
    traced, issued, _ = trace_with_ledger(DOCUMENTS[2], {}, PROVISIONAL_BASE)
    with pytest.raises(NumberingError):
        renumber(traced, issued, PROVISIONAL_BASE + 5)
