"""Word-level diff: ops, applying them, rendering them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.diff import DiffError, DiffOp, apply_diff, diff_words, render_diff

texts = st.lists(
    st.sampled_from(["we", "may", "use", "your", "data", "to", "train", "models", "不", "بيانات"])
    | st.text("abcxyz", min_size=1, max_size=4),
    max_size=40,
).map(" ".join)
spaced = st.builds(
    lambda text, gap: text.replace(" ", gap), texts, st.sampled_from([" ", "  ", "\n", " \t "])
)


def test_word_level_ops() -> None:
    ops = diff_words("We may use your data.", "We will not use your  data  for training.")
    assert ops == (
        DiffOp("equal", "We", "We"),
        DiffOp("replace", "may", "will not"),
        DiffOp("equal", "use your", "use your"),
        DiffOp("replace", "data.", "data for training."),
    )
    assert apply_diff("We may use your data.", ops) == "We will not use your data for training."


def test_added_and_removed_text_diff_against_nothing() -> None:
    assert diff_words("", "New clause.") == (DiffOp("insert", "", "New clause."),)
    assert diff_words("Old clause.", "") == (DiffOp("delete", "Old clause.", ""),)
    assert diff_words("", "") == ()


def test_render_shows_both_sides_and_elides_long_kept_runs() -> None:
    old = " ".join(f"w{n}" for n in range(40)) + " fee is ten dollars"
    new = " ".join(f"w{n}" for n in range(40)) + " fee is twenty dollars"
    rendered = render_diff(diff_words(old, new), context=3)
    assert rendered == "… w39 fee is [-ten-]{+twenty+} dollars"
    middle = render_diff(
        [
            DiffOp("delete", "a", ""),
            DiffOp("equal", "1 2 3 4 5 6 7 8", "1 2 3 4 5 6 7 8"),
            DiffOp("insert", "", "b"),
            DiffOp("equal", "x y z w", "x y z w"),
        ],
        context=2,
    )
    assert middle == "[-a-] 1 2 … 7 8 {+b+} x y …"


def test_render_of_an_unchanged_text_is_the_text() -> None:
    assert render_diff(diff_words("a b c", "a b c")) == "a b c"


def test_apply_rejects_ops_of_another_text() -> None:
    ops = diff_words("a b c", "a x c")
    with pytest.raises(DiffError, match="expects"):
        apply_diff("a b d", ops)
    with pytest.raises(DiffError, match="cover"):
        apply_diff("a b c extra", ops)
    with pytest.raises(DiffError, match="unknown"):
        apply_diff("a", [DiffOp("swap", "a", "b")])


@settings(max_examples=200, deadline=None)
@given(spaced)
def test_diff_of_a_text_with_itself_has_only_equal_ops(text: str) -> None:
    ops = diff_words(text, text)
    assert all(op.op == "equal" for op in ops)
    assert apply_diff(text, ops) == " ".join(text.split())


@settings(max_examples=300, deadline=None)
@given(spaced, spaced)
def test_applying_the_diff_gives_the_new_text(old: str, new: str) -> None:
    ops = diff_words(old, new)
    assert apply_diff(old, ops) == " ".join(new.split())
    # the ops hold both texts in full
    assert " ".join(op.old for op in ops if op.old) == " ".join(old.split())
    assert " ".join(op.new for op in ops if op.new) == " ".join(new.split())
    for op in ops:
        assert op.op in ("equal", "insert", "delete", "replace")
        if op.op == "equal":
            assert op.old == op.new


@settings(max_examples=300, deadline=None)
@given(spaced | st.sampled_from(["", " ", "\t\n"]))
def test_a_text_against_nothing_is_one_op_of_its_words(text: str) -> None:
    words = " ".join(text.split())
    expected_insert = (DiffOp("insert", "", words),) if words else ()
    expected_delete = (DiffOp("delete", words, ""),) if words else ()
    assert diff_words("", text) == expected_insert
    assert diff_words(text, "") == expected_delete


def test_formatting_only_changes_are_recognised():
    from transforms.diff import is_formatting_only

    assert is_formatting_only('At xAI ("xAI", "we")', 'At xAI ("**xAI**", "**we**")')
    assert is_formatting_only(
        "See [our policy](https://a.test/x).", "See [our policy](https://a.test/y)."
    )
    assert not is_formatting_only("We keep data 30 days.", "We keep data **90** days.")
    assert not is_formatting_only("Same.", "Same.")
    assert not is_formatting_only(None, "Added.")
