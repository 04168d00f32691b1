"""Is this capture the document, or an error page, a wall or a shell?

Pure functions over extracted text. Every rule is general: it names the kind
of page, never a service.

`classify_page` looks at one extraction alone. A page is "not the document"
when it is *short* and says what it is: archived error pages ("page not
found", "404", "something went wrong", "access denied"), captcha and bot
walls ("verify you are human", "just a moment..."), login walls ("sign in to
continue"), cookie walls that hide the text, JavaScript shells ("enable
JavaScript"), PDF-viewer shells. Short means fewer than `SHORT_WORDS` words:
a real policy that mentions "404" or "cookies" in its body is long and is
never flagged by wording alone. An HTTP status of 400 or more is an error
page whatever the text.

`is_collapse` compares a text with the document's last accepted text: a
collapse is a size drop below a quarter of the reference *and* the loss of
most of the reference's headings (or, for a reference without headings, of
most of its distinctive words). A genuine edit that removes a section keeps
most headings, so it never fires.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

from transforms.records import Extraction

SHORT_WORDS = 400  # pages shorter than this are checked for wall wording
TINY_WORDS = 40  # a page shorter than this with a wall's title is a wall

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        (
            "captcha or bot wall",
            r"verify (that )?you are (a )?human|are you a robot|i'?m not a robot|"
            r"checking (if the site connection is secure|your browser)|just a moment\.\.\.|"
            r"enable javascript and cookies to continue|complete the security check|"
            r"unusual traffic from your (computer|network)|press (&|and) hold|"
            r"please solve (this|the) (captcha|puzzle)|\bcaptcha\b|attention required|"
            r"request unsuccessful\. incapsula|ddos protection by|bot (protection|detection)",
        ),
        (
            "error page",
            r"\b(page|file|document|content)( you (were|are) looking for)? (was |could |does )?(not|n't) (be )?(found|exist)\b|"
            r"\b404\b[^\n]{0,40}(not found|error|page)|\b(error|page)[^\n]{0,20}\b404\b|^\s*#*\s*404\s*$|\berror 50[0-9]\b|\b50[0-9] (internal server error|bad gateway|service unavailable|gateway time-?out)\b|"
            r"something went wrong|an error (has )?occurred|this page (isn't|is not) available|"
            r"page (does not|doesn't) exist|this page is no longer available|"
            r"internal server error|service (is )?(temporarily )?unavailable|bad gateway|too many requests|"
            r"\boops[!.,]",
        ),
        (
            "access denied",
            r"access (is )?denied|\b403\b[^\n]{0,20}forbidden|^\s*#*\s*forbidden\s*$|"
            r"you (don't|do not) have permission to (access|view)|"
            r"not authori[sz]ed to (access|view)|your (ip|access|request) (address )?has been blocked",
        ),
        (
            "login wall",
            r"(sign|log) ?in to (continue|view|access|see)|please (sign|log) ?in|"
            r"you (must|need to) (be )?(sign(ed)?|log(ged)?) ?in|session (has )?expired|"
            r"create an account to continue|continue with (google|apple|email)",
        ),
        (
            "cookie wall",
            r"(accept|agree to) (all )?cookies to (continue|view|access|see)|"
            r"cookies? (must|need to) be (enabled|accepted)|enable cookies|"
            r"consent to (the use of )?cookies to (continue|access)",
        ),
        (
            "JavaScript shell",
            r"(enable|turn on|activate) javascript|javascript (is )?(required|disabled|must be enabled)|"
            r"requires javascript|you need to enable javascript|browser (is not|isn't) supported|"
            r"loading\.\.\.$|^\s*loading\s*$",
        ),
        (
            "PDF viewer shell",
            r"pdf\.js|(your browser|this browser) (does not|doesn't|cannot) (display|support|show) (pdf|this pdf)|"
            r"download (the )?pdf to view|(unable|failed) to (load|display) (the )?pdf|pdf viewer",
        ),
    )
)
_WORD = re.compile(r"\w+", re.UNICODE)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$|^(.+)\n\s{0,3}(=+|-+)\s*$", re.MULTILINE)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@lru_cache(maxsize=16)
def _profile(text: str) -> tuple[tuple[str, ...], str | None]:
    """A whole document text's words and language guess, remembered for the
    few texts in use: screening compares each capture with the page's last
    accepted text, so each text comes back as the reference of the next."""
    words = tuple(_words(text))
    return words, _guess(words[:3000])


def _has_words(text: str, n: int) -> bool:
    """`len(_words(text)) >= n`, reading a long text's start only.

    Lowering maps each character on its own (into one or more characters),
    so the start of a text lowered is the start of the text lowered, and it
    never holds more words than the whole.
    """
    head = text[: 20 * n]
    if len(_words(head)) >= n:
        return True
    return len(head) < len(text) and len(_words(text)) >= n


def wall_reason(text: str, title: str | None = None) -> str | None:
    """The kind of wall, error page or shell that `text` is, if any."""
    if _has_words(text, SHORT_WORDS):
        return None  # long pages are never judged by their wording
    words = _words(text)
    for name, pattern in _RULES:
        if pattern.search(text):
            return f"{name}: short page ({len(words)} words) matching {pattern.search(text).group(0)!r}"
    if title and len(words) < TINY_WORDS:
        for name, pattern in _RULES:
            found = pattern.search(title)
            if found:
                return f"{name}: tiny page whose title matches {found.group(0)!r}"
    return None


def classify_page(extraction: Extraction, *, http_status: int | None = None) -> Extraction:
    """The same extraction, or one marked ``not_document`` with the rule."""
    if extraction.status == "not_document":
        return extraction
    if http_status is not None and http_status >= 400:
        return replace(extraction, status="not_document", reason=f"HTTP status {http_status}")
    if extraction.status not in ("ok", "empty"):
        return extraction
    reason = wall_reason(extraction.text, extraction.title)
    if reason is None:
        return extraction
    return replace(extraction, status="not_document", reason=reason)


def _headings(text: str) -> list[str]:
    out = []
    for match in _HEADING.finditer(text):
        heading = (match.group(1) or match.group(2) or "").strip().lower()
        if heading and not set(heading) <= set("-=*_ "):
            out.append(" ".join(_words(heading)))
    return [h for h in out if h]


# The most frequent function words of the languages policies are most often
# published in. Two texts whose best guesses differ confidently are not the
# same document: a geo-redirected or translated edition is another document.
_STOP_WORDS = {
    "en": "the and of to in or you we your that for is are with by this our any as be",
    "fr": "le la les de des et vous nous votre vos que pour est sont avec par dans une un du",
    "de": "der die das und ist sie wir ihre ihr nicht mit von für auf den dem zu ein eine",
    "es": "el la los las de que usted nosotros su sus para con por en una un del se es",
    "it": "il lo la gli le di che per con sono voi noi vostro vostri una un del della questo",
    "pt": "os as de que você nós seu seus para com por em uma um do da são não",
    "nl": "de het een en van je jij wij ons onze uw dat voor met op in is zijn niet",
}
_STOP_SETS = {lang: frozenset(words.split()) for lang, words in _STOP_WORDS.items()}
# word -> the languages whose list has it, in the order of _STOP_WORDS
_STOP_INDEX: dict[str, tuple[str, ...]] = {}
for _lang, _stop in _STOP_SETS.items():
    for _word in _stop:
        _STOP_INDEX[_word] = (*_STOP_INDEX.get(_word, ()), _lang)


def guess_language(text: str, *, sample: int = 3000) -> str | None:
    """The language of `text` from its function words, or None when unsure.

    Sure means: at least 30 function-word hits in the first `sample` words,
    making at least a tenth of them (a Chinese text with a few Latin words is
    no guess), and the best language has at least twice the hits of the next.
    """
    return _guess(_words(text)[:sample])


def _guess(words: Sequence[str]) -> str | None:
    hits = dict.fromkeys(_STOP_SETS, 0)
    # counted once per distinct function word (Counter counts in C)
    for word, n in Counter(words).items():
        for lang in _STOP_INDEX.get(word, ()):
            hits[lang] += n
    ranked = sorted(hits.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_second, runner_up) = ranked[0], ranked[1]
    if top < 30 or top < 0.1 * len(words) or top < 2 * runner_up:
        return None
    return best


def is_collapse(text: str, reference: str) -> str | None:
    """Why `text` is not plausibly the document whose last text was `reference`."""
    ref_words, theirs = _profile(reference)
    if not ref_words:
        return None
    new_words, ours = _profile(text)
    if ours and theirs and ours != theirs:
        return f"another language ({ours}; the document is {theirs})"
    ratio = len(new_words) / len(ref_words)
    if ratio >= 0.25:
        return None
    ref_headings = set(_headings(reference))
    if len(ref_headings) >= 3:
        kept = ref_headings & set(_headings(text))
        share = len(kept) / len(ref_headings)
        if share < 0.5:
            return (
                f"size collapse to {ratio:.0%} of the last text, "
                f"{len(ref_headings) - len(kept)} of {len(ref_headings)} headings missing"
            )
        return None
    ref_vocab = {w for w in ref_words if len(w) > 3}
    if not ref_vocab:
        return None
    share = len(ref_vocab & set(new_words)) / len(ref_vocab)
    if share < 0.5:
        return f"size collapse to {ratio:.0%} of the last text, {share:.0%} of its vocabulary kept"
    return None
