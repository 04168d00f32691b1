"""Clause ids with a ledger: discovery order never renumbers a clause."""

from dataclasses import replace

from transforms.align import align_clauses
from transforms.clauses import split_clauses
from transforms.lineage import LedgerEntry, changes_between, issue_ids, trace_with_ledger
from transforms.records import sha256_hex

V1 = "# Terms\n\nWe keep chats for 30 days.\n\nYou may cancel at any time.\n"
V2 = "# Terms\n\nWe keep chats for 5 years.\n\nYou may cancel at any time.\n\nWe train on your chats.\n"
V3 = "# Terms\n\nWe keep chats for 5 years.\n\nWe train on your chats unless you opt out.\n"


def versions(*texts):
    return [(f"v{i}", sha256_hex(t), split_clauses(t)) for i, t in enumerate(texts)]


def ids_by_text(traced, texts):
    return {
        clause.text: clause_id
        for t in traced
        for clause_id, clause in zip(t.clauses.ids, t.clauses.clauses, strict=True)
    }


def test_first_version_has_no_changes_and_later_ones_do():
    traced, issued, number = trace_with_ledger(versions(V1, V2, V3), {}, 1)
    assert traced[0].changes == ()
    kinds = [(c.kind, c.new_text) for c in traced[1].changes]
    assert ("modified", "We keep chats for 5 years.") in kinds
    assert ("added", "We train on your chats.") in kinds
    assert {c.kind for c in traced[2].changes} == {"modified", "removed"}
    assert len(issued) == 3
    assert number == 1 + len({i for t in traced for i in t.clauses.ids})


def test_rebuild_with_the_ledger_reproduces_ids_and_changes():
    traced, issued, number = trace_with_ledger(versions(V1, V2, V3), {}, 1)
    again, new, number_again = trace_with_ledger(versions(V1, V2, V3), issued, number)
    assert new == {}
    assert number_again == number
    assert [t.clauses.ids for t in again] == [t.clauses.ids for t in traced]
    assert [t.changes for t in again] == [t.changes for t in traced]


def test_backfilled_older_version_does_not_renumber_existing_clauses():
    traced, ledger, number = trace_with_ledger(versions(V2, V3), {}, 1)
    before = {t.version_id: t.clauses.ids for t in traced}
    full, issued, _ = trace_with_ledger(versions(V1, V2, V3), ledger, number)
    # v1 and v2 of the full trace are V2 and V3: their ids are as issued before
    assert full[1].clauses.ids == before["v0"]
    assert full[2].clauses.ids == before["v1"]
    # the older version shares ids with the clauses it has in common
    v1_ids = dict(zip((c.text for c in full[0].clauses.clauses), full[0].clauses.ids, strict=True))
    v2_ids = dict(zip((c.text for c in full[1].clauses.clauses), full[1].clauses.ids, strict=True))
    assert v1_ids["You may cancel at any time."] == v2_ids["You may cancel at any time."]
    assert list(issued) == [sha256_hex(V1)]
    assert issued[sha256_hex(V1)].shas == tuple(c.sha256 for c in full[0].clauses.clauses)
    # the clause only the old version had gets a fresh number beyond every issued id
    fresh = [i for i in full[0].clauses.ids if i not in set(v2_ids.values())]
    assert all(int(i[2:]) >= number for i in fresh)


def test_a_b_a_reuses_the_ids_of_the_first_a():
    traced, issued, _ = trace_with_ledger(versions(V1, V2, V1), {}, 1)
    assert traced[0].clauses.ids == traced[2].clauses.ids
    assert len(issued) == 2


def test_ledger_ids_win_over_the_alignment():
    old = split_clauses(V1)
    first, _, number = issue_ids(None, old, 1)
    # a ledger that says the second version's first clause is a new clause
    new = split_clauses(V2)
    forced = ("P-000900",) + tuple(first.ids[1:]) + ("P-000901",)
    ledger = {sha256_hex(V1): LedgerEntry(first.ids), sha256_hex(V2): LedgerEntry(forced)}
    traced, issued, _ = trace_with_ledger(versions(V1, V2), ledger, number)
    assert issued == {}
    assert traced[1].clauses.ids == forced
    kinds = {(c.kind, c.clause_id) for c in traced[1].changes}
    assert ("added", "P-000900") in kinds and ("removed", first.ids[0]) in kinds
    assert len(new) == len(forced)


def test_a_new_splitting_rule_keeps_the_ids_of_unchanged_clauses():
    traced, ledger, number = trace_with_ledger(versions(V1, V2), {}, 1)
    before = dict(
        zip((c.text for c in traced[1].clauses.clauses), traced[1].clauses.ids, strict=True)
    )
    # the same texts, split differently: the last two clauses become one
    resplit = []
    for vid, sha, clauses in versions(V1, V2):
        if vid == "v1":
            merged = clauses[-2].text + " " + clauses[-1].text
            clauses = clauses[:-2] + (replace(clauses[-1], text=merged, sha256=sha256_hex(merged)),)
        resplit.append((vid, sha, clauses))
    again, issued, _ = trace_with_ledger(resplit, ledger, number)
    assert list(issued) == [sha256_hex(V2)]  # only the re-split text gets a new entry
    after = dict(zip((c.text for c in again[1].clauses.clauses), again[1].clauses.ids, strict=True))
    kept = [text for text in after if text in before]
    assert kept == ["We keep chats for 5 years."]
    assert all(before[text] == after[text] for text in kept)
    assert again[0].clauses.ids == traced[0].clauses.ids
    assert len(set(again[1].clauses.ids)) == len(again[1].clauses.ids)


V4 = "# Terms\n\n## Data\n\nWe keep chats for 5 years.\n\n## Training\n\nWe train on chats unless you opt out.\n"


def assert_changes_are_those_between_consecutive_versions(traced):
    assert traced[0].changes == ()
    for before, after in zip(traced, traced[1:], strict=False):
        assert after.changes == changes_between(before.clauses, after.clauses)


def test_trace_reuses_the_alignment_it_issued_ids_with(monkeypatch):
    import transforms.lineage as lineage

    calls = []

    def counting_align(old, new, **kwargs):
        calls.append((old, new))
        return align_clauses(old, new, **kwargs)

    monkeypatch.setattr(lineage, "align_clauses", counting_align)
    items = versions(V1, V2, V3, V4)
    traced, _issued, next_number = trace_with_ledger(items, {}, 1)
    # one alignment per consecutive pair: issuing ids and the changes share it
    assert calls == [(a[2], b[2]) for a, b in zip(items, items[1:], strict=False)]
    monkeypatch.undo()
    assert_changes_are_those_between_consecutive_versions(traced)
    # the same ids as issue_ids gives, version by version
    prev, number = None, 1
    for k, (_vid, _sha, clauses) in enumerate(items):
        prev, _changes, number = issue_ids(prev, clauses, number)
        assert prev.ids == traced[k].clauses.ids
    assert number == next_number


def test_changes_of_a_partly_known_history_are_those_between_its_versions():
    traced, issued, number = trace_with_ledger(versions(V2, V4), {}, 1)
    # a backfill discovers V1 before V2 and V3 between them; V2 and V4 are known
    full, new, _ = trace_with_ledger(versions(V1, V2, V3, V4), issued, number)
    assert set(new) == {sha256_hex(V1), sha256_hex(V3)}
    assert full[1].clauses.ids == traced[0].clauses.ids
    assert full[3].clauses.ids == traced[1].clauses.ids
    assert_changes_are_those_between_consecutive_versions(full)
    # a stale entry (one clause's hash no longer fits) goes through the alignment again
    entry = issued[sha256_hex(V4)]
    stale = {sha256_hex(V4): LedgerEntry(entry.ids, ("0" * 64,) + entry.shas[1:])}
    again, renewed, _ = trace_with_ledger(versions(V2, V4), {**issued, **stale}, number)
    assert list(renewed) == [sha256_hex(V4)]
    assert_changes_are_those_between_consecutive_versions(again)
