"""Alignment of two versions' clauses: hash, similarity, moves, splits, merges."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

from transforms import align as align_module
from transforms.align import (
    Match,
    _length_window,
    _only,
    _other_bytes,
    _similar_pairs,
    _skip_chars,
    _text_body,
    _without,
    align_clauses,
)
from transforms.clauses import Clause, split_clauses


def kinds(matches: tuple[Match, ...]) -> list[tuple[int | None, int | None, str]]:
    return [(m.old, m.new, m.kind) for m in matches]


def assert_complete(matches: tuple[Match, ...], n_old: int, n_new: int) -> None:
    olds = sorted(m.old for m in matches if m.old is not None)
    news = sorted(m.new for m in matches if m.new is not None)
    assert olds == list(range(n_old))
    assert news == list(range(n_new))


OLD = """# Terms
## 1. Accounts
1.1 You must be at least 18 years old to create an account on the service.

1.2 You are responsible for all activity that happens under your account.

## 2. Payments
2.1 Fees are billed monthly in advance and are not refundable.

2.2 We may change our prices with thirty days notice by email.

## 3. Termination
3.1 You may close your account at any time from the settings page.
"""


def test_identical_versions_are_all_unchanged_by_hash() -> None:
    clauses = split_clauses(OLD)
    matches = align_clauses(clauses, clauses)
    assert kinds(matches) == [(i, i, "unchanged") for i in range(len(clauses))]
    assert {(m.similarity, m.method) for m in matches} == {(1.0, "hash")}


def test_an_edit_in_place_is_modified_by_similarity() -> None:
    old = split_clauses(OLD)
    new = split_clauses(OLD.replace("thirty days notice", "fourteen days notice"))
    matches = align_clauses(old, new)
    edited = [m for m in matches if m.kind != "unchanged"]
    assert [(m.old, m.new, m.kind, m.method) for m in edited] == [(3, 3, "modified", "similarity")]
    assert 0.9 < edited[0].similarity < 1.0


def test_renumbering_is_modified_with_similarity_one_and_heading_rename_is_no_move() -> None:
    old = split_clauses(OLD)
    renumbered = OLD.replace("## 2. Payments", "## 3. Payments").replace("2.1 ", "3.1 ")
    renumbered = renumbered.replace("2.2 ", "3.2 ").replace(
        "## 3. Termination", "## 4. Termination"
    )
    renumbered = renumbered.replace("3.1 You may close", "4.1 You may close")
    new = split_clauses(renumbered)
    matches = align_clauses(old, new)
    assert kinds(matches) == [
        (0, 0, "unchanged"),
        (1, 1, "unchanged"),
        (2, 2, "modified"),
        (3, 3, "modified"),
        (4, 4, "modified"),
    ]
    assert all(m.similarity == 1.0 and m.method == "hash" for m in matches)


def test_a_clause_moved_to_another_section_is_moved() -> None:
    old = split_clauses(OLD)
    moved_text = "1.2 You are responsible for all activity that happens under your account.\n"
    new_md = OLD.replace(moved_text, "").replace(
        "## 3. Termination\n", "## 3. Termination\n" + moved_text + "\n"
    )
    new = split_clauses(new_md)
    matches = align_clauses(old, new)
    assert kinds(matches) == [
        (0, 0, "unchanged"),
        (2, 1, "unchanged"),
        (3, 2, "unchanged"),
        (1, 3, "moved"),
        (4, 4, "unchanged"),
    ]


def test_reordering_within_a_section_moves_the_clause_out_of_order() -> None:
    paragraphs = [
        f"Clause about topic {word} with its own particular wording." for word in "abcdef"
    ]
    old = split_clauses("\n\n".join(paragraphs))
    reordered = paragraphs[1:5] + [paragraphs[0], paragraphs[5]]
    new = split_clauses("\n\n".join(reordered))
    matches = align_clauses(old, new)
    assert [(m.old, m.kind) for m in matches if m.kind != "unchanged"] == [(0, "moved")]
    assert_complete(matches, 6, 6)


def test_insert_and_delete() -> None:
    old = split_clauses(OLD)
    new_md = OLD.replace(
        "## 3. Termination\n",
        "## 3. Termination\nWe may suspend accounts that break the acceptable use policy.\n\n",
    ).replace("1.1 You must be at least 18 years old to create an account on the service.\n", "")
    new = split_clauses(new_md)
    matches = align_clauses(old, new)
    assert [(m.old, m.new, m.kind, m.method) for m in matches if m.kind != "unchanged"] == [
        (0, None, "removed", "none"),
        (None, 3, "added", "none"),
    ]


def test_split_keeps_the_more_similar_part_and_records_lineage() -> None:
    old = split_clauses(
        "Intro stays the same here.\n\n"
        "We collect usage data such as the pages you visit and the links you click. "
        "We also collect device data.\n\nOutro stays the same too.\n"
    )
    new = split_clauses(
        "Intro stays the same here.\n\n"
        "We collect usage data such as the pages you visit and the links you click.\n\n"
        "We also collect device data.\n\nOutro stays the same too.\n"
    )
    matches = align_clauses(old, new)
    assert [(m.old, m.new, m.kind, m.lineage) for m in matches] == [
        (0, 0, "unchanged", None),
        (1, 1, "modified", None),
        (None, 2, "added", 1),
        (2, 3, "unchanged", None),
    ]


def test_merge_keeps_the_more_similar_part_and_records_lineage() -> None:
    old = split_clauses(
        "Intro stays the same here.\n\n"
        "Short one.\n\n"
        "We retain your data for as long as your account is active and then delete it.\n\n"
        "Outro stays the same too.\n"
    )
    new = split_clauses(
        "Intro stays the same here.\n\n"
        "Short one. We retain your data for as long as your account is active and then delete it.\n\n"
        "Outro stays the same too.\n"
    )
    matches = align_clauses(old, new)
    assert [(m.old, m.new, m.kind, m.lineage) for m in matches] == [
        (0, 0, "unchanged", None),
        (1, None, "removed", 1),
        (2, 1, "modified", None),
        (3, 2, "unchanged", None),
    ]


def test_an_unrelated_new_clause_next_to_an_edit_is_not_a_split() -> None:
    old = split_clauses("We may change these terms at any time by posting them online.\n")
    new = split_clauses(
        "We may change these terms at any time by posting them on this page.\n\n"
        "Arbitration is mandatory for disputes in the United States.\n"
    )
    matches = align_clauses(old, new)
    assert [(m.old, m.new, m.kind, m.lineage) for m in matches] == [
        (0, 0, "modified", None),
        (None, 1, "added", None),
    ]


def test_duplicates_pair_in_order_when_one_copy_is_deleted() -> None:
    old = split_clauses("Same.\n\nOther clause.\n\nSame.\n")
    new = split_clauses("Other clause.\n\nSame.\n")
    matches = align_clauses(old, new)
    assert sorted(kinds(matches), key=str) == sorted(
        [(0, None, "removed"), (1, 0, "unchanged"), (2, 1, "unchanged")], key=str
    )


def test_empty_sides() -> None:
    clauses = split_clauses(OLD)
    assert kinds(align_clauses((), clauses)) == [(None, j, "added") for j in range(5)]
    assert kinds(align_clauses(clauses, ())) == [(i, None, "removed") for i in range(5)]
    assert align_clauses((), ()) == ()


def test_threshold_is_checked() -> None:
    with pytest.raises(ValueError, match="threshold"):
        align_clauses((), (), threshold=0.0)


def _document(rng: random.Random, n: int) -> list[str]:
    def word() -> str:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))

    return [
        f"{k // 10 + 1}.{k % 10 + 1} " + " ".join(word() for _ in range(rng.randint(15, 60))) + "."
        for k in range(n)
    ]


def test_three_hundred_clauses_align_quickly() -> None:
    rng = random.Random(7)
    paragraphs = _document(rng, 300)
    old = split_clauses("\n\n".join(paragraphs))
    edited = list(paragraphs)
    for k in range(0, 300, 10):  # 30 edits in place
        edited[k] = edited[k].replace(" ", " extra ", 1)
    del edited[152:157]
    edited[40:40] = _document(random.Random(8), 5)
    new = split_clauses("\n\n".join(edited))
    align_clauses(old, new)  # warm up
    started = time.perf_counter()
    matches = align_clauses(old, new)
    elapsed = time.perf_counter() - started
    assert_complete(matches, len(old), len(new))
    counts = {
        kind: sum(m.kind == kind for m in matches) for kind in ("modified", "added", "removed")
    }
    assert counts == {"modified": 30, "added": 5, "removed": 5}
    # generous bound against a pathological slowdown, not a benchmark
    assert elapsed < 1.0, elapsed


clause_texts = st.lists(
    st.sampled_from(
        [
            "We collect your name.",
            "We collect your email address and phone number.",
            "Fees are billed monthly.",
            "You may cancel at any time.",
            "We use cookies for analytics.",
            "Disputes go to arbitration.",
            "1.1 We collect your name.",
            "2.1 Fees are billed monthly.",
            "Same.",
        ]
    ),
    max_size=12,
)


def _clauses(texts: list[str], section: int) -> tuple[Clause, ...]:
    return split_clauses(f"# S{section}\n\n" + "\n\n".join(texts))


@settings(max_examples=200, deadline=None)
@given(clause_texts, clause_texts, st.integers(0, 1))
def test_every_index_appears_exactly_once_and_alignment_is_deterministic(
    old_texts: list[str], new_texts: list[str], section: int
) -> None:
    old, new = _clauses(old_texts, 0), _clauses(new_texts, section)
    matches = align_clauses(old, new)
    assert_complete(matches, len(old), len(new))
    assert align_clauses(old, new) == matches
    for m in matches:
        assert 0.0 <= m.similarity <= 1.0
        if m.old is None or m.new is None:
            assert (m.similarity, m.method) == (0.0, "none")
            assert m.kind == ("added" if m.old is None else "removed")
        else:
            assert m.kind in ("unchanged", "modified", "moved")
            if m.kind == "unchanged":
                assert old[m.old].text == new[m.new].text
            if m.method == "hash":
                assert m.similarity == 1.0
        if m.lineage is not None:
            assert m.kind in ("added", "removed")


# --- the similarity pass's pruning ---------------------------------------------

# a small alphabet, so that random pairs often reach (and sit exactly at) the threshold
short_texts = st.text(alphabet="ab c.", max_size=30)
thresholds = st.one_of(
    st.sampled_from([0.6, 0.5, 2 / 3, 0.75, 0.8, 0.9, 1.0]),
    st.floats(min_value=0.01, max_value=1.0),
)


@settings(max_examples=500, deadline=None)
@given(short_texts, short_texts, thresholds)
def test_length_window_keeps_every_pair_that_reaches_the_threshold(
    a: str, b: str, threshold: float
) -> None:
    low, high = _length_window(len(a), threshold)
    if fuzz.ratio(a, b) / 100.0 >= threshold:
        assert low <= len(b) <= high


def test_length_window_excludes_lengths_that_cannot_reach_the_threshold() -> None:
    # 100 chars vs 40: at best 2 * 40 / 140 = 0.571 < 0.6; vs 43: 86 / 143 = 0.601
    low, high = _length_window(100, 0.6)
    assert 40 < low <= 43
    # 100 vs 233: 200 / 333 = 0.6006; vs 240: 200 / 340 = 0.588
    assert 233 <= high < 240
    assert _length_window(10, 1.0) == (9.0, 11.0)


def _brute_force(queries: list[str], choices: list[str], threshold: float) -> list:
    """The similarity pass before pruning: every query against every choice."""
    found = []
    for q, query in enumerate(queries):
        scored = process.extract(
            query, choices, scorer=fuzz.ratio, score_cutoff=threshold * 100.0, limit=None
        )
        found.extend((q, c, score / 100.0) for _, score, c in scored if score / 100.0 >= threshold)
    return sorted(found)


@settings(max_examples=300, deadline=None)
@given(st.lists(short_texts, max_size=8), st.lists(short_texts, max_size=8), thresholds)
def test_similar_pairs_equal_the_brute_force(
    queries: list[str], choices: list[str], threshold: float
) -> None:
    found = _similar_pairs(queries, choices, threshold)
    assert len(found) == len(set(found))
    assert sorted(found) == _brute_force(queries, choices, threshold)
    pairwise = sorted(
        (q, c, fuzz.ratio(a, b) / 100.0)
        for q, a in enumerate(queries)
        for c, b in enumerate(choices)
        if fuzz.ratio(a, b) / 100.0 >= threshold
    )
    assert sorted(found) == pairwise


def test_similar_pairs_report_every_duplicate_of_a_query_and_of_a_choice() -> None:
    queries = ["We collect your name.", "Fees are billed monthly.", "We collect your name."]
    choices = ["We collect your full name.", "Cookies.", "We collect your full name."]
    found = sorted(_similar_pairs(queries, choices, 0.6))
    score = fuzz.ratio(queries[0], choices[0]) / 100.0
    assert score > 0.85
    assert found == [(0, 0, score), (0, 2, score), (2, 0, score), (2, 2, score)]
    assert _similar_pairs(queries, [], 0.6) == []
    assert _similar_pairs([], choices, 0.6) == []


# --- the bound on the LCS that `_similar_pairs` prunes with ----------------------

bound_chars = "ab ce.é中\t"  # ASCII and not, so both ways of deleting run
bound_texts = st.text(alphabet=bound_chars, max_size=60)


@settings(max_examples=1000, deadline=None)
@given(bound_texts, bound_texts, st.text(alphabet=bound_chars, max_size=4))
def test_lcs_without_skipped_characters_plus_their_fewer_count_bounds_the_lcs(
    a: str, b: str, skip: str
) -> None:
    a_rest, b_rest = _without(a, skip), _without(b, skip)
    assert a_rest == "".join(ch for ch in a if ch not in skip)
    assert b_rest == "".join(ch for ch in b if ch not in skip)
    bound = LCSseq.similarity(a_rest, b_rest) + min(len(a) - len(a_rest), len(b) - len(b_rest))
    assert LCSseq.similarity(a, b) <= bound


@settings(max_examples=1000, deadline=None)
@given(bound_texts, bound_texts, st.text(alphabet=bound_chars, max_size=4))
def test_lcs_without_skipped_characters_plus_that_of_the_skipped_ones_bounds_the_lcs(
    a: str, b: str, skip: str
) -> None:
    a_kept, b_kept = _only(a, skip, _other_bytes(skip)), _only(b, skip, _other_bytes(skip))
    assert a_kept == "".join(ch for ch in a if ch in skip)
    assert b_kept == "".join(ch for ch in b if ch in skip)
    bound = LCSseq.similarity(_without(a, skip), _without(b, skip)) + LCSseq.similarity(
        a_kept, b_kept
    )
    assert LCSseq.similarity(a, b) <= bound


def test_only_keeps_ascii_characters_of_any_text() -> None:
    skip = " e"
    assert _only("née à l’été \ud800e", skip, _other_bytes(skip)) == "e   e"


def test_skip_chars_are_the_most_frequent_ties_to_the_smaller() -> None:
    assert _skip_chars(["aab", "bcc", "c"], 2) == "ca"  # c: 3, then a and b: 2 each
    assert _skip_chars(["aab", "bcc", "c"], 9) == "cab"
    assert _skip_chars([], 4) == ""


# long enough and numerous enough to span several bands of the bound's pass
long_texts = st.text(alphabet="abcde .", min_size=0, max_size=80)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(long_texts, max_size=12),
    st.lists(long_texts, min_size=0, max_size=3 * align_module.BAND),
    thresholds,
)
def test_similar_pairs_equal_the_brute_force_on_longer_texts(
    queries: list[str], choices: list[str], threshold: float
) -> None:
    assert sorted(_similar_pairs(queries, choices, threshold)) == _brute_force(
        queries, choices, threshold
    )


def test_a_body_is_the_text_without_its_label_unless_it_is_only_a_label() -> None:
    assert _text_body("4.2 Fees  are due.") == "Fees are due."
    assert _text_body("(a)") == "(a)"
    assert _text_body("We collect data.") == "We collect data."
