"""Segmentation: one version's Markdown into clauses under their heading path.

A clause is the smallest unit a lawyer would cite: a paragraph, a list item
or a table row, with the headings above it as context.

The splitter reads the Markdown that the extract stage produces (trafilatura
2.3 `output_format="markdown"`) and hand-made Markdown alike. Decisions:

- **Blocks are lines.** trafilatura writes one block per line and, without
  formatting, no blank line between blocks, so every non-blank line starts a
  new block. A line continues the block above only when it is indented under
  a list item, or when the line above ends in a Markdown hard break (two
  spaces or a backslash). Hard-wrapped paragraphs are therefore one clause
  per line; trafilatura never hard-wraps.
- **Headings are context.** ATX (`#`..`######`) and setext (`===`/`---`
  underline) headings feed `heading_path` and are not clauses. A heading with
  no body at all (no clause before the next heading of the same or a higher
  level) would lose its text, so it becomes a clause of kind ``"heading"``
  whose `heading_path` ends with the heading itself and whose text is the
  heading's text.
- **Lists.** The bullet (`-`, `*`, `+`) is markup and is dropped; an ordered
  marker (`1.`, `2)`) is the text's own number and stays in the text (it is
  also the label). Nested items are clauses of their own.
- **Tables.** One clause per row, the header row included (it is the first
  row clause of its table); the `|---|` separator row is markup and is
  dropped. A row's text is its cells, whitespace-normalised, as
  ``"| a | b |"``. Ragged rows are taken as they are. A row longer than
  `SENTENCE_SPLIT_CHARS` (a whole section laid out in one cell) becomes one
  clause per sentence of each cell, without the pipes.
- **Thematic breaks** (`---`, `* * *`) are markup and are dropped.
- **Enormous paragraphs.** A paragraph or list item longer than
  `SENTENCE_SPLIT_CHARS` is split into sentences (at `.`, `!`, `?` followed by
  whitespace and not by a lower-case letter, or after `。！？`); the first
  sentence keeps the label. Below the threshold a paragraph stays whole.
  Single sentences keep ids stable when one sentence of a wall of text
  changes.
- **Heading paths** drop the heading markers, an emphasis wrapping the
  whole heading and Markdown backslash escapes (``2\\. Usage`` -> ``2. Usage``).
- **Text** is the block as written (emphasis, links and labels kept), with
  runs of whitespace collapsed to one space. Identical clauses in one version
  are distinct clauses (their ordinals differ).

No text is lost: the letters and digits of the input, in order, are exactly
those of `join_clauses(split_clauses(text))`, provided no two sections in a
row carry the same heading path (join writes a heading when the path
changes, so a repeated identical heading is written once).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from transforms.records import sha256_hex

SENTENCE_SPLIT_CHARS = 2000

KINDS = ("paragraph", "list_item", "table_row", "heading")


@dataclass(frozen=True, slots=True)
class Clause:
    """One citable unit of one version of a document."""

    ordinal: int  # 0-based position in the version
    heading_path: tuple[str, ...]  # headings above it, outermost first, markers stripped
    label: str | None  # the text's own number ("4.2", "(a)", "iii."); the text keeps it
    kind: str  # "paragraph" | "list_item" | "table_row" | "heading" (a heading with no body)
    text: str  # the clause text as in the version, whitespace-normalised
    sha256: str  # SHA-256 of text (UTF-8)


# what str.split() splits an ASCII text at, besides a single space
_ASCII_SPACES = ("  ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f")


def normalise_space(text: str) -> str:
    """Collapse every run of whitespace (Unicode included) to one space and trim."""
    if _is_normalised_ascii(text):
        return text  # most blocks already are: skip the split and join
    return " ".join(text.split())


def _is_normalised_ascii(text: str) -> bool:
    """True for an ASCII text with no leading, trailing or doubled space and no
    other whitespace: one that `normalise_space` leaves as it is."""
    return (
        text.isascii()
        and text[:1] != " "
        and text[-1:] != " "
        and not any(map(text.__contains__, _ASCII_SPACES))
    )


# --- labels -----------------------------------------------------------------

_ROMAN = r"(?:[ivxlcdm]{1,6}|[IVXLCDM]{1,6})"
_LATIN_LABEL = re.compile(
    rf"""
    (?:(?:Section|Article|Clause|Part|Chapter|Schedule|§{{1,2}})\s*)?
    (?:
        \d{{1,3}}(?:\.\d{{1,3}})+\\?\.?       # 4.2  4.2.  1.1.3
      | \d{{1,3}}\\?[.)]                      # 4.  4)  4\. (escaped)
      | \(\s*(?:\d{{1,3}}|[a-zA-Z]|{_ROMAN})\s*\)   # (a) (iv) (12)
      | (?:[a-zA-Z]|{_ROMAN})[.)]             # a.  b)  iii.  IV.
      | (?<=[A-Za-z§]\s)\d{{1,3}}             # the number of "Section 4"
    )
    (?=\s|$|[*_])
    """,
    re.VERBOSE,
)
_WORD_LABEL = re.compile(
    r"(?:Section|Article|Clause|Part|Chapter|Schedule|§{1,2})\s*\d{1,3}(?=\s|$|[*_.:])"
)
_CJK_LABEL = re.compile(
    r"(?:第[一二三四五六七八九十百千零〇\d]+[条章节款項项部分]|[一二三四五六七八九十百]+[、.．]|（[一二三四五六七八九十\d]+）)"
)
_EMPHASIS_PREFIX = re.compile(r"[*_]{1,3}")


def find_label(text: str) -> tuple[str, int, int] | None:
    """The label a clause's text starts with, and its span, or None.

    Leading emphasis markers are skipped: ``**4.2 Fees.** ...`` has the label
    ``4.2``.
    """
    start = 0
    emphasis = _EMPHASIS_PREFIX.match(text)
    if emphasis:
        start = emphasis.end()
    for pattern in (_WORD_LABEL, _LATIN_LABEL, _CJK_LABEL):
        found = pattern.match(text, start)
        if found and found.group(0).strip():
            # a Markdown escape ("2\\.") is markup, not part of the number
            return found.group(0).strip().replace("\\", ""), found.start(), found.end()
    return None


def strip_label(text: str) -> str:
    """The text without its leading label (for comparing clauses across renumbering)."""
    found = find_label(text)
    if found is None:
        return text
    _, start, end = found
    return normalise_space(text[:start] + " " + text[end:])


# --- block parsing ----------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-{2,})[ \t]*$")
_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_BULLET = re.compile(r"^(\s*)([-*+])(?:[ \t]+|$)(.*)$")
_ORDERED = re.compile(r"^(\s*)(\d{1,9}[.)])(?:[ \t]+|$)(.*)$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
# the first non-blank character of every line each block pattern can match
# (and `_ORDERED` only matches a line that starts with a digit): the parser
# tests that before running the pattern
_SETEXT_STARTS = "=-"
_BREAK_STARTS = "-*_"
_ATX_STARTS = "#"
_BULLET_STARTS = "-*+"
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[^\sa-z])|(?<=[。！？])")


@dataclass(slots=True)
class _Block:
    kind: str  # "heading" | "paragraph" | "list_item" | "table_row"
    text: str
    level: int = 0  # heading level
    indent: int = 0  # list item indentation
    hard_break: bool = False  # the last line ended with a Markdown hard break


_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def _clean_heading(text: str) -> str:
    text = normalise_space(_ESCAPE.sub(r"\1", text))
    for marker in ("**", "__", "*", "_"):
        n = len(marker)
        if len(text) > 2 * n and text.startswith(marker) and text.endswith(marker):
            return normalise_space(text[n:-n])
    return text


def _table_row(line: str) -> str:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells = [normalise_space(cell) for cell in _CELL_SPLIT.split(body)]
    if not any(cells):
        return ""
    return "| " + " | ".join(cells) + " |"


def _parse_blocks(markdown: str) -> list[_Block]:
    blocks: list[_Block] = []
    append = blocks.append
    previous_blank = True
    for line in markdown.splitlines():  # no line keeps its line break
        stripped = line.lstrip()
        if not stripped:
            previous_blank = True
            continue
        last = blocks[-1] if blocks and not previous_blank else None
        previous_blank = False
        first = stripped[0]

        if first in _SETEXT_STARTS and last is not None and last.kind == "paragraph":
            setext = _SETEXT.match(line)
            if setext:
                last.kind = "heading"
                last.level = 1 if setext.group(1).startswith("=") else 2
                last.text = _clean_heading(last.text)
                continue
        if first in _BREAK_STARTS and _BREAK.match(line):
            continue
        if first in _ATX_STARTS:
            atx = _ATX.match(line)
            if atx:
                append(
                    _Block("heading", _clean_heading(atx.group(2) or ""), level=len(atx.group(1)))
                )
                continue
        if first == "|":
            if not _TABLE_SEPARATOR.match(line):
                append(_Block("table_row", _table_row(line)))
            continue
        found = None
        if first in _BULLET_STARTS:
            found = _BULLET.match(line)
            if found:
                text = found.group(3)
        elif first.isdigit():
            found = _ORDERED.match(line)
            if found:
                text = f"{found.group(2)} {found.group(3)}"
        hard_break = line.endswith("  ") or line.endswith("\\")  # a Markdown hard break
        if found:
            indent = len(found.group(1).expandtabs(4))
            append(_Block("list_item", text.strip(), indent=indent, hard_break=hard_break))
            continue
        if last is not None and (
            (last.hard_break and last.kind in ("paragraph", "list_item"))
            or (last.kind == "list_item" and len(line) - len(stripped) > last.indent)
        ):
            last.text += " " + stripped.rstrip()
            last.hard_break = hard_break
            continue
        text = stripped.rstrip()
        if first == ">":
            text = text.lstrip("> ")
        append(_Block("paragraph", text, hard_break=hard_break))
    return blocks


def _sentences(text: str) -> list[str]:
    if len(text) <= SENTENCE_SPLIT_CHARS:
        return [text]
    parts: list[str] = []
    start = 0
    for boundary in _SENTENCE_END.finditer(text):
        piece = normalise_space(text[start : boundary.start()] + boundary.group(0))
        if piece:
            parts.append(piece)
        start = boundary.end()
    rest = normalise_space(text[start:])
    if rest:
        parts.append(rest)
    return parts or [text]


# --- clauses ----------------------------------------------------------------


def _make_clause(ordinal: int, path: tuple[str, ...], kind: str, text: str, label: bool) -> Clause:
    found_label, sha256 = _label_and_hash(text, label)
    return Clause(
        ordinal=ordinal,
        heading_path=path,
        label=found_label,
        kind=kind,
        text=text,
        sha256=sha256,
    )


@lru_cache(maxsize=1 << 14)
def _label_and_hash(text: str, label: bool) -> tuple[str | None, str]:
    # most clauses of a version are those of the version before
    found = find_label(text) if label else None
    return (found[0] if found else None), sha256_hex(text)


def split_clauses(markdown: str) -> tuple[Clause, ...]:
    """Split one version's Markdown into its clauses, in document order.

    Pure and deterministic; empty or blank text gives ``()``.
    """
    blocks = []
    # a heading has a body when some non-heading block follows it before the
    # next heading of the same or a higher level
    has_body: list[bool] = []
    open_headings: list[int] = []  # indexes into blocks
    marked = 0  # open_headings[:marked] already have a body
    for block in _parse_blocks(markdown):
        block.text = text = normalise_space(block.text)
        if block.kind == "heading":
            while open_headings and blocks[open_headings[-1]].level >= block.level:
                open_headings.pop()
            marked = min(marked, len(open_headings))
            open_headings.append(len(blocks))
        elif not text:
            continue
        elif marked < len(open_headings):
            for heading in open_headings[marked:]:
                has_body[heading] = True
            marked = len(open_headings)
        blocks.append(block)
        has_body.append(False)

    clauses: list[Clause] = []
    append = clauses.append
    stack: list[tuple[int, str]] = []
    path: tuple[str, ...] = ()  # the texts of the stack
    for index, block in enumerate(blocks):
        kind, text = block.kind, block.text
        if kind == "heading":
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            if text:
                stack.append((block.level, text))
            path = tuple(heading for _, heading in stack)
            if text and not has_body[index]:
                append(_make_clause(len(clauses), path, "heading", text, True))
            continue
        if len(text) <= SENTENCE_SPLIT_CHARS:
            # the common case, inlined: one clause for the block
            label, sha256 = _label_and_hash(text, kind != "table_row")
            append(Clause(len(clauses), path, label, kind, text, sha256))
            continue
        if kind == "table_row":
            # an oversized row (a whole section laid out as one table cell):
            # one clause per sentence of each cell, in order
            cells = [c.strip() for c in text.strip().strip("|").split("|") if c.strip()]
            for cell in cells:
                for sentence in _sentences(cell):
                    append(_make_clause(len(clauses), path, kind, sentence, False))
            continue
        for number, sentence in enumerate(_sentences(text)):
            append(_make_clause(len(clauses), path, kind, sentence, number == 0))
    return tuple(clauses)


def join_clauses(clauses: Iterable[Clause]) -> str:
    """Markdown rebuilt from clauses: headings written where the path changes.

    Used to check that segmentation loses no text; not a faithful round trip
    (bullets, table separators and blank-line layout are not restored).
    """
    out: list[str] = []
    current: tuple[str, ...] = ()
    for clause in clauses:
        path = clause.heading_path[:-1] if clause.kind == "heading" else clause.heading_path
        if path != current:
            common = 0
            while common < min(len(path), len(current)) and path[common] == current[common]:
                common += 1
            for depth in range(common, len(path)):
                out.append("#" * min(depth + 1, 6) + " " + path[depth])
            current = path
        if clause.kind == "heading":
            out.append("#" * min(len(clause.heading_path), 6) + " " + clause.text)
            current = clause.heading_path
        else:
            out.append(clause.text)
    return "\n\n".join(out)
