"""Clause labels: each category's wording, the triggers' soundness, purity."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.classify import (
    _COMPILED,
    BY_NAME,
    CATEGORIES,
    MATCH_CHARS,
    classify_clause,
    readable,
)

EXAMPLES = {
    "ai_training": "We may use the content you submit, including your chats, to train our models.",
    "human_review": "Conversations may be reviewed by our trained reviewers to improve safety.",
    "content_license": (
        "You grant us a worldwide, royalty-free, sublicensable licence to host and use "
        "your content."
    ),
    "feedback_license": (
        "If you send us feedback, we may use it for any purpose without compensation to you."
    ),
    "data_retention": "We retain your account data for up to 5 years after you close it.",
    "opt_out": "You can opt out of this use at any time in your settings.",
    "sale_of_data": "We sell personal information to data brokers.",
    "data_sharing": "We may share your information with advertisers and other third parties.",
    "international_transfer": (
        "Your data may be transferred to and processed in countries outside the EEA."
    ),
    "sensitive_data": "We do not collect biometric data or precise geolocation.",
    "children": "The service is not directed to children under 13.",
    "automated_decisions": "We do not make decisions based solely on automated processing.",
    "arbitration": "Any dispute will be resolved by binding arbitration on an individual basis.",
    "liability_limit": "The service is provided as is, and we will not be liable for lost profits.",
    "unilateral_changes": "We may modify these terms at any time by posting the new version.",
    "termination": "We may suspend or terminate your account if you breach these terms.",
}
NEUTRAL = [
    "These terms were last updated on 1 March 2024.",
    "Contact us at the address below.",
    "Section 4 describes the fees for paid plans.",
    "",
]


def _without_triggers(text: str) -> list[tuple[str, str, str]]:
    """What `classify_clause` returns when every category's rules are searched."""
    plain = readable(text)
    out = []
    for category, rules in _COMPILED:
        for rule, pattern in rules:
            found = pattern.search(plain)
            if found:
                out.append((category.name, f"{category.name}/{rule}", found.group(0)[:MATCH_CHARS]))
                break
    return out


def test_every_category_has_an_example():
    assert set(EXAMPLES) == {c.name for c in CATEGORIES}
    assert len(BY_NAME) == len(CATEGORIES)


@pytest.mark.parametrize("category", sorted(EXAMPLES))
def test_each_category_recognises_its_wording(category):
    labels = classify_clause(EXAMPLES[category])
    named = {label.category: label for label in labels}
    assert category in named, labels
    label = named[category]
    assert label.severity == BY_NAME[category].severity in ("high", "medium", "low")
    assert label.rule.startswith(category + "/")
    assert label.matched and label.matched in readable(EXAMPLES[category])
    assert label.regulations == BY_NAME[category].regulations


@pytest.mark.parametrize("text", NEUTRAL)
def test_a_clause_without_any_provision_gets_no_label(text):
    assert classify_clause(text) == ()


def test_the_retention_label_keeps_the_period_and_the_markup_is_read_through():
    text = "**Retention.** We [keep](https://example.com/retention) chats for *five years*."
    assert readable(text) == "retention. we keep chats for five years."
    (label,) = [lb for lb in classify_clause(text) if lb.category == "data_retention"]
    assert label.matched == "keep chats for five years"


def test_a_control_named_in_other_words_is_an_opt_out():
    text = "You can turn this off at any time in your privacy settings."
    assert "opt_out" in {label.category for label in classify_clause(text)}


def test_labels_come_in_taxonomy_order_one_per_category():
    text = EXAMPLES["ai_training"] + " " + EXAMPLES["opt_out"] + " " + EXAMPLES["ai_training"]
    names = [label.category for label in classify_clause(text)]
    order = [c.name for c in CATEGORIES]
    assert names == sorted(set(names), key=order.index)
    assert {"ai_training", "opt_out"} <= set(names)


# single words, and the phrases the examples' rules matched (so that a
# drawn text often holds a whole match, with or without its neighbours)
_FRAGMENTS = sorted(
    {w for text in EXAMPLES.values() for w in readable(text).replace(".", " ").split()}
    | {lb.matched for text in EXAMPLES.values() for lb in classify_clause(text)}
    | {"under 13", "at least 18", "opt-out", "fine-tune", "months", "licence", "not"}
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=12), st.sampled_from(["", "**", "_"]))
def test_the_triggers_never_hide_a_match(words, mark):
    """A category is searched only when one of its trigger words is in the
    text: the result is what searching every rule gives."""
    text = mark + " ".join(words) + mark
    got = [(lb.category, lb.rule, lb.matched) for lb in classify_clause(text)]
    assert got == _without_triggers(text)


@pytest.mark.parametrize("text", [*EXAMPLES.values(), *NEUTRAL])
def test_the_triggers_never_hide_a_match_on_the_examples(text):
    got = [(lb.category, lb.rule, lb.matched) for lb in classify_clause(text)]
    assert got == _without_triggers(text)
