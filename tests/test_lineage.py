"""Stable clause ids over versions, and the exact change set of random edits."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.clauses import split_clauses
from transforms.diff import apply_diff
from transforms.lineage import (
    LineageError,
    VersionClauses,
    format_clause_id,
    issue_ids,
    trace_document,
)

V1 = """# Terms
## 1. Accounts
1.1 You must be at least 18 years old to create an account.

1.2 You are responsible for all activity under your account.
## 2. Payments
2.1 Fees are billed monthly in advance and are not refundable.
"""
V2 = """# Terms
## 1. Accounts
1.1 You must be at least 16 years old to create an account.

1.2 You are responsible for all activity under your account.

1.3 We may suspend accounts that break these terms.
"""


def test_first_version_gets_fresh_ids_in_ordinal_order_and_all_added() -> None:
    clauses = split_clauses(V1)
    version, changes, next_number = issue_ids(None, clauses, 41)
    assert version.ids == ("P-000041", "P-000042", "P-000043")
    assert version.clauses == clauses
    assert next_number == 44
    assert [(c.kind, c.clause_id, c.new_ordinal, c.rendered) for c in changes] == [
        ("added", "P-000041", 0, "{+" + clauses[0].text + "+}"),
        ("added", "P-000042", 1, "{+" + clauses[1].text + "+}"),
        ("added", "P-000043", 2, "{+" + clauses[2].text + "+}"),
    ]


def test_ids_carry_over_and_changes_describe_the_edit() -> None:
    first, _, number = issue_ids(None, split_clauses(V1), 1)
    second, changes, number = issue_ids(first, split_clauses(V2), number)
    assert second.ids == ("P-000001", "P-000002", "P-000004")
    assert number == 5
    summary = [(c.kind, c.clause_id, c.old_ordinal, c.new_ordinal) for c in changes]
    assert summary == [
        ("modified", "P-000001", 0, 0),
        ("removed", "P-000003", 2, None),  # in place: after the old clause before it
        ("added", "P-000004", None, 2),
    ]
    modified = changes[0]
    assert modified.method == "similarity" and 0.9 < modified.similarity < 1
    assert "[-18-]{+16+}" in modified.rendered
    assert apply_diff(modified.old_text or "", modified.ops) == modified.new_text
    assert changes[1].old_text == "2.1 Fees are billed monthly in advance and are not refundable."
    assert changes[1].new_text is None


def test_custom_prefix_and_width() -> None:
    version, _, number = issue_ids(None, split_clauses("One.\n\nTwo.\n"), 7, prefix="C", width=3)
    assert version.ids == ("C007", "C008") and number == 9
    with pytest.raises(ValueError):
        format_clause_id(0)


def test_version_clauses_must_have_one_id_per_clause() -> None:
    with pytest.raises(LineageError):
        VersionClauses(("P-000001",), ())


def test_backfilled_older_version_keeps_existing_ids() -> None:
    # known history: V1 then V2; an older V0 is discovered later and aligned
    # against its nearest neighbour V1, after the existing ones
    traced, number = trace_document([("v1", split_clauses(V1)), ("v2", split_clauses(V2))], 1)
    v0 = split_clauses(V1 + "\n2.2 Late payments carry interest.\n")
    older, changes, after = issue_ids(traced[0].clauses, v0, number)
    assert older.ids == (*traced[0].clauses.ids, f"P-{number:06d}")
    assert after == number + 1
    assert [c.kind for c in changes] == ["added"]
    replay, _ = trace_document([("v1", split_clauses(V1)), ("v2", split_clauses(V2))], 1)
    assert replay == traced


def test_trace_is_reproducible_and_identical_versions_change_nothing() -> None:
    versions = [("a", split_clauses(V1)), ("b", split_clauses(V1)), ("c", split_clauses(V2))]
    traced, number = trace_document(versions, 100)
    assert trace_document(versions, 100) == (traced, number)
    assert [t.version_id for t in traced] == ["a", "b", "c"]
    assert traced[1].changes == ()
    assert traced[1].clauses.ids == traced[0].clauses.ids


# --- property: random edits give exactly the expected change set ------------


@dataclass
class Model:
    """A generated document: sections of clauses, each clause with a uid."""

    sections: list[tuple[str, list[tuple[int, tuple[str, ...]]]]]  # (title, [(uid, sentences)])
    offset: int = 1  # the number of the first section
    next_uid: int = 0
    # the edit that produced this version
    moved: set[int] = field(default_factory=set)
    split: dict[int, tuple[int, int]] = field(default_factory=dict)  # old uid -> new uids
    merged: dict[int, tuple[int, int]] = field(default_factory=dict)  # new uid -> old uids

    def render(self) -> str:
        lines = ["# Terms of Service", ""]
        for s, (title, clauses) in enumerate(self.sections):
            number = s + self.offset
            lines += [f"## {number}. {title}", ""]
            for k, (_, sentences) in enumerate(clauses):
                lines += [f"{number}.{k + 1} " + " ".join(sentences), ""]
        return "\n".join(lines)

    def uids(self) -> list[int]:
        return [uid for _, clauses in self.sections for uid, _ in clauses]

    def copy(self) -> Model:
        sections = [(title, list(clauses)) for title, clauses in self.sections]
        return Model(sections, self.offset, self.next_uid)


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
        for _ in range(rng.randint(low, high))
    )


def _sentences(rng: random.Random) -> tuple[str, ...]:
    return tuple(_words(rng, 5, 12).capitalize() + "." for _ in range(2))


def _new_uid(model: Model) -> int:
    model.next_uid += 1
    return model.next_uid


def initial_model(rng: random.Random) -> Model:
    model = Model([])
    for s in range(rng.randint(2, 4)):
        clauses = [(_new_uid(model), _sentences(rng)) for _ in range(rng.randint(1, 4))]
        model.sections.append((f"Section title {_words(rng, 1, 3)} {s}", clauses))
    return model


# a seeded Random, not st.randoms(): Hypothesis's own random shrinks towards
# identical words, and identical clauses make "which copy is new" undecidable
seeds = st.integers(0, 2**32 - 1).map(random.Random)

EDITS = ("insert", "delete", "edit", "move", "renumber", "split", "merge", "none")


def edit(model: Model, rng: random.Random, kind: str) -> Model:
    """A copy of the model with one edit applied (or unchanged if it cannot apply)."""
    new = model.copy()
    sections = new.sections
    s = rng.randrange(len(sections))
    clauses = sections[s][1]
    k = rng.randrange(len(clauses))
    if kind == "insert":
        clauses.insert(rng.randint(0, len(clauses)), (_new_uid(new), _sentences(rng)))
    elif kind == "delete" and len(clauses) > 1:  # a section never empties (no orphan heading)
        del clauses[k]
    elif kind == "edit":
        uid, sentences = clauses[k]
        words = sentences[-1].split()
        words[rng.randrange(len(words) - 1)] = "changedword"
        clauses[k] = (uid, (*sentences[:-1], " ".join(words)))
    elif kind == "move" and len(clauses) > 1 and len(sections) > 1:
        target = rng.choice([t for t in range(len(sections)) if t != s])
        item = clauses.pop(k)
        destination = sections[target][1]
        destination.insert(rng.randint(0, len(destination)), item)
        new.moved = {item[0]}
    elif kind == "renumber":
        new.offset = model.offset + rng.randint(1, 3)
    elif kind == "split" and len(clauses[k][1]) > 1:
        uid, sentences = clauses[k]
        a, b = _new_uid(new), _new_uid(new)
        cut = rng.randint(1, len(sentences) - 1)
        clauses[k : k + 1] = [(a, sentences[:cut]), (b, sentences[cut:])]
        new.split = {uid: (a, b)}
    elif kind == "merge" and k + 1 < len(clauses):
        (u1, s1), (u2, s2) = clauses[k], clauses[k + 1]
        merged = _new_uid(new)
        clauses[k : k + 2] = [(merged, s1 + s2)]
        new.merged = {merged: (u1, u2)}
    return new


def check_step(before: Model, after: Model, old_ids: dict[int, str], traced) -> dict[int, str]:
    """Assert the ids and the change set of one version; return uid -> id for it."""
    new_uids = after.uids()
    assert len(traced.clauses.ids) == len(new_uids)
    new_ids = dict(zip(new_uids, traced.clauses.ids, strict=True))
    old_texts = {uid: c.text for uid, c in zip(before.uids(), _clauses_of(before), strict=True)}
    new_texts = {uid: c.text for uid, c in zip(new_uids, traced.clauses.clauses, strict=True)}
    expected: set[tuple[str, str, str | None]] = set()

    for parent, parts in after.split.items():
        survivors = [p for p in parts if new_ids[p] == old_ids[parent]]
        assert len(survivors) == 1, "exactly one part of a split keeps the id"
        (other,) = [p for p in parts if p != survivors[0]]
        expected.add(("modified", old_ids[parent], None))
        expected.add(("added", new_ids[other], old_ids[parent]))
        new_ids[survivors[0]] = old_ids[parent]
    for merged, parts in after.merged.items():
        survivors = [p for p in parts if old_ids[p] == new_ids[merged]]
        assert len(survivors) == 1, "the merged clause keeps one of the two ids"
        (other,) = [p for p in parts if p != survivors[0]]
        expected.add(("modified", new_ids[merged], None))
        expected.add(("removed", old_ids[other], new_ids[merged]))
    handled_old = set(after.split) | {p for parts in after.merged.values() for p in parts}
    handled_new = {p for parts in after.split.values() for p in parts} | set(after.merged)

    for uid in old_ids.keys() - new_ids.keys() - handled_old:
        expected.add(("removed", old_ids[uid], None))
    for uid in new_ids.keys() - old_ids.keys() - handled_new:
        assert new_ids[uid] not in old_ids.values(), "a new clause gets a fresh id"
        expected.add(("added", new_ids[uid], None))
    for uid in new_ids.keys() & old_ids.keys():
        assert new_ids[uid] == old_ids[uid], "a surviving clause keeps its id"
        if uid in after.moved:
            expected.add(("moved", new_ids[uid], None))
        elif old_texts[uid] != new_texts[uid]:
            expected.add(("modified", new_ids[uid], None))

    actual = [(c.kind, c.clause_id, c.lineage_clause_id) for c in traced.changes]
    assert len(actual) == len(set(actual))
    assert set(actual) == expected
    assert len(set(traced.clauses.ids)) == len(traced.clauses.ids)
    for change in traced.changes:
        assert apply_diff(change.old_text or "", change.ops) == (change.new_text or "")
    return {uid: new_ids[uid] for uid in new_uids}


def _clauses_of(model: Model):
    return split_clauses(model.render())


@settings(max_examples=120, deadline=None)
@given(seeds, st.lists(st.sampled_from(EDITS), min_size=1, max_size=5))
def test_random_edits_yield_exactly_the_expected_changes(
    rng: random.Random, edits: list[str]
) -> None:
    models = [initial_model(rng)]
    for kind in edits:
        models.append(edit(models[-1], rng, kind))
    versions = [(f"v{n}", _clauses_of(model)) for n, model in enumerate(models)]
    for (_, clauses), model in zip(versions, models, strict=True):
        assert len(clauses) == len(model.uids())  # the splitter sees one clause per line
    traced, number = trace_document(versions, 1)
    assert trace_document(versions, 1) == (traced, number)  # re-running changes nothing

    ids = dict(zip(models[0].uids(), traced[0].clauses.ids, strict=True))
    assert [c.kind for c in traced[0].changes] == ["added"] * len(ids)
    for before, after, step in zip(models, models[1:], traced[1:], strict=False):
        ids = check_step(before, after, ids, step)
    issued = {i for t in traced for i in t.clauses.ids}
    assert number == len(issued) + 1


@settings(max_examples=40, deadline=None)
@given(seeds)
def test_identical_versions_give_zero_changes(rng: random.Random) -> None:
    clauses = _clauses_of(initial_model(rng))
    first, _, number = issue_ids(None, clauses, 1)
    second, changes, after = issue_ids(first, clauses, number)
    assert changes == ()
    assert second.ids == first.ids
    assert after == number
