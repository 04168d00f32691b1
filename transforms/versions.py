"""From captures to versions: a document's text over time.

A document may span several pages. `combine_pages` merges the per-page
timelines into one: at each capture time of any page, the document's text is
the concatenation, in registry order, of the latest accepted text of every
page (once every page has been seen). `build_versions` then groups runs of
consecutive observations with the same text; a text that comes back after a
change (A -> B -> A) opens a new version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from transforms.records import Observation, Version, sha256_hex

PAGE_SEPARATOR = "\n\n"


@dataclass(frozen=True, slots=True)
class PageText:
    """One accepted capture of one page of a document."""

    page: int  # index of the URL in the document's registry entry
    captured_at: datetime
    capture_id: str
    text_sha256: str


def combine_pages(
    pages: Sequence[PageText],
    page_count: int,
    texts: Mapping[str, str],
) -> tuple[tuple[Observation, ...], dict[str, str]]:
    """Merge per-page captures into document observations.

    Captures of several pages at the same instant make one observation, with
    all of them applied.

    Returns the observations in time order and the combined texts by their
    SHA-256 (for a single-page document these are the page texts).
    """
    ordered = sorted(pages, key=lambda p: (p.captured_at, p.page, p.capture_id))
    latest: dict[int, PageText] = {}
    observations: list[Observation] = []
    combined: dict[str, str] = {}
    for index, page_text in enumerate(ordered):
        latest[page_text.page] = page_text
        if len(latest) < page_count:
            continue
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        if following is not None and following.captured_at == page_text.captured_at:
            # pages captured at the same instant are one observation: the
            # text with only some of them applied never existed
            continue
        parts = [latest[i] for i in range(page_count)]
        if page_count == 1:
            sha = parts[0].text_sha256
            combined[sha] = texts[sha]
        else:
            text = PAGE_SEPARATOR.join(texts[p.text_sha256] for p in parts)
            sha = sha256_hex(text)
            combined[sha] = text
        observations.append(
            Observation(
                observed_at=page_text.captured_at,
                text_sha256=sha,
                capture_ids=tuple(p.capture_id for p in parts),
            )
        )
    return tuple(observations), combined


def version_id_for(document_id: str, valid_from: datetime, text_sha256: str) -> str:
    """A version id derived from content, so rebuilds reproduce it."""
    return f"{document_id}@{valid_from:%Y%m%dT%H%M%SZ}.{text_sha256[:8]}"


def build_versions(
    document_id: str,
    observations: Sequence[Observation],
    stated_date: Callable[[str], date | None] = lambda _sha: None,
) -> tuple[Version, ...]:
    """Group consecutive observations with the same text into versions."""
    ordered = sorted(observations, key=lambda o: (o.observed_at, o.capture_ids))
    runs: list[list[Observation]] = []
    for obs in ordered:
        if runs and runs[-1][-1].text_sha256 == obs.text_sha256:
            runs[-1].append(obs)
        else:
            runs.append([obs])
    versions: list[Version] = []
    for index, run in enumerate(runs):
        first = run[0]
        following = runs[index + 1][0].observed_at if index + 1 < len(runs) else None
        capture_ids: dict[str, None] = {}
        for obs in run:
            capture_ids.update(dict.fromkeys(obs.capture_ids))
        versions.append(
            Version(
                document_id=document_id,
                version_id=version_id_for(document_id, first.observed_at, first.text_sha256),
                text_sha256=first.text_sha256,
                valid_from=first.observed_at,
                valid_to=following,
                last_seen_at=run[-1].observed_at,
                capture_ids=tuple(capture_ids),
                stated_date=stated_date(first.text_sha256),
            )
        )
    return tuple(versions)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A capture whose text was judged not to be the document."""

    capture_id: str
    captured_at: datetime
    reason: str


def screen_pages(
    pages: Sequence[PageText],
    texts: Mapping[str, str],
    is_collapse: Callable[[str, str], str | None],
) -> tuple[tuple[PageText, ...], tuple[Rejection, ...]]:
    """Drop captures whose text collapsed against the page's last accepted text.

    Each page is screened on its own timeline; `is_collapse(text, reference)`
    returns a reason when `text` is not plausibly the same document. It must
    be a pure function that never rejects a text against itself (a text
    equal to the reference is accepted without asking).
    """
    accepted: list[PageText] = []
    rejected: list[Rejection] = []
    reference: dict[int, str] = {}  # page -> SHA-256 of its last accepted text
    verdicts: dict[tuple[str, str], str | None] = {}
    for page_text in sorted(pages, key=lambda p: (p.captured_at, p.page, p.capture_id)):
        sha = page_text.text_sha256
        previous = reference.get(page_text.page)
        reason = None
        # a text is never a collapse of itself; a pair is judged once
        if previous is not None and previous != sha:
            if (sha, previous) not in verdicts:
                verdicts[(sha, previous)] = is_collapse(texts[sha], texts[previous])
            reason = verdicts[(sha, previous)]
        if reason:
            rejected.append(Rejection(page_text.capture_id, page_text.captured_at, reason))
            continue
        reference[page_text.page] = sha
        accepted.append(page_text)
    return tuple(accepted), tuple(rejected)
