"""Extraction: one capture's bytes into normalised Markdown.

Pure: bytes, the Content-Type and the URL come in; an `Extraction` record
comes out. No files, no network, no clock.

Pipeline of `extract_text`:

1. **Kind.** PDF (content type or ``%PDF-`` magic) goes to PDFium; HTML/XML/
   plain text is read; any other type is ``unsupported`` (reason names it).
2. **Decoding.** charset from the Content-Type header, then ``<meta charset>``
   / ``http-equiv``, then a BOM, then strict UTF-8, then charset_normalizer.
   A declared charset that does not decode is skipped, not trusted. Bytes
   with a high share of NULs and control characters are ``undecodable``
   before any parsing, whatever the declared type; the few control
   characters of a text page (and U+FFFE, U+FFFF) are read as spaces, since
   lxml refuses them once they are in the tree.
3. **Selection.** With ``select``/``remove`` (CSS, as Open Terms Archive
   declares them): ``remove`` nodes are dropped, then only the ``select``
   nodes are kept, in document order (a node inside another selected node is
   not repeated). A selector written as a JSON object
   ``{"startBefore"|"startAfter": css, "endBefore"|"endAfter": css}`` is a
   range, as in Open Terms Archive declarations. The selection is converted
   by a small HTML-to-Markdown writer of this module: trafilatura is built to
   find the main text in a whole page and drops short blocks of a fragment
   that a person already chose.
   Without selectors, the same writer is used on the page's main region
   when it has one (``<main>``, ``[role=main]``, a single ``<article>``)
   minus its boilerplate blocks (navigation, header, footer, dialogs, forms,
   hidden parts), else on the whole ``<body>`` minus that boilerplate and
   minus what a reader does not see as text (see `_body_text`): classes the
   page's own ``<style>`` hides, classes naming page furniture (sidebar,
   footer, feedback, breadcrumbs, toolbars), ARIA widgets (menus, list
   boxes, tab strips, buttons), short focusable controls and link-dense
   blocks (menus and footers written without ``<nav>``/``<footer>``).
   trafilatura (``favor_recall``, tables kept, no links/images/comments) is
   only the fallback when that leaves fewer than `MIN_REGION_WORDS` words
   (JavaScript shells, walls, odd pages: 7 of 236 corpus snapshots); before
   it, line breaks of the HTML source outside ``<pre>`` become spaces (white
   space on screen), so a paragraph is one line.
   The writer writes emphasis (``<strong>``/``<b>`` as ``**…**``,
   ``<em>``/``<i>`` as ``*…*``, around non-empty text, edge spaces outside
   the marks) and separates words at ``<br>`` and block boundaries inside
   table cells and headings.
4. **Normalisation** (`normalize_text`) and **classification**
   (`transforms.quality.classify_page`).

`visible_fingerprint` hashes the page's visible text (what two captures must
share to share one extraction); `fingerprint_and_extract` gives both from one
decoding and one parse, and skips the extraction of a fingerprint already
known.

`EXTRACTOR_VERSION` changes whenever the output for the same input can
change; the warehouse caches extractions under it.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Container, Iterable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import lxml.etree
import lxml.html
import trafilatura  # imported with the module: forked workers inherit it (0.4 s each otherwise)
from lxml.cssselect import CSSSelector

from transforms.quality import classify_page
from transforms.records import Extraction

EXTRACTOR_VERSION = "7"

__all__ = [
    "EXTRACTOR_VERSION",
    "extract_text",
    "fingerprint_and_extract",
    "normalize_text",
    "visible_fingerprint",
]

# --------------------------------------------------------------------------
# normalisation

# removed, and turned into a plain space; one `in` and one `replace` per
# character present (str.translate with a dict table looks every character up
# in Python and took most of normalize_text's time on long pages)
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
_SPACES = "\u00a0\u2007\u202f\u2002\u2003\u2009\u200a\u3000\t\f\v"
_TRACKING_PARAM = re.compile(
    r"^(utm_[a-z]+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|_ga|_gl|"
    r"igshid|yclid|ref_src|ref_url|__hs[a-z]+|_hsenc|_hsmi|hsctatracking|oly_[a-z]+_id|"
    r"vero_[a-z]+|mkt_tok|trk|trkcampaign|sc_[a-z]+|s_cid|nonce|cb|_)$",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s<>()\[\]\"']+")
# two or more spaces after a non-space: (?<=\S)[ ]{2,}, written to start with
# two literal spaces so that the regex engine skips ahead to the next double
# space (starting with one, it stopped at every space between two words)
_INNER_SPACES = re.compile(r"  (?<=\S  ) *")
_BLANK_RUN = re.compile(r"\n\n\n+")


def _clean_url(match: re.Match[str]) -> str:
    url = match.group(0)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    kept = [(k, v) for k, v in query if not _TRACKING_PARAM.match(k)]
    if len(kept) == len(query):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def normalize_text(markdown: str) -> str:
    """Canonical form of extracted Markdown; deterministic and idempotent.

    - Unicode NFC; line endings ``\\n``.
    - Zero-width characters and soft hyphens removed; no-break and other
      fixed-width spaces, tabs and form feeds become a plain space.
    - Quotes and dashes are kept as written: curly and straight quotes are
      content, and a site that switches between them has changed its text.
    - Runs of spaces inside a line collapse to one (leading indentation,
      which nests list items, is kept); trailing spaces are removed.
    - Tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ...) are removed
      from URLs left in the text.
    - At most one blank line in a row; no blank lines at either end; the text
      ends with one newline unless it is empty.
    """
    text = unicodedata.normalize("NFC", markdown)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for char in _ZERO_WIDTH:
        if char in text:
            text = text.replace(char, "")
    for char in _SPACES:
        if char in text:
            text = text.replace(char, " ")
    text = _URL.sub(_clean_url, text)
    # a run of spaces never spans a line break: one pass over the whole text
    text = _INNER_SPACES.sub(" ", text)
    text = "\n".join([line.rstrip() for line in text.split("\n")])
    text = _BLANK_RUN.sub("\n\n", text).strip("\n")
    # NFC after the edits too: removing a zero-width joiner can bring a base
    # letter and a combining mark together
    text = unicodedata.normalize("NFC", text)
    return text + "\n" if text else ""


# --------------------------------------------------------------------------
# kinds and decoding

_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/xml", "application/xml", "text/plain")
_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""",
    re.IGNORECASE,
)
# the byte-order marks a browser sniffs (WHATWG Encoding Standard): UTF-32 is
# not among them, and FF FE 00 00 is UTF-16LE's mark followed by U+0000
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# browsers read these labels as windows-1252 (WHATWG Encoding Standard)
_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso8859-1": "cp1252",
    "l1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-sjis": "shift_jis",
}
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _looks_binary(sample: bytes) -> bool:
    """True when a sample holds too many NULs and control bytes for text."""
    if not sample:
        return False
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls / len(sample) > 0.02


def _codec(label: bytes | str) -> str | None:
    if isinstance(label, bytes):
        label = label.decode("ascii", "ignore")
    label = label.strip().lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _try(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        if codec == "cp1252":  # five bytes are undefined in cp1252
            return body.decode("latin-1")
        return None


def decode_body(body: bytes, content_type: str | None) -> tuple[str | None, str]:
    """Text of the body and the codec used, or (None, why) when nothing fits.

    The characters XML cannot hold (C0 controls but tab, LF and CR; U+FFFE,
    U+FFFF; surrogates) come back as spaces (`_xml_safe`).
    """
    text, how = _decode(body, content_type)
    return (None if text is None else _xml_safe(text, body, how)), how


# lxml parses these characters into the tree from HTML, but refuses them in
# any text it is given afterwards: dropping an element joins its tail to the
# text before it, and a form feed there raised ValueError (a whole run
# stopped on one page). A reader sees white space.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_NOT_XML_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))


def _xml_safe(text: str, body: bytes, how: str) -> str:
    """`text` with the characters of `_NOT_XML` as spaces.

    A body read as UTF-8 holds a C0 control only as that very byte (and no
    surrogate), so its bytes are checked first, in C; other codecs check the
    text.
    """
    clean_bytes = how.startswith("utf-8") and len(body.translate(None, _NOT_XML_BYTES)) == len(body)
    if clean_bytes and "\ufffe" not in text and "\uffff" not in text:
        return text
    return _NOT_XML.sub(" ", text)


def _decode(body: bytes, content_type: str | None) -> tuple[str | None, str]:
    for bom, codec in _BOMS:
        if body.startswith(bom):
            text = _try(body[len(bom) :], codec)
            if text is not None:
                return text, codec
    if _looks_binary(body[:8192]):
        return None, "binary content (NUL and control bytes)"
    candidates = []
    match = _CHARSET_PARAM.search((content_type or "").encode("latin-1", "ignore"))
    if match:
        candidates.append(match.group(1))
    match = _META_CHARSET.search(body[:4096])
    if match:
        candidates.append(match.group(1))
    candidates.append(b"utf-8")
    for label in candidates:
        codec = _codec(label)
        if codec is None:
            continue
        text = _try(body, codec)
        if text is not None:
            return text, codec
    # mostly UTF-8 with a few broken bytes: keep it, the damage is local
    text = body.decode("utf-8", "replace")
    if text.count("\ufffd") <= max(2, len(text) // 200):
        return text, "utf-8 (with replacements)"
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(body).best()
    except Exception:  # noqa: BLE001 - a detector failure means "unknown"
        best = None
    if best is not None and best.encoding:
        text = str(best)
        if _readable_share(text) > 0.9:
            return text, best.encoding
    return None, "no character set decodes these bytes"


def _readable_share(text: str) -> float:
    if not text:
        return 1.0
    sample = text[:20000]
    bad = sum(
        1
        for ch in sample
        if ch == "\ufffd"
        or (unicodedata.category(ch) in ("Cc", "Co", "Cn") and ch not in "\n\r\t\f")
    )
    return 1 - bad / len(sample)


# --------------------------------------------------------------------------
# HTML parsing and selection

_SKIP = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "head",
        "title",
        "meta",
        "link",
        "svg",
        "math",
        "iframe",
        "object",
        "embed",
        "canvas",
        "video",
        "audio",
        "source",
        "track",
        "img",
        "picture",
        "input",
        "select",
        "option",
        "textarea",
        "map",
        "area",
        "base",
    }
)


# lxml.html's own parser, with the per-tag class lookup done in C. lxml.html
# asks a Python method for the class of every element proxy it creates (to
# give <form>, <input>, <select>, <textarea> and <label> their form helpers,
# which nothing here uses); trafilatura creates hundreds of thousands of
# proxies on its copies of the tree, which keep the parser of the original.
# Same libxml2 options, same tree; every element is still an HtmlElement.
# huge_tree: without it libxml2 stops at 256 levels of nesting and the text
# below is silently gone (a page of 260 nested <div>s extracted as empty);
# a page deeper than the writer's recursion reaches is an ``extractor_error``.
_HTML_PARSER = lxml.etree.HTMLParser(huge_tree=True)
_HTML_PARSER.set_element_class_lookup(
    lxml.etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)


def _parse_html(text: str) -> lxml.html.HtmlElement | None:
    # lxml refuses str input that carries an XML encoding declaration
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text, count=1)
    if not text.strip():
        return None
    try:
        root = lxml.html.document_fromstring(text, parser=_HTML_PARSER)
    except (lxml.etree.ParserError, ValueError):
        return None
    return root


def _range_nodes(root: lxml.html.HtmlElement, spec: dict[str, str]) -> list:
    """Top-level nodes covered by an Open Terms Archive range selector.

    The range is approximated at element granularity: the start element
    (``startBefore`` includes it, ``startAfter`` excludes it), every following
    element in document order that is not an ancestor of the end, up to the
    end element (``endBefore`` excludes it, ``endAfter`` includes it).
    """

    def first(css: str | None):
        if not css:
            return None
        found = _selector(css)(root)
        return found[0] if found else None

    start = first(spec.get("startBefore") or spec.get("startAfter"))
    end = first(spec.get("endBefore") or spec.get("endAfter"))
    if start is None or end is None:
        return []
    include_start = "startBefore" in spec
    include_end = "endAfter" in spec
    end_ancestors = set(end.iterancestors())
    order = list(root.iter())
    try:
        i, j = order.index(start), order.index(end)
    except ValueError:
        return []
    nodes = []
    covered: set = set()
    for el in order[i : j + 1]:
        if el is start and not include_start:
            covered.update(start.iter())
            continue
        if el is end and not include_end:
            break
        if el in covered or el in end_ancestors:
            continue
        if end in set(el.iter()) and el is not end:
            continue
        nodes.append(el)
        covered.update(el.iter())
    return nodes


def _apply_selectors(
    root: lxml.html.HtmlElement, select: Sequence[str], remove: Sequence[str]
) -> list:
    for css in remove:
        for el in _css(root, css):
            if el.getparent() is not None:
                el.drop_tree()
    if not select:
        body = root.find("body")
        return [body if body is not None else root]
    picked: list = []
    for css in select:
        if css.lstrip().startswith("{"):
            picked.extend(_range_nodes(root, json.loads(css)))
        else:
            picked.extend(_css(root, css))
    unique = list({id(el): el for el in picked}.values())
    unique.sort(key=_document_position)
    kept = []
    for el in unique:
        if not any(anc in kept for anc in el.iterancestors()):
            kept.append(el)
    return kept


def _document_position(el) -> list[int]:
    """A key that sorts elements of one tree in document order: the child
    index of each of its ancestors' path, from the top (an ancestor's path is
    a prefix of its descendants', and sorts first). Cheaper than numbering
    the whole tree for the few nodes a selector picks."""
    path = []
    parent = el.getparent()
    while parent is not None:
        path.append(parent.index(el))
        el, parent = parent, parent.getparent()
    path.reverse()
    return path


class SelectorError(ValueError):
    """A `select`/`remove` selector that is not valid CSS: a registry error."""


def _css(root, css: str) -> list:
    try:
        return _selector(css)(root)
    except Exception as err:  # cssselect raises several types
        raise SelectorError(f"bad CSS selector {css!r}: {err}") from err


@functools.lru_cache(maxsize=512)
def _selector(css: str) -> CSSSelector:
    """The compiled selector; a document's selectors come back with each of
    its captures (cssselect's translation is Python, and slower than the
    match). A selector that does not compile raises each time."""
    return CSSSelector(css)


# --------------------------------------------------------------------------
# a small HTML -> Markdown writer

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "nav",
        "aside",
        "ul",
        "ol",
        "li",
        "table",
        "tr",
        "blockquote",
        "pre",
        "dl",
        "dt",
        "dd",
        "hr",
        "form",
        "fieldset",
        "figure",
        "figcaption",
        "address",
        "details",
        "summary",
        "body",
        "html",
        "center",
        "tbody",
        "thead",
        "tfoot",
        "caption",
        "legend",
        "hgroup",
        "menu",
        "dialog",
    }
)
_WS = re.compile(r"\s+")


class _Writer:
    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.parts: list[str] = []  # the open line's pieces; the same list throughout
        self.prefix: list[str] = []  # pending list-item markers
        self.emphasis: list[str] = []  # the emphasis markers open

    def text(self, value: str | None) -> None:
        if value:
            self.parts.append(value)

    def flush(self) -> None:
        parts = self.parts
        if not parts:  # most flushes: a block boundary right after another one
            return
        # str.split() and the regex \s agree on what white space is (both ask
        # str.isspace), so this is _WS.sub(" ", line).strip() without the regex
        line = " ".join("".join(parts).split())
        parts.clear()
        if not line:
            return
        if self.prefix:
            line = self.prefix.pop() + line
            self.prefix.clear()
        self.blocks.append(line)

    def block(self, line: str) -> None:
        self.flush()
        self.blocks.append(line)


def _inline_text(el) -> str:
    # itertext skips nothing by itself; walk manually to honour _SKIP
    pieces = []
    _collect(el, pieces)
    return " ".join("".join(pieces).split())


def _collect(el, pieces: list[str]) -> None:
    # a line break or a block boundary inside inline text (a table cell, a
    # heading) separates words: "A<br>B" and "<p>A</p><p>B</p>" read "A B"
    tag = el.tag
    if isinstance(tag, str) and tag not in _SKIP:
        separate = tag in _SEPARATING
        if separate:
            pieces.append(" ")
        text = el.text
        if text:
            pieces.append(text)
        for child in el:
            _collect(child, pieces)
            tail = child.tail
            if tail:
                pieces.append(tail)
        if separate:
            pieces.append(" ")


_EMPHASIS = {"strong": "**", "b": "**", "em": "*", "i": "*"}
# what `_write` does with an element, by tag; any other tag is inline text
_INLINE, _SKIPPED, _HEADING, _TABLE, _BREAK, _PRE, _BLOCK, _LIST, _ITEM, _EMPHASIZED = range(10)
_ACTIONS = {
    **dict.fromkeys(_BLOCKS, _BLOCK),
    **dict.fromkeys(_HEADINGS, _HEADING),
    "table": _TABLE,
    "br": _BREAK,
    "hr": _BREAK,
    "pre": _PRE,
    "ul": _LIST,
    "ol": _LIST,
    "li": _ITEM,
    **dict.fromkeys(_EMPHASIS, _EMPHASIZED),
    **dict.fromkeys(_SKIP, _SKIPPED),  # last, so that it wins: a skipped tag is nothing else
}
# the tags that separate words in inline text, and that an emphasis mark
# does not reach across
_SEPARATING = frozenset(_BLOCKS | _HEADINGS.keys() | {"br"})


def _write(el, out: _Writer, depth: int = 0) -> None:
    tag = el.tag
    if not isinstance(tag, str):  # a comment or a processing instruction
        return
    action = _ACTIONS.get(tag, _INLINE)
    if action in (_INLINE, _BLOCK, _LIST):
        if action != _INLINE:
            out.flush()
        child_depth = depth + 1 if action == _LIST else depth
        # the children's loop is written out here, in the list item and in
        # `_write_emphasis` rather than shared: one Python frame per level of
        # nesting, so a page 600 levels deep still fits the recursion limit
        parts = out.parts
        text = el.text
        if text:
            parts.append(text)
        for child in el:
            _write(child, out, child_depth)
            tail = child.tail
            if tail:
                parts.append(tail)
        if action != _INLINE:
            out.flush()
        return
    if action == _SKIPPED:
        return
    if action == _HEADING:
        text = _inline_text(el)
        if text:
            out.block("#" * _HEADINGS[tag] + " " + text)
        return
    if action == _TABLE:
        _write_table(el, out)
        return
    if action == _BREAK:
        out.flush()
        return
    if action == _PRE:
        out.flush()
        text = "".join(el.itertext()).strip("\n")
        if text.strip():
            out.blocks.append(text)
        return
    if action == _EMPHASIZED:
        _write_emphasis(el, out, depth)
        return
    # a list item
    out.flush()
    parent = el.getparent()
    if parent is not None and parent.tag == "ol":
        items = [c for c in parent if c.tag == "li"]
        start = parent.get("start")
        base = int(start) if start and start.isdigit() else 1
        marker = f"{base + items.index(el)}. "
    else:
        marker = "- "
    out.prefix = ["  " * max(depth - 1, 0) + marker]
    parts = out.parts
    text = el.text
    if text:
        parts.append(text)
    for child in el:
        _write(child, out, depth)
        tail = child.tail
        if tail:
            parts.append(tail)
    out.flush()
    out.prefix = []


def _write_emphasis(el, out: _Writer, depth: int) -> None:
    """``**bold**``/``*italic*`` around the element's text, only when it has
    words; the spaces at its edges go outside the markers (``**a** b``, not
    ``**a **b``). An emphasis already open (bold inside bold) is not opened
    again; one that holds a block (a <b> around paragraphs) writes no marks."""
    marker = _EMPHASIS[el.tag]
    if marker in out.emphasis or (
        len(el) and any(d.tag in _SEPARATING for d in el.iterdescendants())
    ):
        marker = ""
    parts = out.parts
    start = len(parts)
    out.emphasis.append(marker)
    text = el.text
    if text:
        parts.append(text)
    for child in el:
        _write(child, out, depth)
        tail = child.tail
        if tail:
            parts.append(tail)
    out.emphasis.pop()
    if not marker:
        return
    inner = "".join(parts[start:])
    words = inner.strip()
    if not words:
        return
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()) :]
    parts[start:] = [lead and " ", marker, " ".join(words.split()), marker, trail and " "]


def _write_table(table, out: _Writer) -> None:
    out.flush()
    rows = [tr for tr in table.iter("tr") if _nearest_table(tr) is table]
    first = True
    for tr in rows:
        cells = [c for c in tr if c.tag in ("td", "th")]
        texts = [_inline_text(c).replace("|", "\\|") for c in cells]
        if not any(texts):
            continue
        out.blocks.append("| " + " | ".join(texts) + " |")
        if first:
            out.blocks.append("|" + "---|" * len(texts))
            first = False


def _nearest_table(el):
    for anc in el.iterancestors():
        if anc.tag == "table":
            return anc
    return None


def html_to_markdown(elements: Iterable) -> str:
    """Markdown of the given elements, in order: headings, lists, tables."""
    out = _Writer()
    for el in elements:
        _write(el, out)
        out.flush()
    return "\n\n".join(out.blocks)


# --------------------------------------------------------------------------
# main text without selectors

_PREFORMATTED = ("pre", "textarea", "listing", "plaintext", "xmp")
_LINE_BREAKS = re.compile(r"[ \t]*[\r\n]+[ \t]*")


def _unwrap_source_lines(root) -> None:
    """Replace the line breaks of the HTML source by spaces, in place.

    A newline in HTML text is white space: a paragraph written over several
    source lines is one line on screen. trafilatura keeps those breaks in its
    Markdown, so one sentence would become several lines (and the clause
    splitter reads each line as a block). Text inside preformatted elements
    keeps its breaks; ``<br>`` is an element, not text, and still breaks.
    """
    keep = {el for pre in root.iter(*_PREFORMATTED) for el in pre.iter()}
    for el in root.iter():
        if el.text and "\n" in el.text and el not in keep:
            el.text = _LINE_BREAKS.sub(" ", el.text)
        if el.tail and "\n" in el.tail and el.getparent() not in keep:
            el.tail = _LINE_BREAKS.sub(" ", el.tail)


def _trafilatura_markdown(tree, url: str) -> str:
    """trafilatura's Markdown of a whole page; consumes `tree` (changes it).

    trafilatura copies the tree it is given before changing it, so the caller's
    parse is handed over rather than copied once more. ``fast=True`` skips
    its comparison with readability and jusText: on the 7 corpus pages that
    still reach this fallback the output is the same, and jusText's stop
    lists took 0.4 s to load in every worker process that met such a page.
    """
    _unwrap_source_lines(tree)
    text = trafilatura.extract(
        tree,
        fast=True,
        output_format="markdown",
        include_tables=True,
        include_comments=False,
        include_links=False,
        include_images=False,
        favor_recall=True,
        deduplicate=False,
        with_metadata=False,
    )
    return text or ""


class _Simple:
    """The elements matching a group of simple CSS selectors (``tag``,
    ``[attr]``, ``[attr=value]``), as ``CSSSelector(css)`` finds them but not
    in document order: the element itself and its descendants, read with
    lxml's tag filter and three-attribute XPath, both in C. CSSSelector's
    XPath walks the whole tree once for each selector of the group and
    tests attribute values in libxml2 (7x slower on the corpus)."""

    _SELECTOR = re.compile(r"(?P<tag>[a-z][a-z0-9]*)|\[(?P<attr>[a-z-]+)(?:=(?P<value>[\w-]+))?\]")

    def __init__(self, css: str) -> None:
        self.tags: list[str] = []
        self.values: dict[str, set[str] | None] = {}  # None: any value
        for selector in css.split(","):
            match = self._SELECTOR.fullmatch(selector.strip())
            if match is None:
                raise ValueError(f"not a simple selector: {selector!r}")
            if match["tag"]:
                self.tags.append(match["tag"])
            elif match["value"] is None:
                self.values[match["attr"]] = None
            elif self.values.get(match["attr"], set()) is not None:
                self.values.setdefault(match["attr"], set()).add(match["value"])
        self._attrs = (
            lxml.etree.XPath(" | ".join(f"descendant-or-self::*/@{name}" for name in self.values))
            if self.values
            else None
        )

    def __call__(self, top) -> list:
        found = list(top.iter(*self.tags)) if self.tags else []
        if self._attrs is None:
            return found
        values = self.values
        for attr in self._attrs(top):
            wanted = values[attr.attrname]
            if wanted is None or attr in wanted:
                found.append(attr.getparent())
        return found


_REGIONS = ("main", "[role=main]", "article")
_BOILERPLATE = (
    "nav, header, footer, aside, dialog, form, button, [role=navigation], [role=banner], "
    "[role=contentinfo], [role=dialog], [role=alertdialog], [aria-hidden=true], [hidden]"
)
# `_Simple`: only the number found matters, and CSSSelector's
# ``[role = 'main']`` test walked every page twice as slowly
_REGION_SELECTORS = tuple(_Simple(css) for css in _REGIONS)
_BOILERPLATE_SELECTOR = _Simple(_BOILERPLATE)
MIN_REGION_WORDS = 50  # a main region with fewer words is a shell: let trafilatura look


def _main_region(root):
    """The page's one declared main region, if it has exactly one."""
    for select in _REGION_SELECTORS:
        found = select(root)
        if len(found) == 1:
            return found[0]
    return None


# containers judged for link density; list items, cells and definitions are
# judged with their list or table, so that one linked item of a policy list
# (a processor's name linking to its policy) is not dropped on its own
_LINK_BLOCKS = _BLOCKS - {"li", "dt", "dd", "tr", "tbody", "thead", "tfoot", "pre", "body", "html"}
# interface widgets (ARIA roles): a language picker, a menu, a tab strip, a
# tooltip; their words are controls, not text
_WIDGETS = (
    "[role=listbox], [role=menu], [role=menubar], [role=tablist], [role=tooltip], "
    "[role=button], [role=switch], [role=combobox]"
)
_NOT_TEXT = _Simple(_BOILERPLATE + ", " + _WIDGETS)
_WITH_CLASS = lxml.etree.XPath("descendant::*[@class]")
# the elements with a tabindex, in document order, found from their attributes:
# libxml2 tests ``*[@tabindex]`` on every element twice as slowly
_TABINDEX = lxml.etree.XPath("descendant::*/@tabindex")
LINK_DENSITY = 0.7  # share of a block's text inside links above which it is a menu


def _text(el) -> str:
    """The XPath string value of `el`: its text nodes, comments and
    processing instructions left out. libxml2 computes XPath's ``string()``
    and the text serialisation with the same function (xmlNodeGetContent);
    the serialiser is the cheaper call (an XPath evaluation sets up a context
    each time, and `_count_chars` makes thousands)."""
    return lxml.etree.tostring(el, method="text", encoding=str, with_tail=False)


def _visible_chars(text: str) -> int:
    return len("".join(text.split()))


CONTROL_WORDS = 8  # a focusable element with at most this many words is a control


def _is_control(el) -> bool:
    """True for a custom control: an element put in the tab order
    (``tabindex`` >= 0) that is not a link, with a short label (an accordion
    or menu toggle). A focusable container of text (a scrollable table) has
    more words and stays."""
    if el.tag == "a" or not el.get("tabindex", "").strip().isdigit():
        return False
    return len(" ".join(el.itertext()).split()) <= CONTROL_WORDS


def _drop_link_dense(el) -> None:
    """Drop the link-dense blocks under `el`, outermost first, in place.

    A block of links has at least two links, and their text is at least
    `LINK_DENSITY` of the block's text, in visible characters (site menus and
    footers written without <nav>/<footer>). An element with fewer than two
    links holds no such block. A block is judged on its own subtree, which no
    drop has changed when it is judged (a drop changes only what is under a
    block already judged not dense, and its parent's text), so the counts of
    every element are taken once, before any drop (`_link_counts`).
    """
    links = _link_counts(el)
    if not links:
        return
    chars: dict = {}
    _count_chars(el, links, chars)
    stack = [el]
    while stack:
        for child in list(stack.pop()):
            if links.get(child, 0) < 2:  # a comment has none
                continue
            text, link_text = chars[child]
            if child.tag in _LINK_BLOCKS and text > 0 and link_text >= LINK_DENSITY * text:
                child.drop_tree()
            else:
                stack.append(child)


def _link_counts(top) -> dict:
    """The number of links (``<a>``) under each element under `top` that has any."""
    links: dict = {}
    for a in top.iter("a"):
        for anc in a.iterancestors():
            if anc is top:
                break
            links[anc] = links.get(anc, 0) + 1
    return links


def _count_chars(el, links: dict, chars: dict) -> tuple[int, int]:
    """Visible characters of `el`'s text (its XPath string value), and of its
    text inside links under it; stored in `chars` for every element under it
    with two links or more, each text node read once."""
    text = el.text
    total = _visible_chars(text) if text else 0
    linked = 0
    for child in el:
        tag = child.tag
        if isinstance(tag, str):
            count = links.get(child, 0)
            if count >= 2:
                chars[child] = child_chars = _count_chars(child, links, chars)
                total += child_chars[0]
                linked += child_chars[0] if tag == "a" else child_chars[1]
            else:
                child_total = _visible_chars(_text(child))
                total += child_total
                if tag == "a":
                    linked += child_total
                elif count == 1:
                    linked += _visible_chars(_text(next(child.iterdescendants("a"))))
        tail = child.tail  # a comment's text is not text; its tail is
        if tail:
            total += _visible_chars(tail)
    return total, linked


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")
_CSS_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_DISPLAY = re.compile(r"(?:^|;)\s*display\s*:\s*([\w-]+)")


def _hidden_classes(root) -> frozenset[str]:
    """Classes the page's own <style> sheets hide: a top-level rule whose
    selector is one class (``.x{display:none}``), when no other rule (in a
    media query, or a compound selector) gives that class another display.

    Only the rules whose body says ``display`` matter; `_css_rules` finds
    them without reading the others (a sheet can hold tens of thousands)."""
    sheet = _CSS_COMMENT.sub("", "\n".join(t for st in root.iter("style") for t in st.itertext()))
    hidden: set[str] = set()
    shown: set[str] = set()
    for depth, selectors, body in _css_rules(sheet, "display"):
        display = _DISPLAY.search(body)
        if display is None:
            continue
        names = set(_CSS_CLASS.findall(selectors))
        simple = [sel.strip() for sel in selectors.split(",")]
        if (
            depth == 0
            and display.group(1) == "none"
            and all(_CSS_CLASS.fullmatch(sel) for sel in simple)
        ):
            hidden.update(names)
        elif display.group(1) != "none":
            shown.update(names)
    return frozenset(hidden - shown)


def _css_rules(sheet: str, word: str) -> Iterable[tuple[int, str, str]]:
    """``(depth, selectors, body)`` of the rules `_CSS_RULE` finds in `sheet`
    whose body holds `word`, in order; `depth` is the brace depth before the
    rule (rules inside ``@media`` are nested).

    `_CSS_RULE` matches a rule that holds no brace: a brace-free run, ``{``,
    a brace-free body, ``}``; scanning from the start, the run is all the text
    since the brace before it. So the rule around an occurrence of `word` is
    found from the braces on either side, and the depth from a count of the
    braces before the rule (those of the rules between count 0: one of each).
    """
    depth = 0
    counted = 0  # depth is the brace depth of sheet[:counted]
    found = sheet.find(word)
    while found != -1:
        open_ = sheet.rfind("{", 0, found)
        close = sheet.find("}", found)
        if open_ == -1 or close == -1 or sheet.rfind("}", open_, found) != -1:
            found = sheet.find(word, found + 1)  # not in a rule's body
            continue
        if sheet.find("{", open_ + 1, close) != -1:
            found = sheet.find(word, found + 1)  # in a block of rules (@media)
            continue
        start = max(sheet.rfind("{", 0, open_), sheet.rfind("}", 0, open_)) + 1
        depth += sheet.count("{", counted, start) - sheet.count("}", counted, start)
        counted = start
        yield depth, sheet[start:open_], sheet[open_ + 1 : close]
        found = sheet.find(word, close + 1)


# words of a class that name a page's furniture, not its text
_FURNITURE = frozenset(
    {"sidebar", "footer", "feedback", "breadcrumb", "breadcrumbs", "navbar", "toolbar"}
)
_NAME_WORDS = re.compile(r"[a-z]+")


def _furniture(body, hidden: frozenset[str]) -> list:
    """The elements with a class in `hidden` and those whose class names page
    furniture (``left_sidebar``, ``footer-theme``), in document order. Ids are
    not read: a policy's section anchors are ids (``id="feedback"`` on a
    heading "Complaints and Feedback")."""
    verdicts: dict[str, bool] = {}  # a page repeats its class values
    found = []
    for el in _WITH_CLASS(body):
        value = el.get("class", "")
        verdict = verdicts.get(value)
        if verdict is None:
            verdict = verdicts[value] = not hidden.isdisjoint(
                value.split()
            ) or not _FURNITURE.isdisjoint(_NAME_WORDS.findall(value.lower()))
        if verdict:
            found.append(el)
    return found


def _drop(top, elements: Iterable) -> None:
    """Drop `elements` from the tree, in place, all but `top` itself.

    Which elements are dropped decides the tree left, whatever the order: a
    dropped element's tail joins the text before it, and one inside a
    dropped element changes only that element's subtree."""
    for el in elements:
        if el is not top and el.getparent() is not None:
            el.drop_tree()


def _body_text(root) -> str:
    """The text a reader sees as the page's text, from its whole <body>,
    written by `html_to_markdown`; changes `root` (the caller's own parse).

    Dropped: elements with a class the page's inline style sheets hide, or a
    class naming page furniture (`_FURNITURE`), the boilerplate of a main
    region and ARIA widgets (`_WIDGETS`), scripts, media and form fields;
    then short focusable controls (`_is_control`); then, outermost first,
    link-dense blocks (`_drop_link_dense`). General rules only: none names a
    site.
    """
    hidden = _hidden_classes(root)
    body = root.find("body")
    if body is None:
        body = root
    # one kind after the other, each read from what the one before left: the
    # same drops as ever, so the same pages raise (lxml refuses a text with a
    # control character, which a dropped element's tail can bring to another)
    _drop(body, _furniture(body, hidden))
    _drop(body, _NOT_TEXT(body))
    _drop(body, list(body.iter(*_SKIP)))
    for el in [attr.getparent() for attr in _TABINDEX(body)]:
        if _is_control(el) and el.getparent() is not None:
            el.drop_tree()
    _drop_link_dense(body)
    return html_to_markdown([body])


def _has_words(text: str, count: int) -> bool:
    """``len(text.split()) >= count``, without splitting all of a long text."""
    return len(text.split(None, count - 1)) >= count


def _main_text(root, url: str, reparse: Callable[[], lxml.html.HtmlElement]) -> str:
    """Main text without selectors; may change `root` (the caller's own parse).

    A page's own main region (exactly one ``<main>``, ``[role=main]`` or
    ``<article>``) minus its navigation, headers, footers, dialogs, forms and
    hidden parts, written by `html_to_markdown`, keeps short list items,
    tables and "last updated" lines that trafilatura drops. A page without
    such a region is written from its ``<body>`` by `_body_text`. trafilatura
    runs only when either gives fewer than `MIN_REGION_WORDS` words, on
    `reparse()` (the same tree, parsed again), since both cut `root`: rarer
    than copying every page's tree or region (no region of the corpus is
    that short).

    Measured on the real corpus (``python -m bench.fidelity``), trafilatura
    for pages without a region → `_body_text`: no-selectors median F1
    0.9957 → 0.9994, p10 0.9453 → 0.9822; change recall 0.9615 → 0.9712 (the
    one more event is a language-switcher link, as in the gold),
    precision 0.9804 → 0.9806, noise versions 1 → 1; extract_text median
    ≈ 24 → ≈ 12-19 ms (a shared machine; see docs/fidelity.md). Known loss:
    a page holding several documents in several ``<article>`` elements is
    written whole, where trafilatura kept the first one.
    """
    region = _main_region(root)
    if region is not None:
        # taken out of the page rather than copied (the fallback parses the
        # page again), and so read on its own, as the copy was: a region
        # that is itself boilerplate is not dropped, a region that is a list
        # item is not numbered in its page's list
        parent = region.getparent()
        if parent is not None:
            parent.remove(region)
        for el in _BOILERPLATE_SELECTOR(region):
            if el.getparent() is not None:
                el.drop_tree()
        markdown = html_to_markdown([region])
    else:
        markdown = _body_text(root)
    if _has_words(markdown, MIN_REGION_WORDS):
        return markdown
    return _trafilatura_markdown(reparse(), url)


# --------------------------------------------------------------------------
# metadata


def _title(root) -> str | None:
    for xpath in ("//meta[@property='og:title']/@content", "//title//text()", "//h1//text()"):
        found = [t.strip() for t in root.xpath(xpath) if t and t.strip()]
        if found:
            return _WS.sub(" ", found[0]).strip()[:500]
    return None


def _language(root) -> str | None:
    for xpath in (
        "/html/@lang",
        "/html/@xml:lang",
        "//meta[@http-equiv='content-language']/@content",
    ):
        try:
            found = [
                t.strip()
                for t in root.xpath(
                    xpath, namespaces={"xml": "http://www.w3.org/XML/1998/namespace"}
                )
                if t.strip()
            ]
        except lxml.etree.XPathError:
            found = []
        if found:
            return found[0].split(",")[0].strip().replace("_", "-")[:35]
    return None


# --------------------------------------------------------------------------
# PDF


_NUMBERED_HEADING = re.compile(r"^(\d+(\.\d+)*\.?|[A-Z]\.|[IVX]+\.)\s+\S")


def _pdf_paragraphs(page: str) -> list[str]:
    """Rebuild paragraphs from a PDF page's lines.

    PDF text comes as lines with no paragraph marks. A line shorter than
    three quarters of the page's longest line ends its paragraph (the last
    line of a paragraph, or a heading); a numbered line ("4.2 Data", "(a)")
    starts one. A word hyphenated across lines is joined.
    """
    lines = [line.strip() for line in page.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    width = max((len(line) for line in lines), default=0)
    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            paragraphs.append(" ".join(current))
            current.clear()

    for line in lines:
        if not line:
            flush()
            continue
        if current and _NUMBERED_HEADING.match(line):
            flush()
        if current and current[-1].endswith("-") and line[:1].islower():
            current[-1] = current[-1][:-1] + line
        else:
            current.append(line)
        if len(line) < 0.75 * width:
            flush()
    flush()
    return paragraphs


def _extract_pdf(body: bytes) -> Extraction:
    """Text of a PDF in page order, through PDFium (pypdfium2).

    PDFium reads a 22-page policy in about 0.2 s where pypdf took 3.8 s (and
    pypdf put every word of that file on a line of its own).
    """
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(body)
    except pdfium.PdfiumError as err:
        if "password" in str(err).lower():
            return Extraction(status="unsupported", reason=f"encrypted PDF ({err})")
        return Extraction(status="unsupported", reason=f"unreadable PDF: {err}")
    try:
        pages = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            try:
                pages.append(textpage.get_text_bounded())
            finally:
                textpage.close()
                page.close()
        title = (document.get_metadata_dict().get("Title") or "").strip() or None
    except pdfium.PdfiumError as err:
        return Extraction(status="unsupported", reason=f"unreadable PDF: {err}")
    finally:
        document.close()
    paragraphs = [p for page in pages for p in _pdf_paragraphs(page)]
    text = normalize_text("\n\n".join(paragraphs))
    if not text:
        return Extraction(status="empty", reason="PDF without a text layer", title=title)
    return Extraction(status="ok", text=text, title=title)


# --------------------------------------------------------------------------
# entry points


def _kind(body: bytes, content_type: str | None) -> str:
    media = _media_type(content_type)
    head = body[:1024].lstrip().lower()
    if media == "application/pdf" or body[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    if media in _HTML_TYPES or media.endswith("+xml"):
        return "html"
    if not media or media in ("application/octet-stream", "binary/octet-stream", "unk"):
        if head.startswith(
            (b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b"\xef\xbb\xbf<")
        ):
            return "html"
        if not media:
            return "html"  # unknown type: try it as markup; undecodable bytes are caught
    return "other"


def extract_text(
    body: bytes,
    *,
    content_type: str | None,
    url: str,
    select: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> Extraction:
    """The normalised Markdown of one capture, or a status and a reason.

    `select`/`remove` are CSS selectors (see the module docstring). Raises
    `SelectorError` (a ValueError) only for a selector that is not valid
    CSS: that is a registry error, not bad input. Any other error met on the
    page gives an ``extractor_error`` record (`_guarded`).
    """
    kind = _kind(body, content_type)
    if kind != "html":
        return _guarded(lambda: _extract_other(body, kind, content_type))
    if not body.strip():
        return _EMPTY_BODY
    text, how = decode_body(body, content_type)
    if text is None:
        return Extraction(status="undecodable", reason=how)
    root = _parse_html(text)
    if root is None:
        return _NO_ELEMENTS
    return _guarded(lambda: _extract_tree(root, text, url, select, remove))


def _guarded(extract: Callable[[], Extraction]) -> Extraction:
    """`extract()`, or an ``extractor_error`` record when the extractor breaks on this page.

    An error met on one page (a bug, a tree nested deeper than the writer's
    recursion reaches) must neither stop the run nor lose the other pages:
    the page is recorded with the error as its reason, and shows among the
    problems of its document; a new EXTRACTOR_VERSION reads it again. A bad
    selector still raises: it is a registry error, the same on every page.
    """
    try:
        return extract()
    except SelectorError:
        raise
    except Exception as err:  # noqa: BLE001 - recorded on the page, never raised
        return Extraction(status="extractor_error", reason=f"{type(err).__name__}: {err}")


def _reparse(text: str, remove: Sequence[str]):
    """`text` parsed again, minus the `remove` nodes: the tree `_main_text`
    was given, for its fallback once it has cut that one."""
    root = _parse_html(text)
    if remove:
        _apply_selectors(root, (), remove)
    return root


_EMPTY_BODY = Extraction(status="empty", reason="empty body")
_NO_ELEMENTS = Extraction(status="empty", reason="no HTML elements")


def _extract_other(body: bytes, kind: str, content_type: str | None) -> Extraction:
    """Extraction of a body that is not HTML: a PDF, or an unsupported type."""
    if kind == "pdf":
        return classify_page(_extract_pdf(body))
    return Extraction(
        status="unsupported",
        reason=f"content type {_media_type(content_type) or 'unknown'} is not HTML or PDF",
    )


def _extract_tree(
    root, text: str, url: str, select: Sequence[str], remove: Sequence[str]
) -> Extraction:
    """Extraction of a parsed page; consumes `root` (changes it), which is
    `text` parsed."""
    title = _title(root)
    language = _language(root)
    note = None
    selected = _apply_selectors(root, select, remove) if (select or remove) else []
    if selected:
        markdown = html_to_markdown(selected)
    else:
        # no selectors, or declared ones that match nothing on this capture (a
        # page redesign): the automatic extraction, with a note saying so
        if select:
            note = "the declared selectors match nothing; automatic extraction used"
        markdown = _main_text(root, url, lambda: _reparse(text, remove))
    markdown = normalize_text(markdown)
    if not markdown.strip():
        return classify_page(
            Extraction(status="empty", reason="no main text", title=title, language=language)
        )
    return classify_page(
        Extraction(status="ok", text=markdown, reason=note, title=title, language=language)
    )


def fingerprint_and_extract(
    body: bytes,
    *,
    content_type: str | None,
    url: str,
    select: Sequence[str] = (),
    remove: Sequence[str] = (),
    known: Container[str] = frozenset(),
) -> tuple[str, Extraction | None]:
    """`visible_fingerprint` and `extract_text` of one capture, decoded and
    parsed once.

    Returns ``(fingerprint, None)`` when the fingerprint is in `known` (a page
    whose visible text was already extracted: the extraction is skipped, and
    so is the check of the selectors), else ``(fingerprint, extraction)``,
    both equal to what the two functions return on their own.
    """
    kind = _kind(body, content_type)
    if kind != "html":
        fingerprint = _raw_fingerprint(body)
        if fingerprint in known:
            return fingerprint, None
        return fingerprint, _guarded(lambda: _extract_other(body, kind, content_type))
    text, how = decode_body(body, content_type)
    root = _parse_html(text) if text is not None else None
    fingerprint = _fingerprint(body, text, root)
    if fingerprint in known:
        return fingerprint, None
    if not body.strip():
        return fingerprint, _EMPTY_BODY
    if text is None:
        return fingerprint, Extraction(status="undecodable", reason=how)
    if root is None:
        return fingerprint, _NO_ELEMENTS
    return fingerprint, _guarded(lambda: _extract_tree(root, text, url, select, remove))


# --------------------------------------------------------------------------
# visible-text fingerprint

_EMPTY_FINGERPRINT = hashlib.sha256(b"empty\0").hexdigest()


def visible_fingerprint(body: bytes, *, content_type: str | None) -> str:
    """SHA-256 of a page's visible text: every text node outside scripts,
    styles and templates (the title and <noscript> included),
    whitespace-collapsed. Attributes, comments and markup are ignored, so
    nonces, build hashes, tracking ids in links and class names do not change
    it (a tag still separates words: ``a<b>c</b>`` reads "a c"). Non-HTML
    bodies, and bytes that do not decode, hash their bytes.
    """
    kind = _kind(body, content_type)
    if kind != "html":
        return _raw_fingerprint(body)
    text, _ = decode_body(body, content_type)
    root = _parse_html(text) if text is not None else None
    return _fingerprint(body, text, root)


def _raw_fingerprint(body: bytes) -> str:
    return hashlib.sha256(b"raw\0" + body).hexdigest()


def _fingerprint(body: bytes, text: str | None, root) -> str:
    if text is None:
        return _raw_fingerprint(body)
    if root is None:
        return _EMPTY_FINGERPRINT
    words = str(_VISIBLE_TEXT(root)).split()
    return hashlib.sha256(b"text\0" + " ".join(words).encode("utf-8")).hexdigest()


# Skipped: what never shows (scripts, styles, templates). The title and
# <noscript> text stay in: the extraction reads them (title metadata,
# JavaScript-shell wording), so two pages that differ there must not share one
# extraction.
#
# The visible text of the document element, read in C without changing the
# tree (`fingerprint_and_extract` extracts from the same parse): the text
# nodes in document order, a space at every start and end tag, nothing for a
# comment or a processing instruction (the text on both sides joins:
# ``a<!--x-->b`` reads "ab"), nothing inside scripts, styles and templates.
# The same words as the first way of writing it: strip the comments and PIs,
# empty those elements, then read itertext(). Only the first element of the
# document: what comes after ``</html>`` is parsed as a second top-level
# element, which lxml's root (and so the extraction) does not see either.
_VISIBLE_TEXT = lxml.etree.XSLT(
    lxml.etree.XML(
        b"""<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text" encoding="utf-8"/>
  <xsl:template match="/"><xsl:apply-templates select="*[1]"/></xsl:template>
  <xsl:template match="*">
    <xsl:text> </xsl:text><xsl:apply-templates/><xsl:text> </xsl:text>
  </xsl:template>
  <xsl:template match="script|style|template"><xsl:text> </xsl:text></xsl:template>
  <xsl:template match="comment()|processing-instruction()"/>
</xsl:stylesheet>"""
    ),
    access_control=lxml.etree.XSLTAccessControl.DENY_ALL,
)
