"""Segmentation: Markdown into clauses under their heading path, no text lost."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from transforms import clauses as clauses_module
from transforms.clauses import (
    SENTENCE_SPLIT_CHARS,
    Clause,
    find_label,
    join_clauses,
    split_clauses,
    strip_label,
)
from transforms.records import sha256_hex

WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    return WORD.findall(text)


def texts(clauses: tuple[Clause, ...]) -> list[str]:
    return [c.text for c in clauses]


POLICY = """# Privacy Policy

Last updated: 1 September 2025

## 4. How we use your data

4.1 We use your data **to provide** the Services.

### Training

- (a) We may use conversations to train our models.
  Unless you opt out in the settings.
- (b) We do not train on business data.

1. First ordered item
2. Second ordered item

| Category | Purpose |
|---|---|
| Identifiers | Account management |
| Usage data | Analytics | extra cell |
| Geolocation |

## 5. Contact
"""


def test_realistic_policy_is_split_into_clauses_with_paths_labels_and_kinds() -> None:
    clauses = split_clauses(POLICY)
    got = [(c.heading_path, c.label, c.kind, c.text) for c in clauses]
    top = ("Privacy Policy",)
    use = (*top, "4. How we use your data")
    training = (*use, "Training")
    assert got == [
        (top, None, "paragraph", "Last updated: 1 September 2025"),
        (use, "4.1", "paragraph", "4.1 We use your data **to provide** the Services."),
        (
            training,
            "(a)",
            "list_item",
            "(a) We may use conversations to train our models. Unless you opt out in the settings.",
        ),
        (training, "(b)", "list_item", "(b) We do not train on business data."),
        (training, "1.", "list_item", "1. First ordered item"),
        (training, "2.", "list_item", "2. Second ordered item"),
        (training, None, "table_row", "| Category | Purpose |"),
        (training, None, "table_row", "| Identifiers | Account management |"),
        (training, None, "table_row", "| Usage data | Analytics | extra cell |"),
        (training, None, "table_row", "| Geolocation |"),
        ((*top, "5. Contact"), "5.", "heading", "5. Contact"),
    ]
    assert [c.ordinal for c in clauses] == list(range(len(clauses)))
    assert all(c.sha256 == sha256_hex(c.text) for c in clauses)
    assert words(join_clauses(clauses)) == words(POLICY)


def test_trafilatura_plain_output_one_block_per_line_without_blank_lines() -> None:
    # trafilatura without formatting: no blank lines, no heading markers,
    # nested items indented by two spaces
    text = (
        "Services agreement\n"
        "1. Services.\n"
        "- 1.1. Services Term. OpenAI will deliver the Services.\n"
        "  - a. Provisioning. To provision the Services, OpenAI requires an email.\n"
        "We collect personal information as follows:\n"
        "| Category of Personal Information | Disclosure | \n"
        "| Identifiers | We may disclose this information. | \n"
    )
    clauses = split_clauses(text)
    assert [(c.kind, c.label, c.text) for c in clauses] == [
        ("paragraph", None, "Services agreement"),
        ("list_item", "1.", "1. Services."),
        ("list_item", "1.1.", "1.1. Services Term. OpenAI will deliver the Services."),
        (
            "list_item",
            "a.",
            "a. Provisioning. To provision the Services, OpenAI requires an email.",
        ),
        ("paragraph", None, "We collect personal information as follows:"),
        ("table_row", None, "| Category of Personal Information | Disclosure |"),
        ("table_row", None, "| Identifiers | We may disclose this information. |"),
    ]
    assert all(c.heading_path == () for c in clauses)


def test_setext_headings_star_bullets_links_and_rules_of_clean_markdown() -> None:
    text = (
        "What is the Privacy Policy?\n"
        "===========================\n\n"
        "Highlights\n"
        "----------\n\n"
        "*   This Privacy Policy explains how we collect information.\n"
        "*   It also applies to [Meta Quest](https://example.org/quest).\n\n"
        "- - -\n\n"
        "Read the full Policy below.\n"
    )
    clauses = split_clauses(text)
    path = ("What is the Privacy Policy?", "Highlights")
    assert [(c.heading_path, c.kind, c.text) for c in clauses] == [
        (path, "list_item", "This Privacy Policy explains how we collect information."),
        (path, "list_item", "It also applies to [Meta Quest](https://example.org/quest)."),
        (path, "paragraph", "Read the full Policy below."),
    ]


def test_headings_with_no_body_become_heading_clauses_and_lose_no_text() -> None:
    text = (
        "# Terms\n## 1. Scope\n## 2. Fees\nYou pay the fees.\n## 3. Termination\n### 3.1 Notice\n"
    )
    clauses = split_clauses(text)
    assert [(c.heading_path, c.kind, c.label, c.text) for c in clauses] == [
        (("Terms", "1. Scope"), "heading", "1.", "1. Scope"),
        (("Terms", "2. Fees"), "paragraph", None, "You pay the fees."),
        (("Terms", "3. Termination"), "heading", "3.", "3. Termination"),
        (("Terms", "3. Termination", "3.1 Notice"), "heading", "3.1", "3.1 Notice"),
    ]
    assert words(join_clauses(clauses)) == words(text)


def test_a_document_of_headings_only_keeps_every_heading() -> None:
    text = "# A\n## B\n# C\n"
    clauses = split_clauses(text)
    assert [(c.heading_path, c.text) for c in clauses] == [
        (("A",), "A"),
        (("A", "B"), "B"),
        (("C",), "C"),
    ]
    assert words(join_clauses(clauses)) == ["A", "B", "C"]


def test_duplicate_identical_clauses_are_distinct_clauses() -> None:
    clauses = split_clauses("Same text.\n\nSame text.\n\n- Same text.\n")
    assert texts(clauses) == ["Same text."] * 3
    assert [c.ordinal for c in clauses] == [0, 1, 2]
    assert len({c.sha256 for c in clauses}) == 1


def test_one_enormous_paragraph_is_split_into_sentences() -> None:
    sentences = [f"Sentence number {n} says that the provider may change terms." for n in range(60)]
    paragraph = "7.1 " + " ".join(sentences)
    assert len(paragraph) > SENTENCE_SPLIT_CHARS
    clauses = split_clauses(paragraph)
    assert len(clauses) == 60
    assert clauses[0].text == "7.1 " + sentences[0]
    assert clauses[0].label == "7.1"
    assert all(c.label is None for c in clauses[1:])
    assert [c.text for c in clauses[1:]] == sentences[1:]
    assert words(join_clauses(clauses)) == words(paragraph)


def test_a_paragraph_below_the_threshold_stays_whole() -> None:
    paragraph = " ".join(["We may update this policy. You will be notified."] * 10)
    assert len(paragraph) < SENTENCE_SPLIT_CHARS
    assert texts(split_clauses(paragraph)) == [paragraph]


def test_enormous_paragraph_without_sentence_ends_is_kept_whole() -> None:
    paragraph = " ".join(["word"] * 1000)
    assert texts(split_clauses(paragraph)) == [paragraph]


def test_chinese_enormous_paragraph_splits_after_full_stops() -> None:
    sentence = "我们会根据适用法律保护您的个人信息并且不会出售给第三方。"
    paragraph = sentence * 100
    clauses = split_clauses(paragraph)
    assert texts(clauses) == [sentence] * 100


def test_non_latin_scripts_and_labels() -> None:
    text = "## 第一章 总则\n\n第一条 本协议适用于所有用户。\n\n一、用户须遵守法律。\n\nمرحبا بكم في خدماتنا.\n"
    clauses = split_clauses(text)
    assert [(c.label, c.text) for c in clauses] == [
        ("第一条", "第一条 本协议适用于所有用户。"),
        ("一、", "一、用户须遵守法律。"),
        (None, "مرحبا بكم في خدماتنا."),
    ]
    assert all(c.heading_path == ("第一章 总则",) for c in clauses)


def test_empty_and_blank_input_give_no_clauses() -> None:
    assert split_clauses("") == ()
    assert split_clauses("\n\n   \n\t\n") == ()
    assert split_clauses("|---|---|\n- - -\n") == ()


def test_labels() -> None:
    cases = {
        "4.2 Fees": "4.2",
        "4.2. Fees": "4.2.",
        "4. Fees": "4.",
        "(a) first": "(a)",
        "(iv) fourth": "(iv)",
        "iii. third": "iii.",
        "b) second": "b)",
        "**1.1 Services.** OpenAI": "1.1",
        "Section 12 Governing law": "Section 12",
        "2024 was a year": None,
        "U.S. law applies": None,
        "e.g. cookies": None,
        "We use data": None,
    }
    assert {text: (found[0] if (found := find_label(text)) else None) for text in cases} == cases
    assert strip_label("4.2 Fees apply.") == "Fees apply."
    assert strip_label("**4.2 Fees.** apply") == "** Fees.** apply"
    assert strip_label("Fees apply.") == "Fees apply."


# --- property: no text lost -------------------------------------------------

LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
CJK = "的一是在不了有和人这中大为上个国我以要他"
ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
word_strategy = st.one_of(
    st.text(LATIN, min_size=1, max_size=8),
    st.text(CJK, min_size=1, max_size=4),
    st.text(ARABIC, min_size=1, max_size=6),
    st.sampled_from(["4.2", "(a)", "iii.", "1.", "**bold**", "*it*", "[link](http://x.org/a)"]),
)
sentence_strategy = st.lists(word_strategy, min_size=1, max_size=12).map(
    lambda ws: " ".join(ws) + "."
)


@st.composite
def markdown_documents(draw) -> str:
    lines: list[str] = []
    heading_number = 0
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(
            st.sampled_from(["heading", "paragraph", "bullet", "ordered", "table", "long", "break"])
        )
        if kind == "heading":
            heading_number += 1  # distinct headings: join writes a repeated path once
            level = draw(st.integers(1, 4))
            lines.append("#" * level + f" H{heading_number} " + draw(sentence_strategy))
        elif kind == "paragraph":
            text = " ".join(draw(st.lists(sentence_strategy, min_size=1, max_size=4)))
            lines.append(text + draw(st.sampled_from(["", "  "])))
        elif kind == "long":
            lines.append(" ".join(draw(st.lists(sentence_strategy, min_size=1, max_size=3)) * 80))
        elif kind in ("bullet", "ordered"):
            for n in range(draw(st.integers(1, 4))):
                indent = draw(st.sampled_from(["", "", "  ", "    "]))
                marker = draw(st.sampled_from(["-", "*", "+"])) if kind == "bullet" else f"{n + 1}."
                lines.append(f"{indent}{marker} {draw(sentence_strategy)}")
                if draw(st.booleans()):
                    lines.append(f"{indent}   {draw(sentence_strategy)}")  # continuation
        elif kind == "table":
            width = draw(st.integers(1, 4))
            lines.append("| " + " | ".join(draw(word_strategy) for _ in range(width)) + " |")
            if draw(st.booleans()):
                lines.append("|" + "---|" * width)
            for _ in range(draw(st.integers(0, 4))):
                cells = draw(st.lists(word_strategy, min_size=0, max_size=5))  # ragged
                lines.append("| " + " | ".join(cells) + " |")
        else:
            lines.extend(["", "- - -"])
        if draw(st.booleans()):
            lines.append("")
    return "\n".join(lines)


@settings(max_examples=150, deadline=None)
@given(markdown_documents())
def test_splitting_loses_no_text_and_is_deterministic(markdown: str) -> None:
    clauses = split_clauses(markdown)
    assert words(join_clauses(clauses)) == words(markdown)
    assert split_clauses(markdown) == clauses
    assert [c.ordinal for c in clauses] == list(range(len(clauses)))
    for clause in clauses:
        assert clause.text and clause.text == " ".join(clause.text.split())
        assert clause.sha256 == sha256_hex(clause.text)
        assert clause.kind in ("paragraph", "list_item", "table_row", "heading")
        if clause.label is not None:
            assert clause.label in clause.text


def test_markdown_escapes_leave_heading_paths_and_labels() -> None:
    (clause,) = split_clauses("## 2\\. Usage Requirements\n\n2\\. You must be 13.\n")
    assert clause.heading_path == ("2. Usage Requirements",)
    assert clause.label == "2."
    assert clause.text == "2\\. You must be 13."


def test_hard_breaks_join_lines_but_headings_and_items_still_start_blocks() -> None:
    text = (
        "Meta Platforms Ireland Limited  \n4 Grand Canal Square  \nDublin 2\n## Contact  \n- item\n"
    )
    clauses = split_clauses(text)
    assert [(c.kind, c.heading_path, c.text) for c in clauses] == [
        ("paragraph", (), "Meta Platforms Ireland Limited 4 Grand Canal Square Dublin 2"),
        ("list_item", ("Contact",), "item"),
    ]


def test_an_oversized_table_row_is_split_by_cell_and_sentence():
    cell = " ".join(f"Sentence number {i} says something." for i in range(120))
    markdown = f"# Terms\n\n| Topic | Text |\n|---|---|\n| Retention | {cell} |\n| Short | row |\n"
    clauses = split_clauses(markdown)
    rows = [c for c in clauses if c.kind == "table_row"]
    assert rows[0].text == "| Topic | Text |"
    assert rows[1].text == "Retention"
    assert rows[2].text == "Sentence number 0 says something."
    assert rows[-1].text == "| Short | row |"
    assert all(len(c.text) <= 2000 for c in clauses)
    assert len(rows) == 1 + 1 + 120 + 1


# --- the parser's first-character tests ----------------------------------------

line_chars = st.sampled_from(
    list(" \t\u00a0\u2003\u3000=-*_#+|.)(:1٣３²aZ§第")  # blanks, markers, digits of all kinds
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(line_chars, min_size=1, max_size=12).map("".join))
def test_block_patterns_only_match_lines_that_start_as_the_parser_expects(line: str) -> None:
    first = line.lstrip()[:1]
    gates = [
        (clauses_module._SETEXT, clauses_module._SETEXT_STARTS),
        (clauses_module._BREAK, clauses_module._BREAK_STARTS),
        (clauses_module._ATX, clauses_module._ATX_STARTS),
        (clauses_module._BULLET, clauses_module._BULLET_STARTS),
    ]
    for pattern, starts in gates:
        if pattern.match(line):
            assert first and first in starts, (pattern.pattern, line)
    if clauses_module._ORDERED.match(line):
        assert first.isdigit(), line


def test_gated_patterns_still_recognise_their_blocks() -> None:
    markdown = (
        "Title\n=====\n\n  ## Sub ##\n\n - item\n\n\t* starred\n\n 1. one\n\n٣) three\n\n"
        " ***\n\n   | a | b |\n\nSub two\n--\n\nplain text"
    )
    got = [(c.heading_path, c.kind, c.text, c.label) for c in split_clauses(markdown)]
    assert got == [
        (("Title", "Sub"), "list_item", "item", None),
        (("Title", "Sub"), "list_item", "starred", None),
        (("Title", "Sub"), "list_item", "1. one", "1."),
        (("Title", "Sub"), "list_item", "٣) three", "٣)"),  # \d is any decimal digit
        (("Title", "Sub"), "table_row", "| a | b |", None),
        (("Title", "Sub two"), "paragraph", "plain text", None),
    ]


def test_the_ascii_spaces_are_those_str_split_splits_at() -> None:
    singles = {space for space in clauses_module._ASCII_SPACES if len(space) == 1}
    assert singles | {" "} == {chr(code) for code in range(128) if chr(code).isspace()}
    assert len(("a" + "".join(sorted(singles)) + "b").split()) == 2


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=" \t\n\r\x0b\x0c\x1c\x1f\u00a0\u2003\u3000ab.é中", max_size=12))
def test_normalise_space_keeps_a_normalised_text_and_collapses_the_others(text: str) -> None:
    assert clauses_module.normalise_space(text) == " ".join(text.split())
    if clauses_module._is_normalised_ascii(text):
        assert " ".join(text.split()) == text


def test_label_and_hash_depend_on_whether_the_clause_may_carry_a_label() -> None:
    text = "4.2 Fees are due monthly."
    plain = clauses_module._make_clause(0, (), "table_row", text, False)
    labelled = clauses_module._make_clause(1, ("Fees",), "paragraph", text, True)
    plain_again = clauses_module._make_clause(2, (), "table_row", text, False)
    assert (plain.label, labelled.label, plain_again.label) == (None, "4.2", None)
    assert plain.sha256 == labelled.sha256 == plain_again.sha256 == sha256_hex(text)
    assert labelled == Clause(1, ("Fees",), "4.2", "paragraph", text, sha256_hex(text))
