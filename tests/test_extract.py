"""extract_text, normalize_text, visible_fingerprint and fingerprint_and_extract
on small hand-written pages."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import lxml.etree
import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.extract import (
    EXTRACTOR_VERSION,
    _trafilatura_markdown,
    decode_body,
    extract_text,
    fingerprint_and_extract,
    normalize_text,
    visible_fingerprint,
)

URL = "https://example.test/privacy"

POLICY_BODY = """
<h1>Privacy Policy</h1>
<p>Last updated: March 4, 2025</p>
<p>This Privacy Policy explains how Example Corp collects, uses and shares
information about you when you use our services. Please read it carefully,
because it describes the choices you have about your personal data.</p>
<h2>1. Information we collect</h2>
<p>We collect information you provide directly to us, such as when you create
an account, fill out a form, or communicate with us. The types of information
we may collect include your name, email address and postal address.</p>
<ul>
  <li>Account data</li>
  <li>Usage data</li>
  <li>Device data</li>
</ul>
<h2>2. How we share information</h2>
<p>We share personal information with vendors who perform services on our
behalf, with your consent, and when the law requires us to do so. We never
sell your personal information to anyone for any purpose whatsoever.</p>
<table>
  <tr><th>Category</th><th>Retention</th></tr>
  <tr><td>Account data</td><td>Life of the account</td></tr>
  <tr><td>Logs</td><td>90 days</td></tr>
</table>
<h2>3. Contact</h2>
<p>Write to privacy@example.test with any question about this policy and we
will answer within thirty days of receiving your message.</p>
"""


def page(main: str, *, head: str = "", lang: str = "en") -> bytes:
    html = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>Privacy Policy - Example</title>{head}</head>
<body>
<header><nav><a href="/">Home</a> <a href="/pricing">Pricing</a> <a href="/blog">Blog</a></nav></header>
<div id="cookie-banner" class="cookie-consent"><p>We use cookies. <button>Accept all</button></p></div>
<main>{main}</main>
<footer><p>Copyright 2025 Example Corp. All rights reserved.</p>
<ul><li><a href="/careers">Careers</a></li><li><a href="/press">Press</a></li></ul></footer>
</body></html>"""
    return html.encode("utf-8")


def extract(body: bytes, content_type: str | None = "text/html; charset=utf-8", **kw):
    return extract_text(body, content_type=content_type, url=URL, **kw)


def test_version_is_a_string():
    assert isinstance(EXTRACTOR_VERSION, str) and EXTRACTOR_VERSION


def test_headings_lists_and_tables_are_kept():
    result = extract(page(POLICY_BODY))
    assert result.status == "ok", result.reason
    text = result.text
    assert "# Privacy Policy" in text
    assert "## 1. Information we collect" in text
    assert "- Account data" in text and "- Device data" in text
    assert "| Category | Retention |" in text
    assert "| Logs | 90 days |" in text
    assert "Last updated: March 4, 2025" in text
    assert result.title == "Privacy Policy - Example"
    assert result.language == "en"


def test_boilerplate_is_dropped():
    text = extract(page(POLICY_BODY)).text
    assert "Pricing" not in text
    assert "Careers" not in text
    assert "All rights reserved" not in text
    assert "Accept all" not in text


def test_select_and_remove_keep_document_order():
    body = b"""<html><body>
    <div class="b"><p>Second block text.</p></div>
    <div class="a"><p>First block text.</p><p class="ad">Buy now!</p></div>
    <div class="c"><p>Not selected.</p></div>
    </body></html>"""
    # selectors given in the reverse order; output follows the document
    result = extract(body, select=[".a", ".b"], remove=[".ad"])
    assert result.status == "ok"
    assert result.text == "Second block text.\n\nFirst block text.\n"


def test_select_does_not_repeat_nested_matches():
    body = b"<html><body><section><h2>Terms</h2><p>Use it well.</p></section></body></html>"
    result = extract(body, select=["section", "section p"])
    assert result.text == "## Terms\n\nUse it well.\n"


def test_range_selector():
    body = b"""<html><body><h1>Title</h1><div id="start">Kept one.</div>
    <p>Kept two.</p><div id="end">Dropped.</div><p>After.</p></body></html>"""
    result = extract(body, select=['{"startBefore": "#start", "endBefore": "#end"}'])
    assert result.text == "Kept one.\n\nKept two.\n"


def test_selectors_that_match_nothing_fall_back_with_a_note():
    result = extract(page(POLICY_BODY), select=["#not-there"])
    assert result.status == "ok"
    assert "Information we collect" in result.text
    assert "match nothing" in (result.reason or "")


def test_bad_css_selector_is_a_value_error():
    with pytest.raises(ValueError, match="bad CSS selector"):
        extract(page(POLICY_BODY), select=["p[["])


def without_main_region(inner: str) -> bytes:
    """A page with no <main>/<article>: the writer on <body> minus boilerplate."""
    return (
        "<html><head><title>Policy</title></head><body>"
        "<div class='top'><a href='/'>Home</a> <a href='/blog'>Blog</a></div>"
        f"<div id='policy'>{inner}</div></body></html>"
    ).encode()


def test_source_line_breaks_inside_a_paragraph_are_joined():
    # POLICY_BODY's paragraphs are written over several source lines
    text = extract(without_main_region(POLICY_BODY)).text
    assert (
        "Please read it carefully, because it describes the choices you have about "
        "your personal data.\n" in text
    )
    assert "We never\nsell" not in text and "We never sell your personal information" in text
    # list items, headings and table rows stay on lines of their own
    assert "\n- Account data\n\n- Usage data\n" in text
    assert "\n## 2. How we share information\n" in text
    assert "\n| Logs | 90 days |\n" in text


def test_trafilatura_fallback_joins_source_line_breaks():
    # the fallback path (trafilatura) gets the source lines unwrapped first
    root = lxml.html.document_fromstring(without_main_region(POLICY_BODY).decode())
    text = _trafilatura_markdown(root, URL)
    assert "We never sell your personal information" in text
    assert "We never\nsell" not in text
    assert "\n- Account data\n- Usage data\n" in text


def test_emphasis_is_written():
    body = (
        b"<html><body><div id='doc'><p><strong>Effective: January 31, 2024</strong></p>"
        b"<p><b>Effective:</b> January 31, 2024</p>"
        b"<p>You <em>must</em> not<i> resell </i>it.<b> </b>Done.</p>"
        b"<ul><li><b>4.2 Fees.</b> You pay the fees.</li></ul>"
        b"<p><b>outer <b>inner</b></b></p><b><p>Bold paragraph</p></b></div></body></html>"
    )
    text = extract(body, select=["#doc"]).text
    assert text.split("\n\n") == [
        "**Effective: January 31, 2024**",
        "**Effective:** January 31, 2024",
        "You *must* not *resell* it. Done.",  # spaces outside, empty bold dropped
        "- **4.2 Fees.** You pay the fees.",
        "**outer inner**",  # bold inside bold is not opened twice
        "Bold paragraph\n",  # emphasis around a block writes no marks
    ]


def test_emphasis_keeps_the_clause_label():
    from transforms.clauses import split_clauses

    body = (
        b"<html><body><div id='doc'><h2>4. Payment</h2>"
        b"<p><b>4.2 Fees.</b> You pay the fees listed on the order form.</p></div></body></html>"
    )
    clauses = split_clauses(extract(body, select=["#doc"]).text)
    assert [c.label for c in clauses if "fees listed" in c.text] == ["4.2"]


MENU = (
    "<div class='site-menu'><div><span>Products</span></div>"
    "<div><a href='/a'>Assistant</a></div><div><a href='/api'>API</a></div>"
    "<div><a href='/enterprise'>Enterprise</a></div><div><a href='/blog'>Blog</a></div></div>"
)
POLICY_LIST = (
    "<ul><li>Payment processors, who handle your card details under their own terms;"
    " see the <a href='/processors'>list of processors</a>.</li>"
    "<li>Hosting providers, who store the data in the regions you choose.</li></ul>"
)


def test_link_dense_menu_is_dropped_and_a_policy_list_with_a_link_is_kept():
    text = extract(without_main_region(MENU + POLICY_BODY + POLICY_LIST)).text
    for word in ("Products", "Assistant", "Enterprise", "Blog", "Home"):
        assert word not in text
    assert (
        "- Payment processors, who handle your card details under their own terms;"
        " see the list of processors." in text
    )
    assert "- Hosting providers, who store the data in the regions you choose." in text
    assert "We never sell your personal information" in text


def test_a_page_without_a_main_region_is_written_by_the_writer(monkeypatch):
    import transforms.extract as extract_module

    def refuse(tree, url):
        raise AssertionError("trafilatura called for a page with enough text")

    monkeypatch.setattr(extract_module, "_trafilatura_markdown", refuse)
    hidden = "<style>.sr-only{display:none}</style><span class='sr-only'>Opens in a new tab</span>"
    controls = "<div tabindex='0'><p>Partner terms</p></div><ul role='listbox'><li>Deu</li></ul>"
    furniture = "<div class='left_sidebar'><p>Table of contents</p></div>"
    anchored = "<h2 id='feedback'>4. Complaints and feedback</h2>"
    text = extract(without_main_region(hidden + controls + furniture + POLICY_BODY + anchored)).text
    # the writer's own layout: blank lines between list items, **bold** kept
    assert text.startswith("# Privacy Policy\n\nLast updated: March 4, 2025\n")
    assert "\n- Account data\n\n- Usage data\n" in text
    assert "| Category | Retention |" in text
    for word in ("Opens in a new tab", "Partner terms", "Deu", "Table of contents", "Blog"):
        assert word not in text
    assert text.endswith("\n## 4. Complaints and feedback\n")  # an id is an anchor, not furniture


def test_a_javascript_shell_falls_back_to_trafilatura(monkeypatch):
    import transforms.extract as extract_module

    calls = []
    original = extract_module._trafilatura_markdown

    def spy(tree, url):
        calls.append(url)
        return original(tree, url)

    monkeypatch.setattr(extract_module, "_trafilatura_markdown", spy)
    shell = (
        b"<html><head><title>App</title></head><body><div id='root'></div>"
        b"<noscript>You need to enable JavaScript to run this app.</noscript></body></html>"
    )
    result = extract(shell)
    assert calls == [URL]  # the writer found fewer than MIN_REGION_WORDS words
    assert result.status != "ok"
    # a page with enough text never reaches trafilatura
    extract(without_main_region(POLICY_BODY))
    assert calls == [URL]


def test_preformatted_text_keeps_its_line_breaks():
    text = extract(without_main_region(POLICY_BODY + "<pre>line one\nline two</pre>")).text
    assert "line one\nline two" in text


def test_joined_lines_do_not_change_a_main_region_page():
    # the region writer already collapses white space: same text either way
    wrapped = POLICY_BODY
    flat = " ".join(POLICY_BODY.split("\n"))
    assert extract(page(wrapped)).text == extract(page(flat)).text


def test_line_breaks_separate_words_in_table_cells_and_headings():
    table = (
        "<table><tr><th>Use</th><th>Data</th></tr>"
        "<tr><td>Support</td><td>Account data<br>Contact data<br/>Logs</td></tr>"
        "<tr><td>Billing</td><td><p>Payment data</p><p>Invoices</p></td></tr></table>"
    )
    body = f"<html><body><div id='doc'><h2>Uses<br>of data</h2>{table}</div></body></html>"
    text = extract(body.encode(), select=["#doc"]).text
    assert "| Support | Account data Contact data Logs |" in text
    assert "| Billing | Payment data Invoices |" in text
    assert "## Uses of data" in text


def test_br_and_paragraphs_in_a_cell_give_the_same_text():
    # a site that swaps <p> items for <br> items has not changed its words
    cell_p = "<td><p>Account data</p><p>Logs</p></td>"
    cell_br = "<td>Account data<br>Logs</td>"

    def text(cell):
        body = f"<html><body><div id='doc'><table><tr><td>Use</td>{cell}</tr></table></div></body></html>"
        return extract(body.encode(), select=["#doc"]).text

    assert text(cell_p) == text(cell_br)


def test_charset_from_header():
    html = f"<html><body><p>{'Données personnelles et café. ' * 20}</p></body></html>"
    result = extract(html.encode("iso-8859-1"), content_type="text/html; charset=ISO-8859-1")
    assert result.status == "ok"
    assert "Données personnelles et café." in result.text


def test_charset_from_meta():
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
        f"</head><body><p>{'L’utilisateur accepte les conditions générales. ' * 20}</p></body></html>"
    )
    result = extract(html.encode("cp1252"), content_type="text/html")
    assert result.status == "ok"
    assert "L’utilisateur accepte les conditions générales." in result.text


def test_latin1_page_without_any_declaration():
    html = f"<html><body><p>{'Política de privacidad: información sobre sus datos. ' * 30}</p></body></html>"
    result = extract(html.encode("cp1252"), content_type="text/html")
    assert result.status == "ok"
    assert "Política de privacidad" in result.text


def test_broken_utf8_is_kept_with_replacements():
    good = (
        "<html><body><p>" + "Terms of use of the service for everyone. " * 40 + "</p></body></html>"
    ).encode()
    body = good[:200] + b"\xff\xfe" + good[200:]
    result = extract(body)
    assert result.status == "ok"
    assert "Terms of use of the service" in result.text


def test_binary_garbage_with_html_type_is_undecodable():
    import random

    rng = random.Random(7)
    garbage = bytes(rng.randrange(256) for _ in range(5000))
    result = extract(garbage, content_type="text/html")
    assert result.status == "undecodable"
    assert result.reason


def make_pdf(*pages: str) -> bytes:
    """A PDF with one line of Helvetica text per page."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for words in pages:
        pg = writer.add_blank_page(width=300, height=200)
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 20 100 Td ({words}) Tj ET".encode())
        pg[NameObject("/Contents")] = writer._add_object(stream)
        pg[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_pdf_text_in_page_order():
    pdf = make_pdf("First page of the terms", "Second page of the terms")
    result = extract(pdf, content_type="application/pdf")
    assert result.status == "ok", result.reason
    assert result.text.index("First page") < result.text.index("Second page")
    # magic bytes are enough, whatever the declared type
    assert extract(pdf, content_type="application/octet-stream").status == "ok"


def test_broken_pdf_is_unsupported():
    result = extract(b"%PDF-1.7\n this is not a pdf at all", content_type="application/pdf")
    assert result.status == "unsupported"
    assert "PDF" in result.reason


@pytest.mark.parametrize(
    "content_type", ["image/png", "application/json", "application/octet-stream"]
)
def test_other_types_are_unsupported(content_type):
    result = extract(b"\x89PNG\r\n\x1a\n....", content_type=content_type)
    assert result.status == "unsupported"
    assert content_type in result.reason


@pytest.mark.parametrize(
    "body", [b"", b"   \n", b"<html><head><title>x</title></head><body>  </body></html>"]
)
def test_empty_page_is_empty(body):
    assert extract(body).status == "empty"


def test_error_page_is_not_document():
    body = b"<html><head><title>404</title></head><body><h1>Page not found</h1><p>Sorry.</p></body></html>"
    result = extract(body)
    assert result.status == "not_document"
    assert "error page" in result.reason


# ---------------------------------------------------------------- normalise


def test_normalize_text_rules():
    raw = "Caf\u0065\u0301\u00a0menu\u200b  here  \r\n\r\n\r\n\r\nNext https://x.test/a?utm_source=n&id=3 \n"
    assert normalize_text(raw) == "Café menu here\n\nNext https://x.test/a?id=3\n"
    assert normalize_text("") == ""
    assert normalize_text("  - nested item") == "  - nested item\n"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_normalize_text_is_idempotent(raw):
    once = normalize_text(raw)
    assert normalize_text(once) == once


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(categories=["L", "N", "Zs", "P"]), min_size=1, max_size=40),
        min_size=1,
        max_size=6,
    )
)
def test_extract_text_is_deterministic(paragraphs):
    body = page("".join(f"<p>{p}</p>" for p in paragraphs))
    assert extract(body) == extract(body)


# ---------------------------------------------------------------- fingerprint


def churned(
    word: str = "collect", *, nonce: str = "a1", build: str = "abc123", cls: str = "x"
) -> bytes:
    return f"""<html><head><script nonce="{nonce}" src="/_next/static/{build}/main.js"></script>
<style>.{cls} {{ color: red }}</style></head><body class="{cls}">
<!-- build {build} -->
<main class="{cls}-main"><h1>Privacy</h1><p>We {word} data.</p>
<a href="/terms?utm_source={nonce}&amp;gclid={build}">Terms</a></main>
<script>window.__STATE__ = {{"nonce": "{nonce}"}}</script></body></html>""".encode()


def test_fingerprint_ignores_churn():
    a = visible_fingerprint(churned(), content_type="text/html")
    b = visible_fingerprint(churned(nonce="zz9", build="def456", cls="y"), content_type="text/html")
    assert a == b


def test_fingerprint_changes_with_a_word():
    a = visible_fingerprint(churned(), content_type="text/html")
    b = visible_fingerprint(churned("share"), content_type="text/html")
    assert a != b


def test_fingerprint_of_non_html_hashes_bytes():
    a = visible_fingerprint(b"%PDF-1.4 one", content_type="application/pdf")
    b = visible_fingerprint(b"%PDF-1.4 two", content_type="application/pdf")
    assert a != b and len(a) == 64


def test_pdf_lines_are_rebuilt_into_paragraphs():
    from transforms.extract import _pdf_paragraphs

    page = (
        "Master Services Agreement\r\n"
        "1 Background\r\n"
        "This agreement is entered into between the provider and the customer by\r\n"
        "clicking a box to confirm acceptance or by signing an order form that refer-\r\n"
        "ences it.\r\n"
        "2 Definitions\r\n"
        "The following definitions apply in this agreement and in every order form\r\n"
        "signed under it.\r\n"
    )
    assert _pdf_paragraphs(page) == [
        "Master Services Agreement",
        "1 Background",
        "This agreement is entered into between the provider and the customer by "
        "clicking a box to confirm acceptance or by signing an order form that references it.",
        "2 Definitions",
        "The following definitions apply in this agreement and in every order form "
        "signed under it.",
    ]


def test_fingerprint_sees_the_title_and_noscript_text_that_extraction_reads():
    base = "<html><head><title>{t}</title></head><body>{n}<main><p>{p}</p></main></body></html>"
    page = base.format(t="Privacy", n="", p="We keep data.")
    retitled = base.format(t="Page not found", n="", p="We keep data.")
    shell = base.format(
        t="Privacy", n="<noscript>Please enable JavaScript</noscript>", p="We keep data."
    )
    prints = {
        visible_fingerprint(x.encode(), content_type="text/html") for x in (page, retitled, shell)
    }
    assert len(prints) == 3


def test_fingerprint_joins_the_text_around_a_comment_and_splits_at_tags():
    def fp(inner: str) -> str:
        return visible_fingerprint(f"<html><body>{inner}</body></html>".encode(), content_type=None)

    assert fp("<p>priv<!-- x -->acy</p>") == fp("<p>privacy</p>")
    assert fp("<p>priv<b>acy</b></p>") == fp("<p>priv acy</p>") != fp("<p>privacy</p>")
    assert fp("<p>a<script>var b;</script>c</p>") == fp("<p>a c</p>")
    assert fp("<p>a<template><i>b</i> c</template>d</p>") == fp("<p>a d</p>")


# the fingerprint as first written: strip comments and PIs, empty scripts,
# styles and templates in place, then read itertext() of what is left
def reference_fingerprint(body: bytes, content_type: str) -> str:
    text, _ = decode_body(body, content_type)
    if text is None:
        return hashlib.sha256(b"raw\0" + body).hexdigest()
    root = lxml.html.document_fromstring(text)
    lxml.etree.strip_elements(
        root, lxml.etree.Comment, lxml.etree.ProcessingInstruction, with_tail=False
    )
    for el in list(root.iter("script", "style", "template")):
        el.text = None
        for child in list(el):
            el.remove(child)
    words = " ".join(root.itertext()).split()
    return hashlib.sha256(b"text\0" + " ".join(words).encode("utf-8")).hexdigest()


# text and the awkward bits of real pages: entities, stray "<", control and
# odd white-space characters, and a "</html>" with text after it
_bits = st.lists(
    st.sampled_from(
        list("ab  \n\t\r<>&;é\x0b\x0c\x1c\u00a0\u2028")
        + ["&amp;", "&nbsp;", "&bogus;", "<br>", "<img alt='x'>", "</html>", "</body>"]
    ),
    max_size=6,
).map("".join)
_markup = st.recursive(
    _bits,
    lambda inner: st.one_of(
        st.builds(
            lambda tag, parts: f"<{tag}>{''.join(parts)}</{tag}>",
            st.sampled_from(
                ["p", "div", "b", "span", "script", "style", "template", "title", "noscript", "pre"]
            ),
            st.lists(inner, max_size=4),
        ),
        st.builds(lambda text: f"<!--{text}-->", _bits),
        st.builds(lambda text: f"<?pi {text}?>", _bits),
        st.builds(lambda parts: "".join(parts), st.lists(inner, min_size=2, max_size=4)),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(head=_markup, body=_markup)
def test_fingerprint_matches_the_reference_that_changes_the_tree(head, body):
    # the reference decodes as visible_fingerprint does and parses with
    # lxml.html's own parser; the padding (an attribute, not text) keeps a few
    # control characters under the share that hashes a body as binary
    pad = "x" * 400
    html = f"<html><head><meta name='pad' content='{pad}'>{head}</head><body>{body}</body></html>"
    body = html.encode()
    content_type = "text/html; charset=utf-8"
    fingerprint = visible_fingerprint(body, content_type=content_type)
    assert fingerprint == reference_fingerprint(body, content_type)


# ---------------------------------------------------------------- fingerprint_and_extract


def both(body: bytes, content_type: str | None = "text/html; charset=utf-8", **kw):
    """(visible_fingerprint, extract_text) and fingerprint_and_extract of one body."""
    apart = (
        visible_fingerprint(body, content_type=content_type),
        extract_text(body, content_type=content_type, url=URL, **kw),
    )
    together = fingerprint_and_extract(body, content_type=content_type, url=URL, **kw)
    return apart, together


@pytest.mark.parametrize(
    "body, kw",
    [
        (page(POLICY_BODY), {}),  # the main-region writer
        (without_main_region(POLICY_BODY), {}),  # trafilatura
        (churned(), {}),
        (page(POLICY_BODY), {"select": ["main"], "remove": ["table"]}),
        (page(POLICY_BODY), {"select": ["#not-there"]}),  # selectors fall back, with a note
        (b"<html><head><title>404</title></head><body><h1>Page not found</h1></body></html>", {}),
        (b"<html><head><title>x</title></head><body>  </body></html>", {}),  # no main text
    ],
)
def test_fingerprint_and_extract_equals_the_two_calls(body, kw):
    apart, together = both(body, **kw)
    assert together == apart
    assert together[1] is not None and together[1].status in ("ok", "empty", "not_document")


def test_fingerprint_and_extract_reads_the_tree_before_extraction_changes_it():
    # trafilatura's path rewrites the parsed tree; selectors drop nodes from it
    body = without_main_region(POLICY_BODY + "<!-- c --><script>var x = 1;</script>")
    fingerprint, extraction = fingerprint_and_extract(
        body, content_type="text/html", url=URL, remove=[".top"]
    )
    assert fingerprint == visible_fingerprint(body, content_type="text/html")
    assert extraction == extract_text(body, content_type="text/html", url=URL, remove=[".top"])
    assert "We never sell your personal information" in extraction.text


def test_fingerprint_and_extract_skips_a_known_page():
    body = page(POLICY_BODY)
    fingerprint = visible_fingerprint(body, content_type="text/html")
    assert fingerprint_and_extract(
        body, content_type="text/html", url=URL, known={fingerprint}
    ) == (fingerprint, None)
    # the same visible text with other scripts and markup is known too
    a = churned()
    b = churned(nonce="zz9", build="def456", cls="y")
    known = frozenset({visible_fingerprint(a, content_type="text/html")})
    assert fingerprint_and_extract(b, content_type="text/html", url=URL, known=known)[1] is None
    # another page is extracted
    other = fingerprint_and_extract(
        churned("share"), content_type="text/html", url=URL, known=known
    )
    assert other[0] not in known and other[1] is not None and "share" in other[1].text


def test_fingerprint_and_extract_of_a_known_page_does_not_read_its_selectors():
    body = page(POLICY_BODY)
    fingerprint = visible_fingerprint(body, content_type="text/html")
    with pytest.raises(ValueError, match="bad CSS selector"):
        fingerprint_and_extract(body, content_type="text/html", url=URL, select=["p[["])
    assert fingerprint_and_extract(
        body, content_type="text/html", url=URL, select=["p[["], known={fingerprint}
    ) == (fingerprint, None)


def test_fingerprint_and_extract_of_a_pdf():
    pdf = make_pdf("First page of the terms", "Second page of the terms")
    for content_type in ("application/pdf", "application/octet-stream"):
        apart, together = both(pdf, content_type)
        assert together == apart
        assert together[1].status == "ok" and "Second page" in together[1].text
        assert together[0] == hashlib.sha256(b"raw\0" + pdf).hexdigest()
        known = fingerprint_and_extract(pdf, content_type=content_type, url=URL, known={apart[0]})
        assert known == (apart[0], None)


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png", "unsupported"),
        (b"%PDF-1.7\n this is not a pdf at all", "application/pdf", "unsupported"),
        (b"", "text/html", "empty"),
        (b"   \n", "text/html", "empty"),
        (b"<!-- nothing but a comment -->", "text/html", "empty"),
        (bytes(range(256)) * 20, "text/html", "undecodable"),
    ],
)
def test_fingerprint_and_extract_of_bodies_without_html_text(body, content_type, status):
    apart, together = both(body, content_type)
    assert together == apart
    assert together[1].status == status
    assert fingerprint_and_extract(body, content_type=content_type, url=URL, known={apart[0]}) == (
        apart[0],
        None,
    )


# ---------------------------------------------------------------- normalize_text rewrite

# normalize_text as first written (str.translate with dict tables, one regex
# call per line): the rewrite must give the same text for every input
_REF_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)
_REF_SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\u2002\u2003\u2009\u200a\u3000\t\f\v"), " ")
_REF_TRACKING = re.compile(
    r"^(utm_[a-z]+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|_ga|_gl|"
    r"igshid|yclid|ref_src|ref_url|__hs[a-z]+|_hsenc|_hsmi|hsctatracking|oly_[a-z]+_id|"
    r"vero_[a-z]+|mkt_tok|trk|trkcampaign|sc_[a-z]+|s_cid|nonce|cb|_)$",
    re.IGNORECASE,
)


def _ref_clean_url(match: re.Match[str]) -> str:
    url = match.group(0)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    query = list(parse_qsl(parts.query, keep_blank_values=True))
    kept = [(k, v) for k, v in query if not _REF_TRACKING.match(k)]
    if len(kept) == len(query):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def reference_normalize_text(markdown: str) -> str:
    text = unicodedata.normalize("NFC", markdown)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.translate(_REF_ZERO_WIDTH).translate(_REF_SPACES)
    text = re.sub(r"https?://[^\s<>()\[\]\"']+", _ref_clean_url, text)
    lines = [re.sub(r"(?<=\S)[ ]{2,}", " ", line).rstrip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    text = unicodedata.normalize("NFC", text)
    return text + "\n" if text else ""


_ODD = (
    "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"  # removed
    "\u00a0\u2007\u202f\u2002\u2003\u2009\u200a\u3000\t\f\v"  # become a space
)
_odd_text = st.lists(
    st.one_of(
        st.sampled_from(list(_ODD)),
        st.sampled_from([" ", "  ", "\n", "\r\n", "\r", "\n\n\n", "\u2028", "\x1c", "\x85"]),
        st.sampled_from(["a", "e\u0301", "\u0301", "\u05d0", "- ", "1. ", "x"]),
        st.sampled_from(["https://x.test/a?utm_source=n&id=3", "http://y.test/?gclid=1 "]),
        st.text(max_size=3),
    ),
    max_size=60,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(_odd_text)
def test_normalize_text_equals_the_reference_on_odd_spaces(raw):
    assert normalize_text(raw) == reference_normalize_text(raw)


def test_normalize_text_odd_spaces_examples():
    raw = "  Da\u00adten\u200b\u00a0\u00a0und \u3000 Cookies\t\v\f \r\n\u202fnext  line   \u2009"
    expected = "  Daten und Cookies\n next line\n"
    assert normalize_text(raw) == reference_normalize_text(raw) == expected


# ---------------------------------------------------------------- the body writer's helpers
# Each is checked against the way it was first written (kept here as the
# reference) on generated markup, and the fallback against a fresh parse.


def test_white_space_of_the_writer_is_that_of_the_regex_it_replaced():
    # `_Writer.flush` and `_inline_text` collapse with str.split() where they
    # used re.sub(r"\s+", " ", line).strip(): the same characters, all of them
    spaces = re.compile(r"\s")
    for code in range(0x110000):
        char = chr(code)
        assert (spaces.fullmatch(char) is not None) == char.isspace(), hex(code)
    line = "\u3000a\x1c\x1f b\u00a0\u2028c\n\t\x0b"
    assert " ".join(line.split()) == re.sub(r"\s+", " ", line).strip() == "a b c"


def test_has_words_counts_like_split():
    from transforms.extract import _has_words

    for text in ("", " ", "a", "a b", "a b ", " a  b\n", "a b c", "a\x1cb c "):
        for count in (1, 2, 3, 4):
            assert _has_words(text, count) == (len(text.split()) >= count), (text, count)


_SIMPLE_MARKUP = st.recursive(
    st.sampled_from(["", "t", " "]),
    lambda inner: st.builds(
        lambda tag, attrs, parts: f"<{tag}{attrs}>{''.join(parts)}</{tag}>",
        st.sampled_from(["div", "nav", "header", "form", "button", "span", "script", "p"]),
        st.lists(
            st.sampled_from(
                [
                    " role='navigation'",
                    " role='main'",
                    " role='menu'",
                    " role='Menu'",
                    " aria-hidden='true'",
                    " aria-hidden='false'",
                    " hidden",
                    " class='x'",
                ]
            ),
            max_size=2,
            unique=True,
        ).map("".join),
        st.lists(inner, max_size=3),
    ),
    max_leaves=15,
)


@settings(max_examples=200, deadline=None)
@given(_SIMPLE_MARKUP)
def test_simple_selectors_find_what_cssselect_finds(markup):
    from lxml.cssselect import CSSSelector

    from transforms.extract import _BOILERPLATE, _SKIP, _WIDGETS, _Simple

    root = lxml.html.document_fromstring(f"<html><body>{markup}</body></html>")
    body = root.find("body")
    for css in (_BOILERPLATE, ", ".join([_BOILERPLATE, _WIDGETS, *sorted(_SKIP)])):
        expected = CSSSelector(css)(body)
        found = _Simple(css)(body)
        assert {id(el) for el in found} == {id(el) for el in expected}


def test_simple_selectors_refuse_other_selectors():
    from transforms.extract import _Simple

    for css in ("div p", ".x", "[role^=m]", "a > b"):
        with pytest.raises(ValueError, match="not a simple selector"):
            _Simple(css)


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")
_CSS_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_DISPLAY = re.compile(r"(?:^|;)\s*display\s*:\s*([\w-]+)")


def reference_hidden_classes(root) -> frozenset[str]:
    sheet = _CSS_COMMENT.sub("", "\n".join(t for st in root.iter("style") for t in st.itertext()))
    hidden: set[str] = set()
    shown: set[str] = set()
    depth = 0
    pos = 0
    for match in _CSS_RULE.finditer(sheet):
        between = sheet[pos : match.start()]
        depth += between.count("{") - between.count("}")
        pos = match.end()
        selectors, body = match.group(1), match.group(2)
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


_css = st.lists(
    st.sampled_from(
        [
            ".a",
            ".b",
            ".display",
            " .c .d",
            ", .e",
            "div",
            "{",
            "}",
            "display:none",
            "display: block",
            ";display:none",
            "color:red;",
            "display",
            "@media x",
            "/*",
            "*/",
            " ",
        ]
    ),
    max_size=25,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.lists(_css, min_size=1, max_size=2))
def test_hidden_classes_equal_the_reference_that_reads_every_rule(sheets):
    from transforms.extract import _hidden_classes

    styles = "".join(f"<style>{sheet}</style>" for sheet in sheets)
    root = lxml.html.document_fromstring(f"<html><head>{styles}</head><body>x</body></html>")
    assert _hidden_classes(root) == reference_hidden_classes(root)


def test_hidden_classes_examples():
    from transforms.extract import _hidden_classes

    sheet = (
        ".sr-only{display:none}.x,.y{color:red;display:none}.display{top:0}"
        "@media print{.shown{display:none}.z{display:block}}.z{display:none}"
        ".q .r{display:none}.w{display:none}div .w{display:flex}"
    )
    root = lxml.html.document_fromstring(f"<html><head><style>{sheet}</style></head></html>")
    assert _hidden_classes(root) == frozenset({"sr-only", "x", "y"})
    assert reference_hidden_classes(root) == frozenset({"sr-only", "x", "y"})
    for sheet in [
        "x{display:none;.k{display:block}}.k{display:none}",
        ".a{display:none}}.b{display:none}",
        "@media a{@media b{.c{display:none}}}.d{display:none}",
        ".e{color:red}display{.f{display:none}",
        ".g{display:none",
        "}.h{display:none}{.i{display:none}",
        ".j{color:red};display:none}",
    ]:
        root = lxml.html.document_fromstring(f"<html><head><style>{sheet}</style></head></html>")
        assert _hidden_classes(root) == reference_hidden_classes(root), sheet


def reference_drop_link_dense(el) -> None:
    all_text = lxml.etree.XPath("string()")
    link_text = lxml.etree.XPath(".//a//text()")
    links = lxml.etree.XPath("count(.//a)")
    from transforms.extract import _LINK_BLOCKS, LINK_DENSITY

    def visible(text):
        return len("".join(text.split()))

    def dense(block):
        if links(block) < 2:
            return False
        chars = visible(all_text(block))
        return chars > 0 and visible("".join(link_text(block))) >= LINK_DENSITY * chars

    stack = [el]
    while stack:
        for child in list(stack.pop()):
            if not isinstance(child.tag, str):
                continue
            if child.tag in _LINK_BLOCKS and dense(child):
                child.drop_tree()
            else:
                stack.append(child)


_link_markup = st.recursive(
    st.sampled_from(["", "word", " ", "\x0c", "\u00a0", "tw o", "<!--c-->", "<br>"]),
    lambda inner: st.builds(
        lambda tag, parts, tail: f"<{tag}>{''.join(parts)}</{tag}>{tail}",
        st.sampled_from(["a", "a", "div", "p", "ul", "li", "span", "section", "td"]),
        st.lists(inner, max_size=4),
        st.sampled_from(["", "x", " ", "tail text"]),
    ),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_link_markup, max_size=4).map("".join))
def test_link_dense_blocks_are_those_of_the_reference_that_judges_each_block(markup):
    from transforms.extract import _drop_link_dense

    html = f"<html><body>{markup}</body></html>"
    ours = lxml.html.document_fromstring(html).find("body")
    theirs = lxml.html.document_fromstring(html).find("body")
    assert outcome(_drop_link_dense, ours) == outcome(reference_drop_link_dense, theirs)


def outcome(function, tree):
    """The tree `function` leaves, or the ValueError it raises (lxml refuses
    to join a tail holding a control character to another text)."""
    try:
        function(tree)
    except ValueError as err:
        return str(err)
    return lxml.etree.tostring(tree)


def test_link_dense_examples():
    from transforms.extract import _drop_link_dense

    body = lxml.html.fragment_fromstring(
        "<div><p>Text <a>one</a></p>"
        "<div id='menu'><a>Home</a> <a>Blog</a> | <div><a>A</a><a>B</a></div></div>"
        "<p>Policy text with <a>a link</a> and <a>another</a> in a long sentence.</p></div>"
    )
    _drop_link_dense(body)
    assert [el.get("id") for el in body.iter("div")] == [None]
    assert body.text_content() == "Text onePolicy text with a link and another in a long sentence."
    for markup, dense in [
        ("<div><a>abcd</a><a>efg</a>hij</div>", True),  # exactly LINK_DENSITY
        ("<div><a>abcd</a><a>ef</a>g hij</div>", False),
        ("<div><a>ab</a><a>cd</a><!--a comment's tail is text-->efgh</div>", False),
        ("<div><a>ab</a><a>cd</a><!--its text is not-->e</div>", True),
        ("<div><a> </a><a>\x0c</a></div>", False),  # no visible text
        ("<section><p><a>ab</a>c<a>de</a></p>f g h</section>", False),  # its <p> is dense
    ]:
        body = lxml.html.document_fromstring(f"<body>{markup}</body>").find("body")
        reference = lxml.html.document_fromstring(f"<body>{markup}</body>").find("body")
        _drop_link_dense(body)
        reference_drop_link_dense(reference)
        assert (len(body) == 0) == dense, markup
        assert lxml.etree.tostring(body) == lxml.etree.tostring(reference), markup


def test_link_dense_counts_a_link_inside_a_link_once():
    # the HTML parser closes a link at the next one; a tree built by hand can
    # nest them, and the link text is still each text node once
    from transforms.extract import _drop_link_dense

    def tree():
        body = lxml.html.document_fromstring("<div><p>x</p></div>").find("body")
        outer = lxml.etree.SubElement(body[0], "a")
        outer.text = "link text here"
        for text in ("in", "ner"):
            lxml.etree.SubElement(outer, "a").text = text
        lxml.etree.SubElement(body[0], "a").text = "more words"
        return body

    ours, theirs = tree(), tree()
    _drop_link_dense(ours)
    reference_drop_link_dense(theirs)
    assert len(ours) == len(theirs) == 0
    ours, theirs = tree(), tree()
    ours[0][0].text = theirs[0][0].text = "some plain text that is long enough to stay"
    _drop_link_dense(ours)
    reference_drop_link_dense(theirs)
    assert len(ours) == len(theirs) == 1


def test_the_fallback_of_a_page_without_a_region_reads_the_page_as_parsed(monkeypatch):
    # `_body_text` cuts the tree; trafilatura gets the page parsed again (minus
    # the `remove` nodes of declared selectors that matched nothing)
    import transforms.extract as extract_module

    trees = []
    monkeypatch.setattr(
        extract_module,
        "_trafilatura_markdown",
        lambda tree, url: trees.append(lxml.etree.tostring(tree)) or "",
    )
    html = (
        "<html><head><title>T</title><style>.h{display:none}</style></head><body>"
        "<nav>Menu</nav><div class='h'>Hidden</div><div class='sidebar'>Side</div>"
        "<div><a>a</a><a>b</a></div><p>Too few words.</p><p class='ad'>Ad</p></body></html>"
    )
    extract(html.encode())
    extract(html.encode(), select=["#missing"], remove=[".ad"])
    fingerprint_and_extract(html.encode(), content_type="text/html", url=URL)
    fresh = lxml.html.document_fromstring(html)
    without_ad = lxml.html.document_fromstring(html)
    without_ad.find(".//p[@class='ad']").drop_tree()
    assert trees == [
        lxml.etree.tostring(fresh),
        lxml.etree.tostring(without_ad),
        lxml.etree.tostring(fresh),
    ]


def reference_body_text(root) -> str:
    from lxml.cssselect import CSSSelector

    from transforms.extract import _BOILERPLATE, _SKIP, _WIDGETS, _is_control, html_to_markdown

    body = root.find("body")
    hidden = reference_hidden_classes(root)
    body = copy.deepcopy(body if body is not None else root)
    for el in list(body.iterfind(".//*[@class]")):
        if el.getparent() is None:
            continue
        value = el.get("class", "")
        furniture = {"sidebar", "footer", "feedback", "breadcrumb", "breadcrumbs", "navbar"}
        if not hidden.isdisjoint(value.split()) or not (furniture | {"toolbar"}).isdisjoint(
            re.findall(r"[a-z]+", value.lower())
        ):
            el.drop_tree()
    for el in CSSSelector(_BOILERPLATE + ", " + _WIDGETS)(body):
        if el.getparent() is not None:
            el.drop_tree()
    for el in list(body.iter(*_SKIP)):
        if el.getparent() is not None:
            el.drop_tree()
    for el in list(body.iterfind(".//*[@tabindex]")):
        if _is_control(el) and el.getparent() is not None:
            el.drop_tree()
    reference_drop_link_dense(body)
    return html_to_markdown([body])


_body_markup = st.recursive(
    st.sampled_from(["", "word", " two words ", "\x0c", "<br>", "<!--c-->"]),
    lambda inner: st.builds(
        lambda tag, attrs, parts, tail: f"<{tag}{attrs}>{''.join(parts)}</{tag}>{tail}",
        st.sampled_from(["div", "p", "a", "a", "nav", "span", "script", "ul", "li", "h2"]),
        st.lists(
            st.sampled_from(
                [
                    " class='gone'",
                    " class='Left-Sidebar'",
                    " class='x'",
                    " role='menu'",
                    " hidden",
                    " tabindex='0'",
                    " aria-hidden='true'",
                ]
            ),
            max_size=2,
            unique=True,
        ).map("".join),
        st.lists(inner, max_size=4),
        st.sampled_from(["", "tail", " ", "\x0c"]),
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_body_markup, max_size=4).map("".join), st.booleans())
def test_body_text_equals_the_reference_that_copies_the_tree(markup, styled):
    from transforms.extract import _body_text

    style = "<style>.gone{display:none}</style>" if styled else ""
    html = f"<html><head>{style}</head><body>{markup}</body></html>"

    def written(function):
        root = lxml.html.document_fromstring(html)
        try:
            return function(root)
        except ValueError as err:  # a control character joined to a text
            return str(err)

    assert written(_body_text) == written(reference_body_text)


@settings(max_examples=200, deadline=None)
@given(_link_markup, st.randoms(use_true_random=False))
def test_document_position_sorts_as_numbering_the_tree(markup, random):
    from transforms.extract import _document_position

    root = lxml.html.document_fromstring(f"<html><body>{markup}<p>end</p></body></html>")
    everything = list(root.iter())
    position = {el: n for n, el in enumerate(everything)}
    picked = random.sample(everything, k=min(len(everything), 5))
    assert sorted(picked, key=_document_position) == sorted(picked, key=position.get)


def test_a_bad_selector_is_a_value_error_each_time():
    body = page(POLICY_BODY)
    for _ in range(2):
        with pytest.raises(ValueError, match="bad CSS selector"):
            extract(body, select=["p[["])
    assert extract(body, select=["main"]).text == extract(body, select=["main"]).text


# ---------------------------------------------------------------- characters and depth
# lxml parses C0 controls (and U+FFFE, U+FFFF) into the tree, then refuses them
# in any text it is given: dropping an element whose tail held one raised
# ValueError and stopped the run

# a block dropped in each extraction path (region, whole body, selectors),
# whose tail holds `{ch}`
ODD_PAGES = {
    "main region": "<main><nav><a href='/'>Skip</a></nav>{ch}<h1>Terms</h1><p>{text}</p>"
    "<p>Tail{ch}words here.</p></main>",
    "whole body": "<div><p>{text}</p><nav>menu</nav>{ch}<p>Tail{ch}words here.</p></div>",
    "selectors": "<article><p>{text}</p><span class='ad'>ad</span>{ch}"
    "<p>Tail{ch}words here.</p></article>",
}
SENTENCE = "We keep your data for thirty days and never sell it to anyone. " * 12


@pytest.mark.faults
@pytest.mark.parametrize("where", list(ODD_PAGES))
@pytest.mark.parametrize("ch", ["\x0c", "\x00", "\x01", "\x0b", "\x1f", "\ufffe", "\uffff"])
def test_control_characters_read_as_white_space(where, ch):
    def body(c: str) -> bytes:
        html = ODD_PAGES[where].format(ch=c, text=SENTENCE)
        return f"<html><head><title>T</title></head><body>{html}</body></html>".encode()

    kw = {"select": ["article"], "remove": [".ad"]} if where == "selectors" else {}
    odd, spaced = extract(body(ch), **kw), extract(body(" "), **kw)
    assert odd.status == "ok", odd.reason
    assert "Tail words here." in odd.text
    assert odd == spaced
    fingerprint, combined = fingerprint_and_extract(
        body(ch), content_type="text/html", url=URL, **kw
    )
    assert combined == odd
    assert fingerprint == visible_fingerprint(body(" "), content_type="text/html")


def test_control_characters_in_a_utf16_page():
    html = ODD_PAGES["main region"].format(ch="\x0c", text=SENTENCE)
    body = f"<html><body>{html}</body></html>".encode("utf-16")
    result = extract(body, content_type="text/html; charset=utf-16")
    assert result.status == "ok" and "Tail words here." in result.text


@pytest.mark.parametrize("text", ["\x00", "\x00A\x00"])
def test_a_utf16_body_that_starts_with_a_nul_is_not_read_as_utf32(text):
    # FF FE 00 00: the UTF-16LE mark and U+0000 (browsers sniff no UTF-32
    # mark); these bytes are also valid UTF-32LE, which read them as ""
    # and as "A" (found by test_decoded_text_is_always_xml_safe)
    body = text.encode("utf-16")
    assert body.startswith(b"\xff\xfe\x00\x00")
    decoded, how = decode_body(body, "text/html; charset=utf-16")
    assert (decoded, how) == (text.replace("\x00", " "), "utf-16-le")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
@settings(max_examples=300, deadline=None)
def test_decoded_text_is_always_xml_safe(text):
    """Whatever the codec path, decode_body's text is one lxml accepts, and
    only the refused characters changed (each into a space)."""
    for body, ctype in (
        (text.encode("utf-8"), "text/html; charset=utf-8"),
        (text.encode("utf-16"), "text/html; charset=utf-16"),
    ):
        decoded, _how = decode_body(body, ctype)
        if decoded is None:  # too many controls: undecodable, never parsed
            continue
        lxml.etree.Element("p").text = decoded  # raises on a character XML cannot hold
        assert len(decoded) == len(text)
        for before, after in zip(text, decoded, strict=True):
            refused = ord(before) < 32 and before not in "\t\n\r" or before in "\ufffe\uffff"
            assert after == (" " if refused else before)


@pytest.mark.faults
def test_deeply_nested_page_keeps_its_text():
    for wrap in ("", "<main>"):
        nested = "<div>" * 300 + f"<p>{SENTENCE}</p>" + "</div>" * 300
        result = extract(f"<html><body>{wrap}{nested}</body></html>".encode())
        assert result.status == "ok", result.reason
        assert "thirty days" in result.text


@pytest.mark.faults
def test_an_extractor_error_is_recorded_not_raised():
    nested = "<div>" * 1500 + f"<p>{SENTENCE}</p>" + "</div>" * 1500
    body = f"<html><body><main>{nested}</main></body></html>".encode()
    result = extract(body)
    assert result.status == "extractor_error"
    assert result.reason.startswith("RecursionError") and result.text == ""
    _fingerprint, combined = fingerprint_and_extract(body, content_type="text/html", url=URL)
    # the same record by either entry point; the error's message names the
    # operation that hit the limit, which depends on the callers' stack depth
    assert combined is not None and combined.reason.startswith("RecursionError")
    assert dataclasses.replace(combined, reason=None) == dataclasses.replace(result, reason=None)
    # a bad selector is still a registry error, raised whatever the page
    with pytest.raises(ValueError, match="bad CSS selector"):
        extract(body, select=["p[["])
