"""The HTTP client against the real local archive on 127.0.0.1, and its pure parts."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from flows.client import (
    DEFAULT_USER_AGENT,
    ArchiveClient,
    LiveClient,
    RateLimiter,
    RetryPolicy,
    parse_cdx_line,
    parse_retry_after,
    split_cdx_page,
    verify_digest,
    wayback_digest,
)
from flows.local_archive import ArchivedCapture, Fault, LivePage, LocalArchive

PAGE = "http://lumen.example/legal/privacy"
TERMS = "http://lumen.example/legal/terms"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def html(text: str) -> bytes:
    return f"<html><body><main><p>{text}</p></main></body></html>".encode()


A, B, C = html("version A"), html("version B"), html("version C")

CAPTURES = (
    ArchivedCapture(PAGE, "20210105120000", A),
    ArchivedCapture(PAGE, "20210601000000", A),  # same digest as the one before: collapsed
    ArchivedCapture(PAGE, "20220101000000", B),
    ArchivedCapture(PAGE, "20220314093000", A),  # A -> B -> A: a row of its own
    ArchivedCapture(PAGE, "20220314180000", b"gone", status=404, mimetype="text/plain"),
    ArchivedCapture(PAGE, "20220401000000", b"\x89PNG", mimetype="image/png"),
    ArchivedCapture(PAGE, "20221231235959", C),
    ArchivedCapture(PAGE, "20230301000000", b"%PDF-1.4 fake", mimetype="application/pdf"),
    ArchivedCapture(TERMS, "20220601000000", html("terms")),
)
# what list_captures(PAGE) must give: status 200, HTML or PDF, adjacent digests collapsed
EXPECTED = [CAPTURES[i] for i in (0, 2, 3, 6, 7)]


class Recorder:
    """A fake sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def archive():
    live = {
        PAGE: LivePage(html("live privacy")),
        TERMS: LivePage(b"gone for good", status=410, content_type="text/plain"),
    }
    with LocalArchive(CAPTURES, live) as running:
        yield running
    assert running.server_errors == []


@pytest.fixture
def sleeps() -> Recorder:
    return Recorder()


def archive_client(archive: LocalArchive, sleeps: Recorder, **options) -> ArchiveClient:
    options.setdefault("backoff", 1.0)
    return ArchiveClient(
        archive.base_url,
        cdx_limiter=RateLimiter(0),
        replay_limiter=RateLimiter(0),
        timeout=(2.0, 5.0),
        sleep=sleeps,
        clock=lambda: NOW,
        **options,
    )


@pytest.fixture
def client(archive, sleeps):
    with archive_client(archive, sleeps) as made:
        yield made


# --------------------------------------------------------------------------
# digests


def test_wayback_digest_is_the_archives_digest():
    for capture in CAPTURES:
        assert wayback_digest(capture.body) == capture.digest
    assert len(wayback_digest(b"")) == 32


@pytest.mark.parametrize(
    ("digest", "expected"),
    [
        (ArchivedCapture(PAGE, "20200101000000", A).digest, "verified"),
        (ArchivedCapture(PAGE, "20200101000000", A).digest.lower(), "verified"),
        (ArchivedCapture(PAGE, "20200101000000", B).digest, "mismatch"),
        ("", "unverifiable"),
        ("-", "unverifiable"),
        (None, "unverifiable"),
        ("ABC", "unverifiable"),
        ("0" * 32, "unverifiable"),  # 0 and 1 are not base32
        ("a" * 40, "unverifiable"),  # a hex SHA-1 is not a Wayback digest
    ],
)
def test_verify_digest(digest, expected):
    assert verify_digest(A, digest) == expected


# --------------------------------------------------------------------------
# CDX lines and pages


def test_parse_cdx_line_gives_an_aware_utc_record():
    line = f"example,lumen)/legal/privacy 20220314093000 {PAGE} text/html 200 {'A' * 32} 1234"
    record = parse_cdx_line(line)
    assert record.timestamp == "20220314093000"
    assert record.captured_at == datetime(2022, 3, 14, 9, 30, tzinfo=UTC)
    assert record.captured_at.utcoffset() == timedelta(0)
    assert (record.original, record.mimetype, record.statuscode, record.length) == (
        PAGE,
        "text/html",
        200,
        1234,
    )
    assert record.urlkey == "example,lumen)/legal/privacy"


def test_parse_cdx_line_reads_dashes_as_unknown():
    record = parse_cdx_line(f"k 20220314093000 {PAGE} warc/revisit - - -")
    assert (record.statuscode, record.length, record.digest) == (None, None, "-")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (f"k 20220314093000 {PAGE} text/html 200", "got 5 (truncated line?)"),
        (f"k 20220314093000 {PAGE} text/html 200 D 1 extra", "got 8"),
        (f"k 2022031409300 {PAGE} text/html 200 D 1", "is not 14 digits"),
        (f"k 20221314093000 {PAGE} text/html 200 D 1", "is not a valid date"),
        (f"k 20220314093000 {PAGE} text/html OK D 1", "statuscode 'OK' is not a number"),
        (f"k 20220314093000 {PAGE} text/html 200 D 12k", "length '12k' is not a number"),
    ],
)
def test_parse_cdx_line_says_why_a_line_is_bad(line, reason):
    with pytest.raises(ValueError) as caught:
        parse_cdx_line(line)
    assert reason in str(caught.value)


def test_split_cdx_page_takes_the_resume_key_only_from_the_end():
    # waybackpy strips the key with str.replace and would cut "2022" out of
    # the first timestamp; here the lines stay whole.
    text = "k 20220101000000 u text/html 200 D 1\nk 20230101000000 u text/html 200 E 1\n\n2022\n"
    lines, key = split_cdx_page(text)
    assert key == "2022"
    assert lines == [
        "k 20220101000000 u text/html 200 D 1",
        "k 20230101000000 u text/html 200 E 1",
    ]


def test_split_cdx_page_without_a_key():
    assert split_cdx_page("a b c d e f g\n") == (["a b c d e f g"], None)
    assert split_cdx_page("") == ([], None)
    assert split_cdx_page("\n\nrk-only\n") == ([], "rk-only")


# --------------------------------------------------------------------------
# rate limiter and retry policy (injected clock and sleep: no wall-clock)


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self.starts: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limiter_spaces_request_starts():
    fake = FakeTime()
    limiter = RateLimiter(4, clock=fake.clock, sleep=fake.sleep)
    for gap in (0.0, 0.0, 0.1, 1.0, 0.0):
        fake.now += gap
        limiter.wait()
        fake.starts.append(fake.now)
    intervals = [b - a for a, b in zip(fake.starts, fake.starts[1:], strict=False)]
    assert all(i >= 0.25 - 1e-9 for i in intervals), intervals
    assert intervals == pytest.approx([0.25, 0.25, 1.0, 0.25])
    assert fake.slept == pytest.approx([0.25, 0.15, 0.25])


def test_rate_limiter_zero_or_negative_is_unlimited():
    for rate in (0, -1):
        fake = FakeTime()
        limiter = RateLimiter(rate, clock=fake.clock, sleep=fake.sleep)
        assert [limiter.wait() for _ in range(5)] == [0.0] * 5
        assert fake.slept == []


def test_rate_limiter_gives_each_thread_its_own_slot():
    # The clock stands still: every thread must still get a distinct slot.
    slept: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            slept.append(seconds)

    limiter = RateLimiter(2, clock=lambda: 0.0, sleep=record)
    threads = [threading.Thread(target=limiter.wait) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(slept) == pytest.approx([0.5 * i for i in range(1, 8)])


def test_retry_policy_doubles_and_caps():
    policy = RetryPolicy(max_attempts=8, backoff=2.0, max_backoff=20.0)
    assert [policy.delay(n) for n in range(1, 7)] == [2.0, 4.0, 8.0, 16.0, 20.0, 20.0]
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_parse_retry_after():
    assert parse_retry_after("7", NOW) == 7.0
    assert parse_retry_after(" 2.5 ", NOW) == 2.5
    assert parse_retry_after("-3", NOW) == 0.0
    assert parse_retry_after("Sun, 01 Jun 2025 12:01:30 GMT", NOW) == 90.0
    assert parse_retry_after("Sun, 01 Jun 2025 11:00:00 GMT", NOW) == 0.0  # already past
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("", NOW) is None
    assert parse_retry_after(None, NOW) is None


# --------------------------------------------------------------------------
# CDX listings through the local archive


def test_list_captures_gives_the_distinct_html_and_pdf_captures(client, archive):
    listing = client.list_captures(PAGE)
    records = list(listing)
    assert [r.timestamp for r in records] == [c.timestamp for c in EXPECTED]
    assert [r.digest for r in records] == [c.digest for c in EXPECTED]
    assert {r.mimetype for r in records} == {"text/html", "application/pdf"}
    assert all(r.statuscode == 200 and r.original == PAGE for r in records)
    assert all(r.captured_at.tzinfo is UTC for r in records)
    assert records[0].captured_at == datetime(2021, 1, 5, 12, 0, tzinfo=UTC)
    assert listing.bad_lines == [] and listing.incomplete is None and listing.pages == 1


def test_list_captures_sends_the_waybackpy_built_query(client, archive):
    list(client.list_captures(PAGE, from_="2022", to="202212"))
    (request,) = archive.requests_of("cdx")
    query = parse_qs(urlsplit(request.path).query)
    assert query["url"] == [PAGE]
    assert query["filter"] == ["statuscode:200", "mimetype:text/html|application/pdf"]
    assert query["collapse"] == ["digest"]
    assert query["showResumeKey"] == ["true"]
    assert (query["from"], query["to"]) == (["2022"], ["202212"])


def test_list_captures_from_and_to(client):
    records = list(client.list_captures(PAGE, from_="2022", to="202212"))
    assert [r.timestamp for r in records] == ["20220101000000", "20220314093000", "20221231235959"]
    assert list(client.list_captures(PAGE, from_="2024")) == []


def test_collapse_keeps_a_text_that_comes_back(client):
    records = list(client.list_captures(PAGE, to="20220314"))
    assert [r.timestamp for r in records] == ["20210105120000", "20220101000000", "20220314093000"]
    assert records[0].digest == records[2].digest  # A -> B -> A: three rows


def test_resume_key_paging_gives_each_record_once(sleeps):
    bodies = [html(f"revision {i}") for i in range(23)]
    start = datetime(2020, 1, 1, tzinfo=UTC)
    captures = [
        ArchivedCapture(PAGE, (start + timedelta(days=7 * i)).strftime("%Y%m%d%H%M%S"), body)
        for i, body in enumerate(bodies)
    ]
    with LocalArchive(reversed(captures)) as archive:
        client = archive_client(archive, sleeps)
        listing = client.list_captures(PAGE, page_size=5)
        records = list(listing)
        cdx_requests = archive.requests_of("cdx")
    assert [r.timestamp for r in records] == [c.timestamp for c in captures]
    assert len({r.timestamp for r in records}) == 23
    assert listing.pages == 5 == len(cdx_requests)
    assert "resumeKey" not in cdx_requests[0].path
    assert all("resumeKey=" in r.path for r in cdx_requests[1:])
    assert listing.incomplete is None


def test_server_side_page_cap_is_paged_through(sleeps):
    captures = [ArchivedCapture(PAGE, f"2021{m:02d}01000000", html(str(m))) for m in range(1, 13)]
    with LocalArchive(captures, page_size=4) as archive:
        records = list(archive_client(archive, sleeps).list_captures(PAGE))
    assert [r.timestamp for r in records] == [c.timestamp for c in captures]


def test_a_listing_is_a_single_pass(client):
    listing = client.list_captures(PAGE)
    list(listing)
    with pytest.raises(RuntimeError, match="already been iterated"):
        list(listing)


# --------------------------------------------------------------------------
# replay


def test_fetch_capture_returns_the_exact_bytes_and_the_digest_verifies(client):
    for record in client.list_captures(PAGE):
        capture = next(c for c in CAPTURES if c.timestamp == record.timestamp)
        fetched = client.fetch_capture(record)
        assert fetched.body == capture.body
        assert fetched.status == 200
        assert fetched.truncated is False and fetched.error is None
        assert verify_digest(fetched.body, record.digest) == "verified"
        assert fetched.url == fetched.final_url == client.replay_url(record)
        assert fetched.fetched_at == NOW
        assert fetched.header("memento-datetime")
    pdf = client.fetch_capture(parse_line_for(CAPTURES[7]))
    assert pdf.content_type == "application/pdf"


def parse_line_for(capture: ArchivedCapture):
    return parse_cdx_line(
        f"{capture.urlkey} {capture.timestamp} {capture.url} {capture.mimetype} "
        f"{capture.status} {capture.digest} {len(capture.body)}"
    )


@pytest.mark.faults
def test_digest_mismatch_is_detected(client):
    record = parse_line_for(CAPTURES[2])
    wrong = dataclasses.replace(record, digest=CAPTURES[0].digest)
    fetched = client.fetch_capture(wrong)
    assert fetched.body == B
    assert verify_digest(fetched.body, wrong.digest) == "mismatch"


@pytest.mark.faults
def test_the_nearest_capture_the_archive_redirects_to_is_refused(client, archive):
    # Wayback answers a capture it cannot replay with a 302 to the nearest
    # timestamp: those bytes, stored under the listed time, would date the
    # other capture's text wrong
    from flows.client import OtherCaptureServed

    record = dataclasses.replace(
        parse_line_for(CAPTURES[2]),
        timestamp="20220102000000",
        captured_at=datetime(2022, 1, 2, tzinfo=UTC),
    )
    with pytest.raises(OtherCaptureServed) as caught:
        client.fetch_capture(record)
    assert caught.value.served_at == datetime(2022, 1, 1, tzinfo=UTC)
    assert caught.value.captured_at == record.captured_at
    message = str(caught.value)
    assert "2022-01-01T00:00:00Z" in message and "2022-01-02T00:00:00Z" in message
    assert "/web/20220101000000id_/" in message
    assert [r.status for r in archive.requests_of("replay")] == [302, 200]


@pytest.mark.faults
def test_a_redirect_that_keeps_the_timestamp_is_followed(client, archive):
    # another spelling of the URL at the same time is the same capture
    record = parse_line_for(CAPTURES[2])
    archive.add_fault(
        "replay",
        Fault.redirect(f"{archive.base_url}/web/20220101000000id_/{PAGE.replace('://', '://www.')}"),
        match="20220101000000id_/",
    )
    fetched = client.fetch_capture(record)
    assert fetched.body == B
    assert [r.status for r in archive.requests_of("replay")] == [302, 200]


def test_archived_error_status_is_data_not_retried(client, archive, sleeps):
    fetched = client.fetch_capture(parse_line_for(CAPTURES[4]))
    assert (fetched.status, fetched.body) == (404, b"gone")
    assert sleeps.delays == [] and len(archive.requests_of("replay")) == 1


def test_archive_url_is_the_human_playback_url(client, archive):
    record = parse_line_for(CAPTURES[0])
    assert client.archive_url(record) == f"{archive.base_url}/web/20210105120000/{PAGE}"
    assert client.replay_url(record) == f"{archive.base_url}/web/20210105120000id_/{PAGE}"


def test_replay_size_cap_keeps_the_first_bytes_and_says_so(archive, sleeps):
    record = parse_line_for(CAPTURES[0])
    capped = archive_client(archive, sleeps, max_bytes=10).fetch_capture(record)
    assert capped.truncated is True
    assert capped.body == A[:10]
    exact = archive_client(archive, sleeps, max_bytes=len(A)).fetch_capture(record)
    assert exact.truncated is False and exact.body == A


# --------------------------------------------------------------------------
# live pages through the proxy


@pytest.fixture
def live(archive, sleeps):
    with LiveClient(
        proxy=archive.proxy_url, timeout=(2.0, 5.0), sleep=sleeps, clock=lambda: NOW
    ) as made:
        yield made


def test_live_fetch_through_the_proxy(live, archive):
    fetched = live.fetch(PAGE)
    assert fetched.status == 200
    assert fetched.body == html("live privacy")
    assert fetched.content_type == "text/html; charset=utf-8"
    assert fetched.final_url == PAGE
    assert fetched.fetched_at == NOW
    assert ("content-length", str(len(fetched.body))) in fetched.headers
    assert [(r.kind, r.path) for r in archive.requests] == [("live", PAGE)]


@pytest.mark.parametrize(("url", "status"), [(PAGE + "/missing", 404), (TERMS, 410)])
def test_live_4xx_is_data_not_an_exception(live, archive, sleeps, url, status):
    fetched = live.fetch(url)
    assert fetched.status == status
    assert fetched.error is None
    assert sleeps.delays == [] and len(archive.requests_of("live")) == 1


def test_live_size_cap(archive, sleeps):
    archive.set_live(PAGE, LivePage(b"x" * 200_000))
    fetched = LiveClient(proxy=archive.proxy_url, max_bytes=70_000, sleep=sleeps).fetch(PAGE)
    assert fetched.truncated is True
    assert fetched.body == b"x" * 70_000


def test_default_user_agent_names_the_project():
    assert DEFAULT_USER_AGENT.startswith("clausetrail/")
    assert "https://github.com/clausetrail/clausetrail" in DEFAULT_USER_AGENT
