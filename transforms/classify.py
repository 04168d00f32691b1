"""Classification: which provisions a clause text makes, by rule.

A label is a category (a kind of provision an analyst follows across
platforms: training on users' content, a retention period, a feedback
licence, an arbitration clause, ...), a severity, the rule that matched and
the words it matched. Each category maps to the regulations whose obligations
it touches. Labels are a pure function of the clause text, so they are
computed once per distinct text (`clause_labels` is keyed by the text's
SHA-256) and recomputed only when `TAXONOMY_VERSION` changes.

The rules read the text with Markdown emphasis, code marks and link targets
taken out, in lower case, with runs of white space as one space. They name
no service: they are the wording policies use for each provision. A rule is
a regular expression; a category matches when any of its rules does, and
the first rule (in the order below) that matches is the one recorded.
Severity is the category's: ``high`` for provisions that take something from
the user (their content for training, a licence to it, human review of their
chats, a waiver of their day in court, the sale of their data, sensitive
data), ``medium`` for terms a reader should know, ``low`` for the user's own
controls (an opt-out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

TAXONOMY_VERSION = "1"  # bump when a rule, a category or a severity changes

# a few words between two parts of a rule: "use [the content you create] to train"
_GAP = r"(?:[\w'’,()-]+ ){0,%d}"


def _near(first: str, second: str, words: int = 8) -> str:
    """`first`, then `second` within `words` words after it."""
    return rf"\b(?:{first})\b {_GAP % words}(?:{second})\b"


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    severity: str  # "high" | "medium" | "low"
    regulations: tuple[str, ...]
    description: str
    rules: tuple[tuple[str, str], ...]  # (rule id, pattern)
    # words one of which every match contains: a text without any is not
    # searched (a substring test costs far less than the patterns)
    triggers: tuple[str, ...]


_CONTENT = (
    r"content|data|conversations?|chats?|prompts?|inputs?|outputs?|information|messages|feedback"
)
_MODEL = r"models?|ai|artificial intelligence|machine learning|algorithms?|services?|products?"

CATEGORIES: tuple[Category, ...] = (
    Category(
        "ai_training",
        "high",
        ("GDPR", "EU AI Act", "CCPA/CPRA"),
        "users' content or data used to train or improve models",
        (
            ("use-to-train", _near(r"use|process|using", r"(?:re)?train(?:ing)?|fine-tun\w*", 10)),
            ("train-models", _near(r"(?:re)?train(?:ing)?|fine-tun\w*", _MODEL, 4)),
            ("for-training", _near(_CONTENT, r"(?:for|in) (?:model )?training", 6)),
            ("training-data", r"\btraining data\b"),
        ),
        ("train", "fine-tun"),
    ),
    Category(
        "human_review",
        "high",
        ("GDPR",),
        "people (reviewers, trainers, contractors) may read users' content",
        (
            (
                "human-review",
                r"\b(?:human|manual) (?:review|reviewers?|annotat\w+|evaluation)\b|"
                r"\b(?:reviewed|read) by (?:humans?|people|(?:our )?(?:trained )?reviewers)\b|"
                r"\b(?:ai|human) trainers\b",
            ),
        ),
        ("human", "manual", "review", "trainers", "read by"),
    ),
    Category(
        "content_license",
        "high",
        (),
        "a licence to users' content granted to the platform",
        (
            (
                "grant-licence",
                _near(
                    r"grant|give|provide",
                    r"(?:worldwide|perpetual|irrevocable|royalty-free|sublicensable|"
                    r"non-exclusive|transferable)[\w ,-]*licen[cs]e",
                    8,
                ),
            ),
        ),
        ("licen",),
    ),
    Category(
        "feedback_license",
        "medium",
        (),
        "feedback or suggestions may be used freely, without compensation",
        (
            (
                "use-feedback",
                r"\b(?:feedback|suggestions?|ideas)\b.{0,200}?\b(?:without (?:any )?"
                r"(?:compensation|obligation|restriction|payment|attribution)|for any purpose)\b",
            ),
        ),
        ("feedback", "suggestion", "ideas"),
    ),
    Category(
        "data_retention",
        "medium",
        ("GDPR", "CCPA/CPRA"),
        "how long data is kept",
        (
            (
                "retention-period",
                _near(
                    r"retain\w*|kept|keep|store[ds]?|storing|deleted?|retention",
                    r"(?:for |up to |within |after )?(?:\d+|one|two|three|five|six|ten|thirty|"
                    r"ninety) (?:days?|weeks?|months?|years?)",
                    10,
                ),
            ),
            (
                "as-long-as",
                _near(r"retain\w*|keep|kept|store[ds]?", r"as long as|for as long|indefinitely", 8),
            ),
        ),
        ("retain", "retention", "kept", "keep", "stor", "delete"),
    ),
    Category(
        "opt_out",
        "low",
        ("GDPR", "CCPA/CPRA"),
        "a control the user can use to refuse or stop a use of their data",
        (
            ("opt-out", r"\bopt(?:-| )?out\b"),
            (
                "turn-off",
                _near(
                    r"turn (?:\w+ )?off|disable|switch (?:\w+ )?off|withdraw",
                    _CONTENT + r"|consent|settings?|history|training",
                    6,
                ),
            ),
            ("object", r"\bright to object\b"),
        ),
        ("opt", "turn ", "disable", "switch ", "withdraw", "object"),
    ),
    Category(
        "sale_of_data",
        "high",
        ("CCPA/CPRA",),
        "selling (or 'sharing' for ads) personal information",
        (
            (
                "sell",
                _near(
                    r"sell|sold|sale of",
                    r"personal (?:information|data)|your (?:data|information)",
                    4,
                ),
            ),
        ),
        ("sell", "sold", "sale of"),
    ),
    Category(
        "data_sharing",
        "medium",
        ("GDPR", "CCPA/CPRA"),
        "personal data disclosed to third parties, affiliates or partners",
        (
            (
                "share-with",
                _near(
                    r"share|shared|disclose[ds]?|transfer|provide",
                    r"third(?:-| )part(?:y|ies)|affiliates|partners|advertisers|service providers|vendors",
                    10,
                ),
            ),
        ),
        ("third", "affiliates", "partners", "advertisers", "providers", "vendors"),
    ),
    Category(
        "international_transfer",
        "medium",
        ("GDPR",),
        "data moved to other countries",
        (
            (
                "transfer-abroad",
                _near(
                    r"transfer\w*|processed|stored",
                    r"(?:other|outside|another) (?:countr\w+|jurisdictions?)|outside (?:the |your )?(?:eea|european|uk|country)",
                    8,
                ),
            ),
            ("sccs", r"\bstandard contractual clauses\b|\badequacy decision\b"),
        ),
        ("transfer", "processed", "stored", "contractual", "adequacy"),
    ),
    Category(
        "sensitive_data",
        "high",
        ("GDPR", "CCPA/CPRA"),
        "special categories: biometric, health, precise location, and the like",
        (
            (
                "special-category",
                r"\b(?:biometric|health|genetic|precise (?:geo)?location|sexual orientation|"
                r"racial or ethnic|religious (?:or philosophical )?beliefs|sensitive personal) "
                r"(?:data|information|identifiers?)?",
            ),
        ),
        ("biometric", "health", "genetic", "precise", "sexual", "racial", "religious", "sensitive"),
    ),
    Category(
        "children",
        "medium",
        ("COPPA", "GDPR"),
        "children's data and age limits",
        (
            (
                "children",
                _near(r"children|child|minors?|kids", r"under (?:the age of )?\d+|parental|age", 8),
            ),
            (
                "age-limit",
                r"\b(?:under|at least|younger than|older than) (?:the age of )?(?:13|16|18)\b",
            ),
        ),
        ("child", "minor", "kids", "13", "16", "18"),
    ),
    Category(
        "automated_decisions",
        "medium",
        ("GDPR", "EU AI Act"),
        "decisions made by automated means, profiling",
        (("automated", r"\bautomated (?:decision|processing|means)|\bprofiling\b"),),
        ("automated", "profiling"),
    ),
    Category(
        "arbitration",
        "high",
        (),
        "disputes sent to binding arbitration, class actions waived",
        (
            (
                "arbitration",
                r"\b(?:binding|individual) arbitration\b|\barbitrat\w+ (?:agreement|clause)\b",
            ),
            ("class-waiver", r"\bclass(?:-| )action\b|\bclass (?:or|and) representative\b"),
        ),
        ("arbitrat", "class"),
    ),
    Category(
        "liability_limit",
        "medium",
        (),
        "the platform's liability limited or its warranties disclaimed",
        (
            (
                "limit",
                r"\blimitation of liability\b|\b(?:not|never) (?:be )?liable\b|\bliability (?:is|shall be) limited\b",
            ),
            (
                "as-is",
                r"\bas is\b|\bas available\b|\bdisclaim\w* (?:all )?(?:warranties|liability)",
            ),
        ),
        ("liab", "as is", "as available", "disclaim"),
    ),
    Category(
        "unilateral_changes",
        "medium",
        ("FTC Act s5",),
        "terms changed by the platform, continued use taken as acceptance",
        (
            (
                "may-change",
                _near(
                    r"may|can|reserve the right to",
                    r"(?:change|modify|update|amend|revise)\w* (?:these|this|the|our) "
                    r"(?:terms|policy|agreement|privacy policy)",
                    6,
                ),
            ),
            (
                "continued-use",
                _near(r"continued? (?:use|to use)", r"accept\w*|agree\w*|consent\w*", 12),
            ),
        ),
        ("chang", "modif", "updat", "amend", "revis", "continu"),
    ),
    Category(
        "termination",
        "medium",
        (),
        "accounts suspended or terminated by the platform",
        (
            (
                "suspend",
                _near(r"suspend|terminate|disable|close", r"(?:your )?(?:accounts?|access|use)", 6),
            ),
        ),
        ("suspend", "terminat", "disable", "close"),
    ),
)

BY_NAME = {c.name: c for c in CATEGORIES}
_COMPILED = tuple(
    (category, tuple((rule, re.compile(pattern)) for rule, pattern in category.rules))
    for category in CATEGORIES
)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_MARKS = "*_`[]"
MATCH_CHARS = 200  # the matched words are kept up to this length


@dataclass(frozen=True, slots=True)
class Label:
    category: str
    severity: str
    rule: str  # "<category>/<rule id>"
    matched: str  # the words the rule matched, as read (see the module docstring)
    regulations: tuple[str, ...]


def readable(text: str) -> str:
    """The text the rules read: no link targets or emphasis marks, lower case,
    white space collapsed."""
    if "](" in text:
        text = _LINK_TARGET.sub("]", text)
    for mark in _MARKS:
        if mark in text:  # str.replace is several times faster than str.translate
            text = text.replace(mark, "")
    return " ".join(text.lower().split())


@lru_cache(maxsize=1 << 14)
def classify_clause(text: str) -> tuple[Label, ...]:
    """The labels of one clause text, in the order of `CATEGORIES` (at most one
    per category). Pure; the same text always gets the same labels."""
    plain = readable(text)
    labels = []
    for category, rules in _COMPILED:
        for word in category.triggers:
            if word in plain:
                break
        else:
            continue
        for rule, pattern in rules:
            found = pattern.search(plain)
            if found:
                labels.append(
                    Label(
                        category.name,
                        category.severity,
                        f"{category.name}/{rule}",
                        found.group(0)[:MATCH_CHARS],
                        category.regulations,
                    )
                )
                break
    return tuple(labels)
