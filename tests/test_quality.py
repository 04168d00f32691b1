"""classify_page and is_collapse on small realistic pages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.extract import extract_text
from transforms.quality import _STOP_WORDS, classify_page, guess_language, is_collapse
from transforms.records import Extraction

SECTIONS = [
    (
        "Information we collect",
        "We collect the name, email address and payment details you give us.",
    ),
    ("How we use information", "We use information to provide, maintain and improve the service."),
    ("Sharing", "We share information with processors bound by contract and as the law requires."),
    ("Retention", "We keep information for as long as the account exists and then delete it."),
    ("Your rights", "You may access, correct, export or delete your information at any time."),
    ("Children", "The service is not directed to children under thirteen years of age."),
    ("Contact", "Write to privacy@example.test; we answer within thirty days."),
]


def policy(sections=SECTIONS, repeat: int = 8) -> str:
    parts = ["# Privacy Policy", "Last updated: March 4, 2025"]
    for heading, body in sections:
        parts += [f"## {heading}", " ".join([body] * repeat)]
    return "\n\n".join(parts) + "\n"


def html(body: str, title: str = "Example") -> bytes:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>".encode()


WALLS = {
    "error page": html(
        "<h1>Page not found</h1><p>The page you were looking for doesn't exist.</p><a href='/'>Home</a>",
        "404",
    ),
    "error page ": html("<h1>Something went wrong</h1><p>Please try again later.</p>", "Error"),
    "access denied": html(
        "<h1>Access Denied</h1><p>You don't have permission to access this server.</p>"
    ),
    "captcha or bot wall": html(
        "<h1>Just a moment...</h1><p>Verify you are human by completing the action below.</p>"
    ),
    "login wall": html(
        "<h2>Log in to continue</h2><form><input name=email><button>Continue with Google</button></form>"
    ),
    "cookie wall": html(
        "<div><p>Accept cookies to continue to the site. We and our partners use cookies.</p><button>Accept</button></div>"
    ),
    "JavaScript shell": html(
        "<noscript>You need to enable JavaScript to run this app.</noscript><div id=root></div><p>You need to enable JavaScript to run this app.</p>"
    ),
    "PDF viewer shell": html(
        "<div id=viewer><p>Your browser does not support PDF viewing. Download the PDF to view it.</p></div>"
    ),
}


@pytest.mark.parametrize("kind", sorted(WALLS))
def test_walls_error_pages_and_shells_are_not_documents(kind):
    result = extract_text(WALLS[kind], content_type="text/html", url="https://example.test/x")
    assert result.status == "not_document", (kind, result)
    assert result.reason.startswith(kind.strip()), result.reason


def test_a_genuine_policy_is_not_flagged():
    text = policy() + "\n\nIf a page is not found (error 404) or access denied, contact us.\n"
    result = classify_page(Extraction(status="ok", text=text))
    assert result.status == "ok"


def test_a_short_genuine_policy_is_not_flagged():
    text = "# Acceptable Use Policy\n\nDo not use the service to harm others, break the law or send spam.\n"
    assert classify_page(Extraction(status="ok", text=text)).status == "ok"


def test_http_error_status_is_not_a_document():
    result = classify_page(Extraction(status="ok", text=policy()), http_status=503)
    assert result.status == "not_document"
    assert "503" in result.reason


def test_other_statuses_pass_through():
    unsupported = Extraction(status="unsupported", reason="image/png")
    assert classify_page(unsupported) is unsupported


def test_collapse_fires_on_an_error_page():
    error = "# Page not found\n\nThe page you were looking for does not exist.\n"
    reason = is_collapse(error, policy())
    assert reason is not None and "collapse" in reason


def test_collapse_does_not_fire_on_a_removed_section():
    edited = policy(SECTIONS[:3] + SECTIONS[4:])
    assert is_collapse(edited, policy()) is None


def test_collapse_does_not_fire_on_a_heavy_but_genuine_shortening():
    # the document keeps its headings but loses most of its words
    assert is_collapse(policy(repeat=1), policy(repeat=8)) is None


def test_collapse_on_texts_without_headings():
    reference = " ".join(
        f"Clause {i} binds the user to rule number {i} of the agreement." for i in range(200)
    )
    assert is_collapse("Sorry, this content is unavailable.", reference) is not None
    assert is_collapse(reference[: len(reference) // 2], reference) is None
    assert is_collapse("anything", "") is None


@pytest.mark.faults
def test_language_guess_is_sure_or_silent():
    from transforms.quality import guess_language

    english = "We collect the data that you give us when you use our services and talk to us. " * 8
    french = (
        "Nous recueillons les données que vous nous fournissez lorsque vous utilisez nos services. "
        * 8
    )
    chinese = "我们收集您在使用服务时提供的信息 " * 40 + "and a few English words in the"
    assert guess_language(english) == "en"
    assert guess_language(french) == "fr"
    assert guess_language(chinese) is None
    assert guess_language("Terms of Service") is None  # too short to be sure


def test_a_translated_edition_is_not_the_document():
    from transforms.quality import is_collapse

    english = (
        "# Privacy\n\n" + "We collect the data that you give us when you use our services. " * 10
    )
    french = (
        "# Confidentialité\n\n"
        + "Nous recueillons les données que vous nous donnez pour nos services. " * 10
    )
    assert is_collapse(french, english) == "another language (fr; the document is en)"
    assert is_collapse(english + " We also keep logs for 30 days.", english) is None


def _reference_guess(text: str, sample: int = 3000) -> str | None:
    """guess_language as first written: one pass per language over the words."""
    import re

    words = re.findall(r"\w+", text.lower())[:sample]
    stops = {lang: frozenset(w.split()) for lang, w in _STOP_WORDS.items()}
    hits = {lang: sum(1 for w in words if w in stop) for lang, stop in stops.items()}
    ranked = sorted(hits.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_second, runner_up) = ranked[0], ranked[1]
    if top < 30 or top < 0.1 * len(words) or top < 2 * runner_up:
        return None
    return best


_VOCAB = sorted({w for words in _STOP_WORDS.values() for w in words.split()}) + [
    "policy",
    "données",
    "Straße",
    "数据",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_VOCAB), max_size=400), st.integers(10, 3000))
def test_guess_language_counts_like_one_pass_per_language(words, sample):
    text = " ".join(words)
    assert guess_language(text, sample=sample) == _reference_guess(text, sample)


def test_guess_language_tells_english_from_french():
    english = policy()
    french = " ".join(["Nous collectons les données que vous nous donnez pour le service."] * 20)
    assert guess_language(english) == "en"
    assert guess_language(french) == "fr"
    assert _reference_guess(english) == "en" and _reference_guess(french) == "fr"


@given(
    st.lists(
        st.sampled_from(["word", "İstanbul", "ΣΊΣΥΦΟΣ", "a", "…", " ", "\n", "-", "ǅ", "ﬃ"]),
        max_size=120,
    ),
    st.integers(min_value=1, max_value=30),
)
def test_has_words_counts_like_the_whole_text(parts, n):
    from transforms.quality import _has_words, _words

    text = "".join(parts)
    assert _has_words(text, n) == (len(_words(text)) >= n)
