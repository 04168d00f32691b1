"""The client on a bad day: the local archive's scripted faults, and a dead host.

Sleeps are recorded by a fake `sleep`, so the backoff schedule is asserted
exactly and the suite does not wait for it.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest

from flows.client import (
    ArchiveClient,
    ArchiveRefused,
    CdxParseError,
    ClientError,
    FetchError,
    LiveClient,
    RateLimiter,
    parse_cdx_line,
)
from flows.local_archive import ArchivedCapture, Fault, LivePage, LocalArchive

pytestmark = pytest.mark.faults

PAGE = "http://lumen.example/legal/privacy"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def html(text: str) -> bytes:
    return f"<html><body><main><p>{text}</p></main></body></html>".encode()


CAPTURES = tuple(
    ArchivedCapture(PAGE, f"2022{month:02d}01000000", html(f"version {month}"))
    for month in range(1, 7)
)


def cdx_line(capture: ArchivedCapture) -> str:
    return (
        f"{capture.urlkey} {capture.timestamp} {capture.url} {capture.mimetype} "
        f"{capture.status} {capture.digest} {len(capture.body)}"
    )


RECORD = parse_cdx_line(cdx_line(CAPTURES[0]))


class Recorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def archive():
    with LocalArchive(CAPTURES, {PAGE: LivePage(html("live"))}) as running:
        yield running
    assert running.server_errors == []


@pytest.fixture
def sleeps() -> Recorder:
    return Recorder()


@pytest.fixture
def client(archive, sleeps):
    with ArchiveClient(
        archive.base_url,
        cdx_limiter=RateLimiter(0),
        replay_limiter=RateLimiter(0),
        timeout=(2.0, 5.0),
        backoff=1.0,
        max_backoff=60.0,
        max_wait=300.0,
        max_attempts=5,
        sleep=sleeps,
        clock=lambda: NOW,
    ) as made:
        yield made


def statuses(archive: LocalArchive, kind: str) -> list[int]:
    return [r.status for r in archive.requests_of(kind)]


# --------------------------------------------------------------------------
# 429 and 5xx


def test_429_with_retry_after_seconds_waits_what_the_archive_asks(client, archive, sleeps):
    archive.add_fault("replay", Fault.http(429, retry_after=7))
    fetched = client.fetch_capture(RECORD)
    assert fetched.body == CAPTURES[0].body
    assert sleeps.delays == [7.0]
    assert statuses(archive, "replay") == [429, 200]


def test_429_with_retry_after_http_date(client, archive, sleeps):
    archive.add_fault("cdx", Fault.http(429, retry_after="Sun, 01 Jun 2025 12:00:42 GMT"))
    assert len(list(client.list_captures(PAGE))) == len(CAPTURES)
    assert sleeps.delays == [42.0]


def test_429_without_retry_after_backs_off_exponentially(client, archive, sleeps):
    archive.add_fault("replay", Fault.http(429, times=3))
    assert client.fetch_capture(RECORD).status == 200
    assert sleeps.delays == [1.0, 2.0, 4.0]
    assert statuses(archive, "replay") == [429, 429, 429, 200]


def test_burst_of_5xx_then_success(client, archive, sleeps):
    for status in (500, 502, 503, 504):
        archive.add_fault("cdx", Fault.http(status))
    records = list(client.list_captures(PAGE))
    assert [r.timestamp for r in records] == [c.timestamp for c in CAPTURES]
    assert statuses(archive, "cdx") == [500, 502, 503, 504, 200]
    assert sleeps.delays == [1.0, 2.0, 4.0, 8.0]


def test_backoff_is_capped(archive, sleeps):
    client = ArchiveClient(
        archive.base_url,
        replay_limiter=RateLimiter(0),
        backoff=10.0,
        max_backoff=25.0,
        max_attempts=5,
        sleep=sleeps,
    )
    archive.add_fault("replay", Fault.http(503, times=4))
    assert client.fetch_capture(RECORD).status == 200
    assert sleeps.delays == [10.0, 20.0, 25.0, 25.0]


def test_sustained_429_raises_archive_refused_with_retry_after(client, archive, sleeps):
    archive.add_fault("cdx", Fault.http(429, retry_after=30, times=0))
    with pytest.raises(ArchiveRefused) as caught:
        list(client.list_captures(PAGE))
    err = caught.value
    assert err.attempts == 5
    assert err.status == 429
    assert err.retry_after == NOW + timedelta(seconds=30)
    assert err.url == PAGE  # the page whose listing failed; the message has the request
    assert f"{archive.base_url}/cdx/search/cdx?" in str(err)
    assert sleeps.delays == [30.0] * 4
    assert len(archive.requests_of("cdx")) == 5
    assert "429" in str(err) and PAGE.replace(":", "%3A").replace("/", "%2F") in str(err)


def test_retry_after_longer_than_max_wait_is_not_slept(client, archive, sleeps):
    archive.add_fault("replay", Fault.http(429, retry_after=3600, times=0))
    with pytest.raises(ArchiveRefused) as caught:
        client.fetch_capture(RECORD)
    err = caught.value
    assert sleeps.delays == []  # the hour is not slept; the caller comes back later
    assert err.attempts == 1
    assert err.retry_after == NOW + timedelta(hours=1)
    assert err.captured_at == RECORD.captured_at
    assert "2022-01-01T00:00:00Z" in str(err) and "max_wait" in str(err)


def test_sustained_503_without_retry_after_still_says_when_to_come_back(client, archive, sleeps):
    archive.add_fault("replay", Fault.http(503, times=0))
    with pytest.raises(ArchiveRefused) as caught:
        client.fetch_capture(RECORD)
    assert sleeps.delays == [1.0, 2.0, 4.0, 8.0]
    assert caught.value.retry_after == NOW + timedelta(seconds=16)


def test_a_503_on_the_cdx_api_is_not_an_empty_listing(client, archive):
    # waybackpy over http reads this as zero captures; we must not.
    archive.add_fault("cdx", Fault.http(503, times=0))
    with pytest.raises(ArchiveRefused):
        list(client.list_captures(PAGE))


def test_an_archived_5xx_is_data_not_a_refusal(archive, client, sleeps):
    broken = ArchivedCapture(PAGE, "20230101000000", b"<h1>upstream down</h1>", status=503)
    archive.add_capture(broken)
    fetched = client.fetch_capture(parse_cdx_line(cdx_line(broken)))
    assert (fetched.status, fetched.body) == (503, broken.body)
    assert sleeps.delays == []


def test_replay_404_is_returned_not_retried(client, archive, sleeps):
    archive.add_fault("replay", Fault.http(404))
    assert client.fetch_capture(RECORD).status == 404
    assert sleeps.delays == [] and len(archive.requests_of("replay")) == 1


# --------------------------------------------------------------------------
# network faults


def test_connection_reset_is_retried(client, archive, sleeps):
    archive.add_fault("replay", Fault.reset(times=2))
    assert client.fetch_capture(RECORD).body == CAPTURES[0].body
    assert sleeps.delays == [1.0, 2.0]
    assert statuses(archive, "replay") == [0, 0, 200]


def test_sustained_reset_raises_fetch_error(client, archive, sleeps):
    archive.add_fault("replay", Fault.reset(times=0))
    with pytest.raises(FetchError, match="connection reset") as caught:
        client.fetch_capture(RECORD)
    assert caught.value.url == client.replay_url(RECORD)
    assert caught.value.__cause__ is not None
    assert len(sleeps.delays) == 4


def test_read_timeout_is_retried(archive, sleeps):
    client = ArchiveClient(
        archive.base_url,
        replay_limiter=RateLimiter(0),
        timeout=(2.0, 0.5),
        backoff=1.0,
        sleep=sleeps,
    )
    archive.add_fault("replay", Fault.hang(2))
    assert client.fetch_capture(RECORD).body == CAPTURES[0].body
    assert sleeps.delays == [1.0]


def test_read_timeout_that_persists_names_the_url(archive, sleeps):
    client = ArchiveClient(
        archive.base_url,
        replay_limiter=RateLimiter(0),
        timeout=(2.0, 0.3),
        max_attempts=2,
        sleep=sleeps,
    )
    archive.add_fault("replay", Fault.hang(2, times=0))
    with pytest.raises(FetchError, match="read timed out") as caught:
        client.fetch_capture(RECORD)
    assert client.replay_url(RECORD) in str(caught.value)
    assert "after 2 attempts" in str(caught.value)


def test_truncated_body_is_retried(client, archive, sleeps):
    archive.add_fault("replay", Fault.truncated())
    fetched = client.fetch_capture(RECORD)
    assert fetched.body == CAPTURES[0].body and fetched.truncated is False
    assert sleeps.delays == [1.0]


def test_truncated_body_that_persists_raises_fetch_error(client, archive, sleeps):
    archive.add_fault("replay", Fault.truncated(times=0))
    size = len(CAPTURES[0].body)
    with pytest.raises(FetchError) as caught:
        client.fetch_capture(RECORD)
    assert f"incomplete body: got {size} of {size + 100} bytes" in str(caught.value)
    assert len(archive.requests_of("replay")) == 5


def test_dns_failure_on_a_live_page_fails_fast(sleeps):
    client = LiveClient(timeout=(2.0, 2.0), max_attempts=5, sleep=sleeps)
    with pytest.raises(FetchError, match="DNS lookup failed") as caught:
        client.fetch("http://lumen.invalid/legal/privacy")
    assert isinstance(caught.value, ClientError)
    assert caught.value.url == "http://lumen.invalid/legal/privacy"
    # a name that does not resolve is tried twice, not max_attempts times
    assert sleeps.delays == [2.0]
    assert "after 2 attempts" in str(caught.value)


def test_connection_refused(sleeps):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = LiveClient(timeout=(2.0, 2.0), max_attempts=3, backoff=0.5, sleep=sleeps)
    with pytest.raises(FetchError, match="connection refused"):
        client.fetch(f"http://127.0.0.1:{port}/terms")
    assert sleeps.delays == [0.5, 1.0]


def test_live_site_that_keeps_failing_is_returned_as_data(archive, sleeps):
    archive.add_fault("live", Fault.http(503, times=0))
    client = LiveClient(proxy=archive.proxy_url, max_attempts=3, backoff=1.0, sleep=sleeps)
    fetched = client.fetch(PAGE)
    assert fetched.status == 503
    assert fetched.error and "still refusing after 3 attempts" in fetched.error
    assert sleeps.delays == [1.0, 2.0]


def test_live_429_then_success(archive, sleeps):
    archive.add_fault("live", Fault.http(429, retry_after=3))
    client = LiveClient(proxy=archive.proxy_url, sleep=sleeps)
    fetched = client.fetch(PAGE)
    assert (fetched.status, fetched.body, fetched.error) == (200, html("live"), None)
    assert sleeps.delays == [3.0]


# --------------------------------------------------------------------------
# listings that are broken


def test_cdx_truncated_mid_line_reports_the_bad_line(client, archive):
    lines = [cdx_line(c) for c in CAPTURES[:3]]
    cut = lines[2][: lines[2].index(" text/html") + 6]
    body = (lines[0] + "\n" + lines[1] + "\n" + cut).encode()
    archive.add_fault("cdx", Fault.raw_body(body, content_type="text/plain"))
    listing = client.list_captures(PAGE)
    records = list(listing)
    assert [r.timestamp for r in records] == [c.timestamp for c in CAPTURES[:2]]
    assert len(listing.bad_lines) == 1
    number, raw, reason = listing.bad_lines[0]
    assert (number, raw) == (3, cut)
    assert "truncated" in reason


def test_malformed_cdx_lines_are_reported_and_the_rest_kept(client, archive):
    good = [cdx_line(c) for c in CAPTURES[:3]]
    body = "\n".join(
        [
            good[0],
            "this is not a cdx line",
            good[1],
            good[2].replace(CAPTURES[2].timestamp, "2022-03-01"),
            "",  # a blank line is not an error
            good[2],
        ]
    )
    archive.add_fault("cdx", Fault.raw_body((body + "\n").encode(), content_type="text/plain"))
    listing = client.list_captures(PAGE)
    records = list(listing)
    assert [r.timestamp for r in records] == [c.timestamp for c in CAPTURES[:3]]
    assert [(n, reason.split(" ")[0]) for n, _, reason in listing.bad_lines] == [
        (2, "expected"),
        (4, "timestamp"),
    ]
    assert "not 14 digits" in listing.bad_lines[1][2]


def test_empty_cdx_body_is_zero_captures(client, archive):
    archive.add_fault("cdx", Fault.raw_body(b"", content_type="text/plain"))
    listing = client.list_captures(PAGE)
    assert list(listing) == []
    assert listing.bad_lines == []


def test_html_instead_of_cdx_raises_cdx_parse_error(client, archive):
    page = b"<!DOCTYPE html><html><body><h1>Wayback Machine</h1>Hrm.</body></html>"
    archive.add_fault("cdx", Fault.raw_body(page, content_type="text/html"))
    with pytest.raises(CdxParseError, match="HTML") as caught:
        list(client.list_captures(PAGE))
    assert caught.value.url == PAGE


def test_html_without_a_content_type_is_still_not_cdx(client, archive):
    archive.add_fault("cdx", Fault.raw_body(b"  <html>blocked</html>", content_type="text/plain"))
    with pytest.raises(CdxParseError):
        list(client.list_captures(PAGE))


def test_cdx_bad_request_is_an_error_not_an_empty_listing(client, archive, sleeps):
    archive.add_fault("cdx", Fault.http(400))
    with pytest.raises(CdxParseError, match="HTTP 400") as caught:
        list(client.list_captures(PAGE))
    assert caught.value.status == 400
    assert sleeps.delays == []


def test_repeating_resume_key_terminates(client, archive):
    body = "\n".join(cdx_line(c) for c in CAPTURES[:2]) + "\n\nrk-stuck\n"
    archive.add_fault("cdx", Fault.raw_body(body.encode(), content_type="text/plain", times=0))
    listing = client.list_captures(PAGE)
    records = list(listing)
    assert [r.timestamp for r in records] == [c.timestamp for c in CAPTURES[:2]]  # no repeats
    assert listing.pages == 2
    assert listing.incomplete and "rk-stuck" in listing.incomplete
    cdx = archive.requests_of("cdx")
    assert len(cdx) == 2 and "resumeKey=rk-stuck" in cdx[1].path


def test_collapse_holds_across_a_page_boundary(client, archive):
    # The archive's collapse restarts on each page: the run A, A split over
    # two pages must still give A once.
    first = cdx_line(CAPTURES[0])
    again = first.replace(CAPTURES[0].timestamp, "20220115000000")
    archive.add_fault(
        "cdx", Fault.raw_body(f"{first}\n\nrk-1\n".encode(), content_type="text/plain")
    )
    archive.add_fault("cdx", Fault.raw_body(f"{again}\n{cdx_line(CAPTURES[1])}\n".encode()))
    records = list(client.list_captures(PAGE))
    assert [r.timestamp for r in records] == [CAPTURES[0].timestamp, CAPTURES[1].timestamp]
