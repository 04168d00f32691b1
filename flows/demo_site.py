"""Lumen: a fictional platform whose legal pages we wrote, for demos and tests.

Lumen ("lumen.example"; ".example" never resolves) is an imaginary writing
assistant with two tracked documents:

* the Privacy Policy, one page, eight text versions from 2021 to 2025: a
  cookies section, retention going from 30 days to 90 days to 5 years, a new
  "Training on Your Content" section, a change to it that was rolled back
  (A -> B -> A), a feedback license, and later children's and transfer
  sections. Between the text changes sit captures whose HTML differs (nonces,
  build hashes, CSRF tokens, CSS class hashes, tracking parameters) but whose
  visible text does not, and one error page archived with status 200;
* the Terms of Service, two pages concatenated in order (the terms and the
  acceptable use policy), each captured on its own schedule.

Every page is rendered from (text version, churn seed) by code, so the bytes
are deterministic: no randomness, no clock. The text versions are plain
Python data below.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from flows.local_archive import ArchivedCapture, LivePage, LocalArchive
from flows.settings import Settings

__all__ = [
    "DEMO_HOST",
    "DEMO_PLATFORM",
    "PRIVACY_URL",
    "TERMS_URL",
    "AUP_URL",
    "demo_captures",
    "demo_live_pages",
    "demo_registry",
    "write_demo_registry",
    "demo_settings",
    "expected_texts",
    "expected_page_texts",
]

DEMO_PLATFORM = "lumen"
DEMO_PLATFORM_NAME = "Lumen"
DEMO_HOST = "lumen.example"
PRIVACY_URL = f"http://{DEMO_HOST}/legal/privacy"
TERMS_URL = f"http://{DEMO_HOST}/legal/terms"
AUP_URL = f"http://{DEMO_HOST}/legal/terms/acceptable-use"

# A block is a paragraph (str) or a bulleted list (tuple of str). Paragraphs
# may hold links written "[text](/path)"; the link text is what a reader sees.
Block = str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Section:
    heading: str  # rendered as "<h2>N. heading</h2>", N from its position
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class TextVersion:
    key: str  # e.g. "privacy-4"
    title: str
    updated: str  # the page's own "Last updated" date, "March 28, 2023"
    intro: tuple[Block, ...]
    sections: tuple[Section, ...]
    marker: str  # a phrase in this text that the text before it does not hold


# --------------------------------------------------------------------------
# Privacy Policy text

_PRIVACY_INTRO: tuple[Block, ...] = (
    "This Privacy Policy explains how Lumen Labs, Inc. (\u201cLumen\u201d, \u201cwe\u201d, "
    "\u201cus\u201d) collects, uses and shares information about you when you use the "
    "Lumen writing assistant, our websites and related services (together, the "
    "\u201cServices\u201d).",
)

_P_COLLECT_LEAD = (
    "We collect information you give us, information created when you use the "
    "Services, and a limited amount of information from other sources."
)
_P_COLLECT_ITEMS = (
    "Account information, such as your name, email address and password.",
    "Content you create, such as the documents, prompts and notes you write in or upload to Lumen.",
    "Usage information, such as the features you use, the pages you visit and "
    "the time and length of your sessions.",
    "Device information, such as your browser type, operating system and IP address.",
)
_P_COLLECT = Section("Information We Collect", (_P_COLLECT_LEAD, _P_COLLECT_ITEMS))
_P_COLLECT_2 = Section(
    "Information We Collect",
    (
        _P_COLLECT_LEAD,
        (
            *_P_COLLECT_ITEMS,
            "Information from sign-in providers: if you sign in with a third-party "
            "account, we receive your name, email address and profile picture from "
            "that provider.",
        ),
    ),
)

_P_USE = Section(
    "How We Use Information",
    (
        "We use the information we collect to:",
        (
            "provide, maintain and improve the Services;",
            "respond to your requests and send you service messages;",
            "detect, investigate and prevent fraud and abuse;",
            "comply with our legal obligations.",
        ),
        "We do not sell your personal information.",
    ),
)

_P_COOKIES = Section(
    "Cookies and Similar Technologies",
    (
        "We use cookies that are needed for the Services to work, such as the cookie "
        "that keeps you signed in. With your consent, we also use analytics cookies "
        "to understand how the Services are used. You can change your choice at any "
        "time in our [cookie settings](/settings/cookies).",
    ),
)

_P_SHARE = Section(
    "How We Share Information",
    (
        "We share information with service providers who process it on our behalf, "
        "such as hosting, payment and email providers, under contracts that limit "
        "their use of it.",
        "We may also share information when the law requires it, to protect the "
        "rights and safety of Lumen and our users, or as part of a merger, sale or "
        "acquisition.",
    ),
)

_P_TRAINING_A = Section(
    "Training on Your Content",
    (
        "We may use the content you create with Lumen to train and improve our "
        "machine learning models. You can turn this off at any time in your "
        "[privacy settings](/settings/privacy); when you do, we will not use content "
        "you create afterwards for training.",
        "We remove account information such as names and email addresses from "
        "content before it is used for training.",
    ),
)

_P_TRAINING_B = Section(
    "Training on Your Content",
    (
        "We use the content you create with Lumen, including prompts, documents and "
        "feedback, to train and improve our machine learning models. Content from "
        "Lumen for Teams workspaces is excluded.",
        "We remove account information such as names and email addresses from "
        "content before it is used for training.",
    ),
)


def _retention(period: str) -> Section:
    return Section(
        "Data Retention",
        (
            "We keep your content for as long as your account is active. When you "
            "delete a document or close your account, we delete the associated content "
            f"from our systems within {period}, except where we must keep it to meet a "
            "legal obligation.",
        ),
    )


_P_RETENTION_5Y = Section(
    "Data Retention",
    (
        "We keep your content for as long as your account is active. When you delete "
        "a document or close your account, we delete it from your workspace "
        "immediately and from our backups within 90 days.",
        "Content that has been selected for model training, and the ratings and "
        "feedback you send us, are kept for up to 5 years, separately from your "
        "account, so that we can retrain and evaluate our models.",
    ),
)

_P_FEEDBACK = Section(
    "Feedback",
    (
        "If you send us feedback, including ratings of Lumen\u2019s suggestions, you "
        "grant Lumen a perpetual, irrevocable, worldwide, royalty-free license to use "
        "that feedback for any purpose, without compensation to you.",
    ),
)

_P_RIGHTS = Section(
    "Your Rights and Choices",
    (
        "You can access, correct, export or delete your information at any time from "
        "your [account settings](/settings/account). Depending on where you live, you "
        "may also have the right to object to or restrict certain processing and to "
        "lodge a complaint with your data protection authority.",
    ),
)

_P_CHILDREN = Section(
    "Children\u2019s Privacy",
    (
        "Lumen is not directed to children under 13, and we do not knowingly collect "
        "their personal information. If you believe a child has given us personal "
        "information, contact us and we will delete it.",
    ),
)

_P_TRANSFERS = Section(
    "International Data Transfers",
    (
        "We are based in the United States and process information there and in the "
        "other countries where our service providers operate. When we transfer "
        "personal information out of the European Economic Area or the United "
        "Kingdom, we rely on the European Commission\u2019s Standard Contractual Clauses.",
    ),
)

_P_CONTACT = Section(
    "Contact Us",
    (
        "Questions about this policy can be sent to privacy@lumen.example or by mail "
        "to Lumen Labs, Inc., 100 Example Street, Springfield.",
    ),
)


def _privacy(key: str, updated: str, marker: str, *sections: Section) -> TextVersion:
    return TextVersion(key, "Privacy Policy", updated, _PRIVACY_INTRO, sections, marker)


PRIVACY_VERSIONS: dict[str, TextVersion] = {
    v.key: v
    for v in (
        _privacy(
            "privacy-1",
            "February 1, 2021",
            "within 30 days",
            _P_COLLECT,
            _P_USE,
            _P_SHARE,
            _retention("30 days"),
            _P_RIGHTS,
            _P_CONTACT,
        ),
        _privacy(
            "privacy-2",
            "October 12, 2021",
            "Cookies and Similar Technologies",
            _P_COLLECT,
            _P_USE,
            _P_COOKIES,
            _P_SHARE,
            _retention("30 days"),
            _P_RIGHTS,
            _P_CONTACT,
        ),
        _privacy(
            "privacy-3",
            "May 20, 2022",
            "within 90 days",
            _P_COLLECT_2,
            _P_USE,
            _P_COOKIES,
            _P_SHARE,
            _retention("90 days"),
            _P_RIGHTS,
            _P_CONTACT,
        ),
        _privacy(
            "privacy-4",
            "March 28, 2023",
            "You can turn this off at any time",
            _P_COLLECT_2,
            _P_USE,
            _P_COOKIES,
            _P_SHARE,
            _P_TRAINING_A,
            _retention("90 days"),
            _P_RIGHTS,
            _P_CONTACT,
        ),
        _privacy(  # rolled back a month later
            "privacy-5",
            "September 5, 2023",
            "Content from Lumen for Teams workspaces is excluded",
            _P_COLLECT_2,
            _P_USE,
            _P_COOKIES,
            _P_SHARE,
            _P_TRAINING_B,
            _retention("90 days"),
            _P_RIGHTS,
            _P_CONTACT,
        ),
        _privacy(
            "privacy-6",
            "June 30, 2024",
            "up to 5 years",
            _P_COLLECT_2,
            _P_USE,
            _P_COOKIES,
            _P_SHARE,
            _P_TRAINING_A,
            _P_RETENTION_5Y,
            _P_FEEDBACK,
            _P_RIGHTS,
            _P_CONTACT,
        ),
        _privacy(
            "privacy-7",
            "January 15, 2025",
            "International Data Transfers",
            _P_COLLECT_2,
            _P_USE,
            _P_COOKIES,
            _P_SHARE,
            _P_TRAINING_A,
            _P_RETENTION_5Y,
            _P_FEEDBACK,
            _P_RIGHTS,
            _P_CHILDREN,
            _P_TRANSFERS,
            _P_CONTACT,
        ),
    )
}

# --------------------------------------------------------------------------
# Terms of Service text (page 1) and Acceptable Use Policy (page 2)

_TERMS_INTRO: tuple[Block, ...] = (
    "These Terms of Service (\u201cTerms\u201d) govern your use of Lumen. By creating an "
    "account or using the Services, you agree to these Terms. If you use Lumen on "
    "behalf of an organisation, you agree to them on its behalf.",
)

_T_ACCOUNT = Section(
    "Your Account",
    (
        "You must be at least 13 years old to use Lumen. You are responsible for "
        "keeping your password safe and for everything that happens under your account.",
    ),
)

_T_CONTENT_1 = Section(
    "Your Content",
    (
        "You own the content you create with Lumen. You give us a limited license to "
        "host, store and process that content only as needed to provide the Services "
        "to you.",
    ),
)

_T_CONTENT_2 = Section(
    "Your Content",
    (
        "You own the content you create with Lumen. You grant Lumen a worldwide, "
        "non-exclusive, royalty-free license to use, reproduce, modify and create "
        "derivative works from your content to provide, improve and develop the "
        "Services.",
    ),
)

_T_AUP = Section(
    "Acceptable Use",
    (
        "You must follow our [Acceptable Use Policy](/legal/terms/acceptable-use), "
        "which is part of these Terms.",
    ),
)

_T_PAYMENT = Section(
    "Subscriptions and Payment",
    (
        "Paid plans renew automatically each month or year until you cancel. You can "
        "cancel at any time; cancellation takes effect at the end of the current "
        "billing period. Fees are not refundable except where the law requires.",
    ),
)

_T_TERMINATION = Section(
    "Termination",
    (
        "You may stop using Lumen at any time. We may suspend or end your access if "
        "you breach these Terms, with notice where practical.",
    ),
)

_T_LIABILITY = Section(
    "Disclaimers and Limitation of Liability",
    (
        "Lumen is provided \u201cas is\u201d. To the extent the law allows, our total "
        "liability for any claim arising from these Terms is limited to the amount "
        "you paid us in the twelve months before the claim.",
    ),
)

_T_LAW = Section(
    "Governing Law",
    (
        "These Terms are governed by the laws of the State of California. Disputes "
        "will be resolved in the state or federal courts located in San Francisco "
        "County.",
    ),
)

_T_ARBITRATION = Section(
    "Dispute Resolution and Arbitration",
    (
        "These Terms are governed by the laws of the State of California. You and "
        "Lumen agree to resolve any dispute through final and binding individual "
        "arbitration, and you waive the right to take part in a class action.",
        "You may opt out of arbitration by writing to legal@lumen.example within 30 "
        "days of first accepting these Terms.",
    ),
)


def _terms(key: str, updated: str, marker: str, *sections: Section) -> TextVersion:
    return TextVersion(key, "Terms of Service", updated, _TERMS_INTRO, sections, marker)


_AUP_INTRO: tuple[Block, ...] = (
    "This Acceptable Use Policy describes what you may not do with Lumen. It forms "
    "part of our [Terms of Service](/legal/terms).",
)

_U_CONTENT_ITEMS = (
    "content that is illegal, or that promotes illegal activity;",
    "content that harasses, threatens or defames others;",
    "sexual content involving minors;",
    "malware or code designed to harm systems.",
)

_U_CONDUCT_ITEMS = (
    "attempting to break, probe or overload our systems;",
    "accessing the Services through automated means without our permission;",
    "reselling the Services without a written agreement with us.",
)

_U_CONTENT = Section(
    "Prohibited Content",
    ("You may not use Lumen to create, store or share:", _U_CONTENT_ITEMS),
)
_U_CONDUCT_1 = Section("Prohibited Conduct", ("You may not:", _U_CONDUCT_ITEMS))
_U_CONDUCT_2 = Section(
    "Prohibited Conduct",
    (
        "You may not:",
        (
            *_U_CONDUCT_ITEMS,
            "use Lumen\u2019s outputs to develop models that compete with Lumen;",
            "generate spam or deceptive political content at scale.",
        ),
    ),
)
_U_ENFORCEMENT = Section(
    "Enforcement",
    ("We may remove content or suspend accounts that break this policy.",),
)
_U_ENFORCEMENT_2 = Section(
    "Enforcement",
    (
        "We use automated systems and human review to detect violations of this "
        "policy. We may remove content or suspend accounts that break it.",
    ),
)
_U_REPORTING = Section(
    "Reporting Violations",
    (
        "You can report content that breaks this policy to abuse@lumen.example. We "
        "review every report and may refer serious cases to law enforcement.",
    ),
)


def _aup(key: str, updated: str, marker: str, *sections: Section) -> TextVersion:
    return TextVersion(key, "Acceptable Use Policy", updated, _AUP_INTRO, sections, marker)


TERMS_VERSIONS: dict[str, TextVersion] = {
    v.key: v
    for v in (
        _terms(
            "terms-1",
            "April 20, 2021",
            "limited license to host, store and process",
            _T_ACCOUNT,
            _T_CONTENT_1,
            _T_AUP,
            _T_PAYMENT,
            _T_TERMINATION,
            _T_LIABILITY,
            _T_LAW,
        ),
        _terms(
            "terms-2",
            "August 15, 2022",
            "derivative works",
            _T_ACCOUNT,
            _T_CONTENT_2,
            _T_AUP,
            _T_PAYMENT,
            _T_TERMINATION,
            _T_LIABILITY,
            _T_LAW,
        ),
        _terms(
            "terms-3",
            "February 1, 2024",
            "binding individual arbitration",
            _T_ACCOUNT,
            _T_CONTENT_2,
            _T_AUP,
            _T_PAYMENT,
            _T_TERMINATION,
            _T_LIABILITY,
            _T_ARBITRATION,
        ),
        _aup(
            "aup-1",
            "April 20, 2021",
            "Prohibited Content",
            _U_CONTENT,
            _U_CONDUCT_1,
            _U_ENFORCEMENT,
        ),
        _aup(
            "aup-2",
            "March 15, 2023",
            "compete with Lumen",
            _U_CONTENT,
            _U_CONDUCT_2,
            _U_ENFORCEMENT,
        ),
        _aup(
            "aup-3",
            "October 30, 2024",
            "abuse@lumen.example",
            _U_CONTENT,
            _U_CONDUCT_2,
            _U_ENFORCEMENT_2,
            _U_REPORTING,
        ),
    )
}

VERSIONS: dict[str, TextVersion] = {**PRIVACY_VERSIONS, **TERMS_VERSIONS}

ERROR_PAGE = "error"  # the key of the "Something went wrong" page

# --------------------------------------------------------------------------
# capture schedule: (url, timestamp, text version key, churn seed)

_SCHEDULE: tuple[tuple[str, str, str, int], ...] = (
    (PRIVACY_URL, "20210214081500", "privacy-1", 0),
    (PRIVACY_URL, "20210603120000", "privacy-1", 1),  # churn
    (PRIVACY_URL, "20211020153000", "privacy-2", 2),
    (PRIVACY_URL, "20220118091000", "privacy-2", 3),  # churn
    (PRIVACY_URL, "20220314093000", ERROR_PAGE, 4),  # error page archived as 200
    (PRIVACY_URL, "20220401170500", "privacy-2", 5),  # churn, same text as before the error
    (PRIVACY_URL, "20220527110000", "privacy-3", 6),
    (PRIVACY_URL, "20221109074500", "privacy-3", 7),  # churn
    (PRIVACY_URL, "20230402100000", "privacy-4", 8),
    (PRIVACY_URL, "20230911140000", "privacy-5", 9),
    (PRIVACY_URL, "20231016090000", "privacy-4", 10),  # reversion to privacy-4
    (PRIVACY_URL, "20240101120000", "privacy-4", 11),  # churn
    (PRIVACY_URL, "20240712083000", "privacy-6", 12),
    (PRIVACY_URL, "20241203160000", "privacy-6", 13),  # churn
    (PRIVACY_URL, "20250120100000", "privacy-7", 14),
    (PRIVACY_URL, "20250605100000", "privacy-7", 15),  # churn
    (TERMS_URL, "20210510093012", "terms-1", 0),
    (TERMS_URL, "20211203150000", "terms-1", 1),  # churn
    (TERMS_URL, "20220822101500", "terms-2", 2),
    (TERMS_URL, "20230712080000", "terms-2", 3),  # churn
    (TERMS_URL, "20240205111500", "terms-3", 4),
    (TERMS_URL, "20250310090000", "terms-3", 5),  # churn
    (AUP_URL, "20210510093455", "aup-1", 0),
    (AUP_URL, "20220208120000", "aup-1", 1),  # churn
    (AUP_URL, "20230320164500", "aup-2", 2),
    (AUP_URL, "20241105100000", "aup-3", 3),
)

_LIVE: tuple[tuple[str, str], ...] = (
    (PRIVACY_URL, "privacy-7"),
    (TERMS_URL, "terms-3"),
    (AUP_URL, "aup-3"),
)
_LIVE_SEED = 1000

_DOCUMENTS: tuple[dict, ...] = (
    {
        "slug": "privacy-policy",
        "name": "Lumen Privacy Policy",
        "type": "Privacy Policy",
        "urls": [PRIVACY_URL],
    },
    {
        "slug": "terms-of-service",
        "name": "Lumen Terms of Service",
        "type": "Terms of Service",
        "urls": [TERMS_URL, AUP_URL],
    },
)

# --------------------------------------------------------------------------
# rendering


@dataclass(frozen=True, slots=True)
class _Churn:
    """The tokens that change from one render to the next without changing the text."""

    nonce: str
    build: str
    csrf: str
    css: str  # CSS-module class hash suffix
    track: str  # tracking parameter value added to links
    request_id: str

    @classmethod
    def of(cls, url: str, seed: int) -> _Churn:
        digest = hashlib.sha256(f"{url}|{seed}".encode()).hexdigest()
        return cls(
            nonce=digest[0:22],
            build=digest[22:30],
            csrf=digest[30:62],
            css=digest[2:7],
            track=f"1*{digest[40:46]}*_ga*{int(digest[46:56], 16)}",
            request_id=digest[8:24],
        )


_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def _href(path: str, churn: _Churn, medium: str) -> str:
    separator = "&" if "?" in path else "?"
    return f"{path}{separator}utm_source=lumen&utm_medium={medium}&_gl={churn.track}"


def _inline(text: str, churn: _Churn) -> str:
    """Escape a paragraph and turn its "[text](/path)" links into anchors."""
    out, last = [], 0
    for match in _LINK.finditer(text):
        out.append(html.escape(text[last : match.start()], quote=False))
        href = html.escape(_href(match.group(2), churn, "legal"))
        out.append(
            f'<a href="{href}" class="Link_inline__{churn.css}">{html.escape(match.group(1))}</a>'
        )
        last = match.end()
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)


def _blocks(blocks: tuple[Block, ...], churn: _Churn) -> list[str]:
    lines = []
    for block in blocks:
        if isinstance(block, str):
            lines.append(f"<p>{_inline(block, churn)}</p>")
        else:
            items = "".join(f"<li>{_inline(item, churn)}</li>" for item in block)
            lines.append(f"<ul>{items}</ul>")
    return lines


def _article(version: TextVersion, churn: _Churn) -> str:
    lines = [
        f'<article class="LegalDoc_article__{churn.css}" data-rid="{churn.request_id}">',
        f"<h1>{html.escape(version.title)}</h1>",
        f'<p class="LegalDoc_updated__{churn.css}"><em>Last updated: {version.updated}</em></p>',
        *_blocks(version.intro, churn),
    ]
    for number, section in enumerate(version.sections, start=1):
        lines.append(f"<h2>{number}. {html.escape(section.heading)}</h2>")
        lines.extend(_blocks(section.blocks, churn))
    lines.append("</article>")
    return "\n".join(lines)


def _error_article(churn: _Churn) -> str:
    return "\n".join(
        (
            f'<div class="ErrorPage_box__{churn.css}">',
            "<h1>Something went wrong</h1>",
            "<p>Sorry, we couldn\u2019t load this page. Please refresh, or try again in a few minutes.</p>",
            f"<p>Page not found or temporarily unavailable. Error reference: {churn.request_id}</p>",
            "</div>",
        )
    )


def _page(title: str, main: str, churn: _Churn) -> bytes:
    def nav(path: str, text: str, medium: str = "nav") -> str:
        return f'<a href="{html.escape(_href(path, churn, medium))}">{text}</a>'

    legal_links = "\n".join(
        f"<li>{nav(path, text, 'sidebar')}</li>"
        for path, text in (
            ("/legal/terms", "Terms of Service"),
            ("/legal/terms/acceptable-use", "Acceptable Use Policy"),
            ("/legal/privacy", "Privacy Policy"),
            ("/legal/subprocessors", "Subprocessors"),
        )
    )
    footer_links = " ".join(
        nav(path, text, "footer")
        for path, text in (
            ("/about", "About"),
            ("/careers", "Careers"),
            ("/status", "Status"),
            ("/legal/privacy", "Privacy"),
            ("/legal/terms", "Terms"),
            ("/contact", "Contact"),
        )
    )
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{churn.csrf}">
<title>{html.escape(title)} | Lumen</title>
<link rel="stylesheet" href="/_next/static/css/{churn.build}.css">
<script nonce="{churn.nonce}" src="/_next/static/chunks/main-{churn.build}.js" defer></script>
<script nonce="{churn.nonce}">window.__LUMEN__ = {{"buildId": "{churn.build}", "requestId": "{churn.request_id}", "csrf": "{churn.csrf}"}};</script>
</head>
<body class="Layout_body__{churn.css}">
<!-- rendered by lumen-web {churn.build} -->
<div id="cookie-banner" role="dialog" class="CookieBanner_root__{churn.css}">
<p>We use cookies to keep Lumen working and, with your consent, to measure how it is used.</p>
<button type="button">Accept all</button> <button type="button">Reject non-essential</button> {nav("/settings/cookies", "Cookie settings", "banner")}
</div>
<header class="Header_root__{churn.css}">
{nav("/", "Lumen")}
<nav aria-label="Main">
{nav("/product", "Product")} {nav("/pricing", "Pricing")} {nav("/blog", "Blog")} {nav("/login", "Log in")} {nav("/signup", "Start writing free")}
</nav>
</header>
<div class="Layout_columns__{churn.css}">
<aside class="Sidebar_root__{churn.css}">
<p class="Sidebar_title__{churn.css}">Legal</p>
<ul>
{legal_links}
</ul>
</aside>
<main id="content" class="Layout_main__{churn.css}">
{main}
</main>
</div>
<footer class="Footer_root__{churn.css}">
<p>{footer_links}</p>
<p>\u00a9 Lumen Labs, Inc. All rights reserved.</p>
</footer>
<script nonce="{churn.nonce}">(function(){{var s=document.createElement("script");s.src="https://analytics.lumen.example/t.js?rid={churn.request_id}";document.body.appendChild(s);}})();</script>
</body>
</html>
"""
    return page.encode("utf-8")


def render_page(url: str, version_key: str, seed: int) -> bytes:
    """The HTML of one page: text version `version_key` with churn `seed`."""
    churn = _Churn.of(url, seed)
    if version_key == ERROR_PAGE:
        return _page("Something went wrong", _error_article(churn), churn)
    version = VERSIONS[version_key]
    return _page(version.title, _article(version, churn), churn)


# --------------------------------------------------------------------------
# public API


def demo_captures() -> tuple[ArchivedCapture, ...]:
    """Every archived capture of the demo site, in schedule order."""
    return tuple(
        ArchivedCapture(url=url, timestamp=timestamp, body=render_page(url, key, seed))
        for url, timestamp, key, seed in _SCHEDULE
    )


def demo_live_pages() -> dict[str, LivePage]:
    """The pages as the live site serves them now: the latest texts, freshly rendered."""
    return {url: LivePage(render_page(url, key, _LIVE_SEED)) for url, key in _LIVE}


def demo_registry() -> dict:
    """The sources registry for the demo platform, as a YAML-ready dict."""
    return {
        "platforms": [
            {
                "slug": DEMO_PLATFORM,
                "name": DEMO_PLATFORM_NAME,
                "documents": [dict(doc, urls=list(doc["urls"])) for doc in _DOCUMENTS],
            }
        ]
    }


def write_demo_registry(path: Path) -> Path:
    """Write the demo registry as YAML at `path` (parents created); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(demo_registry(), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return path


def expected_page_texts() -> dict[str, list[tuple[str, str, str]]]:
    """Per page URL: (timestamp, version key, marker) of each visible-text change, in time order.

    A change is a capture whose text differs from the previous non-error
    capture of the same page; error-page captures are skipped. A reversion
    (A -> B -> A) appears as its own entry.
    """
    result: dict[str, list[tuple[str, str, str]]] = {}
    for url, timestamp, key, _seed in sorted(_SCHEDULE, key=lambda row: row[1]):
        if key == ERROR_PAGE:
            continue
        entries = result.setdefault(url, [])
        if not entries or entries[-1][1] != key:
            entries.append((timestamp, key, VERSIONS[key].marker))
    return result


def expected_texts() -> dict[str, list[tuple[str, str]]]:
    """Per document slug: (timestamp, marker) of each distinct visible text version, in time order.

    The marker is a phrase the version's text holds and the previous version's
    text does not. A multi-page document's version starts at the capture that
    completes or changes the combination of its pages (the first version
    starts once every page has a capture); its marker comes from the page that
    changed. Error-page captures are excluded; a reversion (A -> B -> A)
    counts as a new version.
    """
    pages = expected_page_texts()
    result: dict[str, list[tuple[str, str]]] = {}
    for doc in _DOCUMENTS:
        events = sorted(
            (timestamp, url, key, marker)
            for url in doc["urls"]
            for timestamp, key, marker in pages.get(url, [])
        )
        current: dict[str, str] = {}
        versions: list[tuple[str, str]] = []
        first_marker: str | None = None
        for timestamp, url, key, marker in events:
            current[url] = key
            if first_marker is None and url == doc["urls"][0]:
                first_marker = marker
            if len(current) < len(doc["urls"]):
                continue
            versions.append((timestamp, marker if versions else (first_marker or marker)))
        result[doc["slug"]] = versions
    return result


def demo_settings(data_dir: Path, archive: LocalArchive, **overrides: object) -> Settings:
    """Settings for running the flows against a `LocalArchive` of the demo.

    The registry is written into `data_dir`; the archive is the Wayback base
    and the live site's proxy; no rate limit and short backoffs (the archive
    is local). `overrides` win over the environment and these defaults.
    """
    values: dict[str, object] = {
        "data_dir": Path(data_dir),
        "sources": write_demo_registry(Path(data_dir) / "sources.yaml"),
        "wayback_base": archive.base_url,
        "live_proxy": archive.proxy_url,
        "cdx_per_second": 0,
        "replay_per_second": 0,
        "backoff_seconds": 0.01,
    }
    values.update(overrides)
    return Settings.from_env(**values)
