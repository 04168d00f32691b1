"""The Lumen demo site: the captures hold the history the pipeline must recover."""

from __future__ import annotations

from itertools import pairwise

import lxml.html
import pytest
import requests
import yaml

from flows.demo_site import (
    AUP_URL,
    DEMO_PLATFORM,
    PRIVACY_URL,
    TERMS_URL,
    demo_captures,
    demo_live_pages,
    demo_registry,
    expected_page_texts,
    expected_texts,
    write_demo_registry,
)
from flows.local_archive import ArchivedCapture, LocalArchive


def main_text(body: bytes) -> str:
    """The visible text of the page's <main>, whitespace-normalised."""
    main = lxml.html.fromstring(body).find(".//main")
    assert main is not None
    return " ".join(main.text_content().split())


def is_error(capture: ArchivedCapture) -> bool:
    return "Something went wrong" in main_text(capture.body)


def captures_of(url: str) -> list[ArchivedCapture]:
    return sorted((c for c in demo_captures() if c.url == url), key=lambda c: c.timestamp)


def text_runs(url: str) -> list[tuple[str, str]]:
    """(timestamp, text) at each change of visible text, error pages skipped."""
    runs: list[tuple[str, str]] = []
    for capture in captures_of(url):
        if is_error(capture):
            continue
        text = main_text(capture.body)
        if not runs or runs[-1][1] != text:
            runs.append((capture.timestamp, text))
    return runs


def combined_text_at(urls: list[str], timestamp: str) -> str:
    parts = []
    for url in urls:
        seen = [c for c in captures_of(url) if c.timestamp <= timestamp and not is_error(c)]
        assert seen, f"{url} has no capture by {timestamp}"
        parts.append(main_text(seen[-1].body))
    return "\n".join(parts)


def test_privacy_policy_has_six_or_more_versions_over_three_years():
    runs = text_runs(PRIVACY_URL)
    assert len({text for _, text in runs}) >= 6
    years = {ts[:4] for ts, _ in runs}
    assert len(years) >= 3 and min(years) <= "2021" and max(years) >= "2025"


def test_churn_captures_differ_in_bytes_but_not_in_visible_text():
    churn = 0
    for url in (PRIVACY_URL, TERMS_URL, AUP_URL):
        good = [c for c in captures_of(url) if not is_error(c)]
        for before, after in pairwise(good):
            if main_text(before.body) == main_text(after.body):
                assert before.body != after.body
                assert before.digest != after.digest
                churn += 1
    assert churn >= 6


def test_the_error_page_is_archived_with_status_200():
    errors = [c for c in demo_captures() if is_error(c)]
    assert len(errors) == 1
    error = errors[0]
    assert (error.url, error.status, error.mimetype) == (PRIVACY_URL, 200, "text/html")
    # the same text is shown before and after it: it is not a change of the policy
    good = [c for c in captures_of(PRIVACY_URL) if not is_error(c)]
    before = max((c for c in good if c.timestamp < error.timestamp), key=lambda c: c.timestamp)
    after = min((c for c in good if c.timestamp > error.timestamp), key=lambda c: c.timestamp)
    assert main_text(before.body) == main_text(after.body)
    assert error.timestamp not in {ts for ts, _ in expected_texts()["privacy-policy"]}


def test_a_change_is_rolled_back():
    texts = [text for _, text in text_runs(PRIVACY_URL)]
    reverted = [
        i for i in range(2, len(texts)) if texts[i] == texts[i - 2] and texts[i] != texts[i - 1]
    ]
    assert reverted, "expected an A -> B -> A sequence"


def test_expected_privacy_texts_match_the_captures():
    runs = text_runs(PRIVACY_URL)
    expected = expected_texts()["privacy-policy"]
    assert [ts for ts, _ in expected] == [ts for ts, _ in runs]
    for (marker_ts, marker), (ts, text) in zip(expected, runs, strict=True):
        assert marker_ts == ts
        assert marker in text
    for (_, marker), (_, previous_text) in zip(expected[1:], runs, strict=False):
        assert marker not in previous_text, marker


def test_expected_terms_texts_match_the_combined_pages():
    urls = [TERMS_URL, AUP_URL]
    expected = expected_texts()["terms-of-service"]
    assert len(expected) >= 3
    combined = [combined_text_at(urls, ts) for ts, _ in expected]
    assert len(set(combined)) == len(combined)
    for (_, marker), text in zip(expected, combined, strict=True):
        assert marker in text
    for (_, marker), previous_text in zip(expected[1:], combined, strict=False):
        assert marker not in previous_text, marker
    assert expected[0][0] == max(captures_of(url)[0].timestamp for url in urls)


def test_terms_pages_change_on_their_own_schedules():
    pages = expected_page_texts()
    assert len(pages[TERMS_URL]) >= 3 and len(pages[AUP_URL]) >= 3
    assert {ts for ts, *_ in pages[TERMS_URL]}.isdisjoint({ts for ts, *_ in pages[AUP_URL]})
    assert len(captures_of(TERMS_URL)) != len(captures_of(AUP_URL))


def test_pages_carry_boilerplate_around_the_document():
    capture = captures_of(PRIVACY_URL)[0]
    root = lxml.html.fromstring(capture.body)
    for xpath in (
        "//header//nav",
        "//footer",
        "//*[@id='cookie-banner']",
        "//script",
        "//main//article",
    ):
        assert root.xpath(xpath), xpath
    assert "Last updated: February 1, 2021" in main_text(capture.body)
    assert "Accept all" not in main_text(capture.body)


def test_registry_lists_the_two_documents_and_round_trips_through_yaml(tmp_path):
    registry = demo_registry()
    (platform,) = registry["platforms"]
    assert platform["slug"] == DEMO_PLATFORM
    docs = {d["slug"]: d for d in platform["documents"]}
    assert docs["privacy-policy"]["urls"] == [PRIVACY_URL]
    assert docs["terms-of-service"]["urls"] == [TERMS_URL, AUP_URL]
    assert set(expected_texts()) == set(docs)
    path = write_demo_registry(tmp_path / "config" / "sources.yaml")
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == registry


def test_live_pages_show_the_latest_text_with_fresh_html():
    live = demo_live_pages()
    assert set(live) == {PRIVACY_URL, TERMS_URL, AUP_URL}
    for url, page in live.items():
        latest = captures_of(url)[-1]
        assert main_text(page.body) == main_text(latest.body)
        assert page.body != latest.body
        assert page.status == 200


def test_everything_is_deterministic():
    assert demo_captures() == demo_captures()
    assert demo_live_pages() == demo_live_pages()
    assert expected_texts() == expected_texts()


def test_captures_are_unique_and_on_the_fictional_host():
    captures = demo_captures()
    assert len({(c.url, c.timestamp) for c in captures}) == len(captures)
    assert all(c.url.startswith("http://lumen.example/") for c in captures)
    assert all(c.body.decode("utf-8") for c in captures)


@pytest.mark.parametrize("url", [PRIVACY_URL, TERMS_URL, AUP_URL])
def test_the_local_archive_serves_the_demo_site(url):
    captures = demo_captures()
    with LocalArchive(captures, demo_live_pages()) as archive, requests.Session() as http:
        http.trust_env = False
        listing = http.get(archive.cdx_url, params={"url": url, "output": "json"}, timeout=5).json()
        assert [row[1] for row in listing[1:]] == [c.timestamp for c in captures_of(url)]
        first = captures_of(url)[0]
        replay = http.get(archive.replay_url(first.timestamp, url), timeout=5)
        assert replay.content == first.body
        live = http.get(url, proxies={"http": archive.proxy_url}, timeout=5)
        assert live.content == demo_live_pages()[url].body
