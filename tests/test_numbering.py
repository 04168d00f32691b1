"""Provisional clause numbers: documents traced apart, shifted, equal a sequential trace.

The comparison is on the clause tables' rows (`ClauseTables`, shifted in
Arrow), as the process flow loads them.
"""

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.clauses import split_clauses
from transforms.lineage import LedgerEntry, trace_with_ledger
from transforms.numbering import PROVISIONAL_BASE, NumberingError, check_real, shift_id
from transforms.records import Version, sha256_hex
from warehouse.clauses import ClauseHistory, ClauseRows, ClauseTables, shift_clause_ids

T0 = datetime(2025, 1, 1, tzinfo=UTC)

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


def rows_of(k, items, traced, issued):
    records = [
        Version(
            f"D-{k}",
            version_id,
            sha,
            T0 + timedelta(days=i),
            T0 + timedelta(days=i + 1) if i + 1 < len(items) else None,
            T0 + timedelta(days=i),
        )
        for i, (version_id, sha, _clauses) in enumerate(items)
    ]
    rows = ClauseRows()
    rows.add(f"D-{k}", records, ClauseHistory(traced, issued), T0)
    return rows.tables()


def columns(tables):
    return tuple(t.to_pydict() for t in (tables.ledger, tables.clauses, tables.cv, tables.ch))


def sequential(ledgers, start):
    out, number = [], start
    for items, ledger in zip(DOCUMENTS, ledgers, strict=True):
        traced, issued, number = trace_with_ledger(items, ledger, number)
        out.append((traced, issued))
    return out, number


def provisional(ledgers, start):
    """Each document traced from the provisional base, its rows shifted in
    order when a batch of them is put together for loading."""
    parts, bases, number = [], [], start
    for k, (items, ledger) in enumerate(zip(DOCUMENTS, ledgers, strict=True)):
        traced, issued, end = trace_with_ledger(items, ledger, PROVISIONAL_BASE)
        parts.append(rows_of(k, items, traced, issued))
        bases.append(number if end > PROVISIONAL_BASE else None)
        number += end - PROVISIONAL_BASE
    return columns(ClauseTables.concat(parts, bases)), number


def sequential_rows(ledgers, start):
    traces, number = sequential(ledgers, start)
    parts = [
        rows_of(k, items, traced, issued)
        for k, (items, (traced, issued)) in enumerate(zip(DOCUMENTS, traces, strict=True))
    ]
    return columns(ClauseTables.concat(parts)), number


def test_shifted_documents_equal_one_trace_after_another():
    expected, expected_next = sequential_rows([{}, {}, {}], 41)
    got, got_next = provisional([{}, {}, {}], 41)
    assert got_next == expected_next
    assert got == expected
    # the trace really issued fresh ids, split lineage included
    _ledger, clauses, cv, _ch = got
    assert min(int(i[2:]) for i in cv["clause_id"]) == 41
    assert max(int(i[2:]) for i in cv["clause_id"]) < 41 + 100
    assert any(clauses["lineage_clause_id"])


def test_ids_from_the_ledger_are_kept_as_they_are():
    first, number = sequential([{}, {}, {}], 1)
    ledgers = [dict(issued) for _traced, issued in first]
    # one document's ledger holds an id from far back; a new version is traced
    ledgers[0][sha256_hex(TERMS[0])] = LedgerEntry(
        ("P-000007",) + ledgers[0][sha256_hex(TERMS[0])].ids[1:]
    )
    expected, expected_next = sequential_rows(ledgers, number)
    got, got_next = provisional(ledgers, number)
    assert got == expected
    assert got_next == expected_next
    assert "P-000007" in got[2]["clause_id"]


def test_a_real_number_in_the_provisional_range_is_refused():
    check_real(PROVISIONAL_BASE - 1)
    with pytest.raises(NumberingError, match="provisional range"):
        check_real(PROVISIONAL_BASE)


def test_shift_id_moves_only_provisional_numbers():
    assert shift_id("P-000123", 500) == "P-000123"
    assert shift_id(f"P-{PROVISIONAL_BASE}", 500) == "P-000500"
    assert shift_id(f"P-{PROVISIONAL_BASE + 7}", 500) == "P-000507"


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.integers(1, 10**9).map(lambda n: f"P-{n:06d}"),
            st.integers(PROVISIONAL_BASE, PROVISIONAL_BASE + 10**7).map(lambda n: f"P-{n}"),
            st.sampled_from(["", "P-", "X-1000000000000", "P-abc"]),
        ),
        max_size=30,
    ),
    st.integers(1, 10**8),
    st.booleans(),
)
def test_shift_clause_ids_is_shift_id_on_every_element(ids, base, per_element):
    """The Arrow shift the parent runs is `shift_id`, element by element,
    with one base or one per element; nulls stay null."""
    bases = [base + 3 * k for k in range(len(ids))] if per_element else [base] * len(ids)
    given_base = pa.array(bases, pa.int64()) if per_element else base
    got = shift_clause_ids(pa.array(ids, pa.string()), given_base).to_pylist()
    assert got == [None if i is None else shift_id(i, b) for i, b in zip(ids, bases, strict=True)]


def test_concat_moves_each_part_onto_its_base_ledger_lists_and_lineage_included():
    items = DOCUMENTS[0]
    traced, issued, end = trace_with_ledger(items, {}, PROVISIONAL_BASE)
    tables = rows_of(0, items, traced, issued)
    real = rows_of(1, DOCUMENTS[1], *trace_with_ledger(DOCUMENTS[1], {}, 7)[:2])
    both = ClauseTables.concat([real, tables], [None, 41])
    assert both.cv.slice(0, real.cv.num_rows).equals(real.cv)  # real ids stay
    shifted = ClauseTables(
        *(
            getattr(both, name).slice(getattr(real, name).num_rows)
            for name in ("ledger", "clauses", "cv", "ch", "labels")
        )
    )
    ids = {i for ids in shifted.ledger.column("clause_ids").to_pylist() for i in ids}
    assert ids == set(shifted.cv.column("clause_id").to_pylist())
    assert ids == {f"P-{n:06d}" for n in range(41, 41 + end - PROVISIONAL_BASE)}
    lineage = shifted.clauses.column("lineage_clause_id").to_pylist()
    assert None in lineage  # absent lineage stays None
    assert any(lineage) and all(v is None or v in ids for v in lineage)
    # the other columns are the same
    assert shifted.cv.drop_columns(["clause_id"]).equals(tables.cv.drop_columns(["clause_id"]))
    assert shifted.labels.equals(tables.labels)


def test_tables_of_an_empty_build_concatenate_with_full_ones():
    items = DOCUMENTS[2]
    traced, issued, _end = trace_with_ledger(items, {}, 1)
    full = rows_of(2, items, traced, issued)
    both = ClauseTables.concat([ClauseRows().tables(), full])
    assert both.cv.num_rows == full.cv.num_rows > 0
    assert both.cv.schema == full.cv.schema
