"""The one HTTP client of clausetrail: live pages and the Wayback archive.

Everything that goes over the network goes through here, with one retry
policy, one body-size cap, timeouts on every request, UTC times and a clear
User-Agent. No Prefect: flows build the clients once and pass them down.

Retry policy (`RetryPolicy`, in one place)
    429 and 500/502/503/504, connection errors, timeouts and incomplete
    bodies are retried with exponential backoff (`backoff`, doubling, no
    jitter, capped at `max_backoff`) up to `max_attempts` attempts. A
    `Retry-After` header (seconds or HTTP-date) replaces the backoff for that
    wait; if it asks for longer than `max_wait`, the client does not sleep
    but gives up at once and says when to come back. Other 4xx answers are
    data: they are returned, never retried. When the archive keeps refusing,
    `ArchiveRefused` is raised (with `retry_after` and `attempts`); a live
    site that keeps answering 5xx is returned as data with `Fetched.error`
    set. Network failures that persist raise `FetchError`.

What waybackpy 3.0.6 is used for, and what is avoided
    Used: `WaybackMachineCDXServerAPI` as a query builder only -- its
    constructor validates the filter and collapse expressions
    (`check_filters`, `check_collapses`) and `add_payload()` fills in `url`,
    `from`, `to`, `gzip`, the repeated `filter` and `collapse` parameters;
    `cdx_utils.full_url()` turns that payload into the request URL (it is the
    helper that keeps repeated `filter=`/`collapse=` arguments apart).
    Not used: its HTTP layer and its line parser, because for us they are
    unsound:
      * `get_response()` sets no timeout; it mounts retries for https only,
        never retries 429 and never checks the status, so a 503 (or any
        error page) over http reads as an empty listing -- zero captures,
        silently. We send every request through our session: timeouts,
        status checks, the shared rate limiter and the retry policy above.
      * the resume-key loop removes the key with `text.replace(key, "", 1)`,
        which corrupts the first line that happens to contain a short key
        (a timestamp, say); and it loops forever when the archive repeats a
        resume key. We split the page into lines and take the key only from
        the last line after a blank line, and stop (with a warning and
        `CdxListing.incomplete` set) when a key comes back.
      * `snapshots()` silently drops lines shorter than 46 characters and
        raises `WaybackError` -- ending the whole listing -- on a line with
        the wrong number of fields. We keep every good line and report every
        bad one (`CdxListing.bad_lines`, with line number, text and reason).
      * `CDXSnapshot` keeps a naive datetime, a string status code and an
        archive URL hard-wired to web.archive.org; we build `CdxRecord`s with
        aware UTC datetimes against the configured base URL.
      * waybackpy cannot download an archived page at all; `fetch_capture`
        does, through `id_` replay. When the archive answers with another
        capture than the listed one (Wayback redirects to the nearest
        timestamp when a record cannot be replayed; pywb serves the nearest
        one at once), the answer is refused with `OtherCaptureServed`:
        stored under the listed time, its text would be dated wrong.

CDX listings ask for `statuscode:200`, `mimetype:text/html|application/pdf`
(the archive matches the whole field with a regex, so the alternation works)
and `collapse=digest`, which keeps the first row of each run of adjacent
equal digests: A -> B -> A stays three rows. The same rule is applied again
on our side across page boundaries, where the archive's collapse restarts,
and a row already yielded (same timestamp, URL and digest) is not yielded
again when pages overlap.

Two archive APIs (`WaybackApi`, the default, and `PywbApi`)
    The Internet Archive: CDX at `{base}/cdx/search/cdx` (space-separated
    lines, paged with `showResumeKey`/`resumeKey`), replay at
    `{base}/web/{timestamp}id_/{url}`, a 302 to the nearest capture.
    A pywb collection (pywb 2.x, `docs/manual/cdxserver_api.rst` and
    `pywb/warcserver/index/{query,cdxops,cdxobject}.py`): CDX at
    `{base}/{coll}/cdx` (the endpoint is pywb's `cdx_api_endpoint`),
    replay at `{base}/{coll}/{timestamp}id_/{url}`. What differs, and what we
    do about it:
      * `output=json` is one JSON object per line (NDJSON), with pywb's field
        names (`url`, `mime`, `status`) and every value a string; a line
        that is not a JSON object, or lacks `urlkey`, `timestamp`, `url`,
        `mime` or `digest`, is a bad line like any other.
      * filters are `[!][=|~]field:expr` and match a substring by default
        (`~` is `re.match`, anchored at the start only), so ours are
        `~status:(?:200)?$` and `~mime:(?:text/html|application/pdf)$`.
      * there is no `collapse`, and no resume key: `collapse=digest` and
        `showResumeKey` are ignored without an error. We collapse adjacent
        digests on our side, and page with `limit` and `from`: the next
        page starts at the last timestamp read (`from` is inclusive) and
        the rows read twice there are skipped. pywb's `query_limit` setting
        replaces the client's `limit`, so a page shorter than asked does
        not prove the end: the listing ends with the first page that
        brings nothing new (one request more than the pages). A full page
        that brings nothing new (more than a page of captures in one
        second) stops the listing with `incomplete` set.
      * `resolveRevisits=true`: a revisit record takes the `mime` of the
        capture it repeats, so A -> B -> A stored as a revisit still lists
        the second A; a revisit has no `status` (hence the `?` in the
        filter) and its row carries none. `allowFuzzy=false`: pywb would
        otherwise answer a URL it lacks with captures of similar URLs.
      * a URL with no captures, and a collection that does not exist, both
        answer 200 with an empty body. So the client asks once for the
        collection's page (`{base}/{coll}/`, 404 when there is no such
        collection) before its first listing, and a wrong name is an
        error, not an archive that holds nothing.
      * `id_` replay of a timestamp it does not hold serves the nearest
        capture at once, with its own `Memento-Datetime` and a
        `Content-Location` naming it, instead of redirecting (refused like
        Wayback's redirect, `OtherCaptureServed`, which names it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import ClassVar
from urllib.parse import quote, urlencode, urljoin

import requests
from waybackpy import WaybackMachineCDXServerAPI
from waybackpy.cdx_utils import full_url

from transforms.records import CdxRecord

__all__ = [
    "DEFAULT_USER_AGENT",
    "ArchiveClient",
    "ArchiveRefused",
    "CdxListing",
    "CdxParseError",
    "ClientError",
    "FetchError",
    "Fetched",
    "LiveClient",
    "PywbApi",
    "RateLimiter",
    "RetryPolicy",
    "WaybackApi",
    "parse_cdx_line",
    "parse_pywb_line",
    "parse_retry_after",
    "split_cdx_page",
    "verify_digest",
    "wayback_digest",
]

log = logging.getLogger("clausetrail.client")

DEFAULT_USER_AGENT = "clausetrail/0.1 (+https://github.com/clausetrail/clausetrail)"
DEFAULT_TIMEOUT = (10.0, 60.0)  # (connect, read) seconds
DEFAULT_MAX_BYTES = 20_000_000
CDX_PER_SECOND = 0.4  # 24 a minute, below the archive's published CDX limit
REPLAY_PER_SECOND = 8.0

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "location",
    "memento-datetime",
    "content-location",
    "last-modified",
    "etag",
    "retry-after",
)
CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
CDX_FILTERS = ("statuscode:200", "mimetype:text/html|application/pdf")
CDX_COLLAPSES = ("digest",)
# pywb: its own field names; its filter syntax ([!][=|~]field:expr, `~` is re.match)
PYWB_FIELDS = ("urlkey", "timestamp", "url", "mime", "status", "digest", "length")
PYWB_REQUIRED = ("urlkey", "timestamp", "url", "mime", "digest")
PYWB_FILTERS = ("~status:(?:200)?$", "~mime:(?:text/html|application/pdf)$")
# wb-manager's rule for a collection name (pywb/manager/manager.py, COLL_RX), and
# what pywb's cdx_api_endpoint, appended to "/<coll>", may be ("/cdx", "-index")
PYWB_COLLECTION = re.compile(r"^\w[-\w]*$")
PYWB_CDX_ENDPOINT = re.compile(r"^[-/][-\w./]*$")

_TIMESTAMP = re.compile(r"^\d{14}$")
_BASE32_SHA1 = re.compile(r"^[A-Z2-7]{32}$")
_CHUNK = 64 * 1024


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "unknown time"


def _http_datetime(value: str | None) -> datetime | None:
    """An HTTP date (Memento-Datetime, Retry-After) as an aware UTC datetime;
    None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --------------------------------------------------------------------------
# digests


def wayback_digest(body: bytes) -> str:
    """The Wayback digest of a body: base32 of its SHA-1 (32 characters)."""
    return base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def verify_digest(body: bytes, digest: str | None) -> str:
    """Check bytes against a CDX digest: "verified", "mismatch" or "unverifiable".

    A digest that is empty, "-" or not 32 base32 characters cannot be checked.
    """
    value = (digest or "").strip().upper()
    if not _BASE32_SHA1.match(value):
        return "unverifiable"
    return "verified" if wayback_digest(body) == value else "mismatch"


# --------------------------------------------------------------------------
# errors


class ClientError(Exception):
    """Base of the client's errors; `url` is what was asked for."""

    def __init__(
        self,
        message: str,
        url: str,
        *,
        captured_at: datetime | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.captured_at = captured_at
        self.status = status


class FetchError(ClientError):
    """The network failed (DNS, refused, reset, timeout, incomplete body) on every attempt."""


class ArchiveRefused(ClientError):
    """The archive kept answering 429/5xx, or asked us to wait longer than we will.

    `retry_after` is when to come back (the archive's Retry-After when it
    gave one, otherwise our next backoff delay); `attempts` how many requests
    were made.
    """

    def __init__(
        self,
        message: str,
        url: str,
        *,
        retry_after: datetime | None,
        attempts: int,
        captured_at: datetime | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, url, captured_at=captured_at, status=status)
        self.retry_after = retry_after
        self.attempts = attempts


class OtherCaptureServed(ClientError):
    """Asked for one capture, the archive answered with another (`served_at`):
    Wayback's redirect to the nearest timestamp, or pywb's nearest capture
    served in place."""

    def __init__(
        self, message: str, url: str, *, captured_at: datetime, served_at: datetime
    ) -> None:
        super().__init__(message, url, captured_at=captured_at)
        self.served_at = served_at


class CdxParseError(ClientError):
    """The answer to a CDX query is not a CDX listing at all (an HTML page, an error status)."""


# --------------------------------------------------------------------------
# rate limiting and retries


class RateLimiter:
    """A minimum interval between request starts, shared by threads.

    Each caller reserves the next free slot under a lock, then sleeps outside
    it, so N threads are spaced by the interval, not released together.
    `per_second <= 0` means unlimited.
    """

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_second = float(per_second)
        self.interval = 1.0 / self.per_second if self.per_second > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: float | None = None

    def wait(self) -> float:
        """Block until this request may start; return the seconds waited."""
        if self.interval <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            start = now if self._next is None else max(now, self._next)
            self._next = start + self.interval
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay

    def __repr__(self) -> str:
        return f"RateLimiter(per_second={self.per_second})"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry (see the module docstring)."""

    max_attempts: int = 5
    backoff: float = 2.0  # first delay, seconds; doubles each retry
    max_backoff: float = 60.0  # cap of the exponential delay
    max_wait: float = 300.0  # longest Retry-After we will sleep

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff < 0 or self.max_backoff < 0 or self.max_wait < 0:
            raise ValueError("backoff, max_backoff and max_wait must not be negative")

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th failed attempt: backoff * 2**(failures-1), capped."""
        return min(self.backoff * 2 ** max(failures - 1, 0), self.max_backoff)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if unusable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN is unusable
    when = _http_datetime(text)
    return None if when is None else max((when - now).total_seconds(), 0.0)


# --------------------------------------------------------------------------
# what a fetch returns


@dataclass(frozen=True, slots=True)
class Fetched:
    """One HTTP answer, read (up to the size cap) and closed."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int
    content_type: str | None
    body: bytes
    truncated: bool  # the body exceeded max_bytes; `body` holds the first max_bytes
    headers: tuple[tuple[str, str], ...]  # lower-case names, only KEPT_HEADERS
    fetched_at: datetime  # UTC, when the answer arrived
    error: str | None = None  # set when an answer is kept despite a problem
    # Memento-Datetime of the first answer on the way that had one (the final
    # one when there was no redirect): the capture the archive served for the
    # URL asked
    first_memento: str | None = None

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)


class _Incomplete(Exception):
    """The connection closed before Content-Length bytes arrived."""


class _HttpCore:
    """Sessions (one per thread), the size cap and the retry loop."""

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: tuple[float, float],
        max_bytes: int,
        proxy: str | None,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        clock: Callable[[], datetime],
    ) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.user_agent = user_agent
        self.timeout = (float(timeout[0]), float(timeout[1]))
        self.max_bytes = max_bytes
        self.proxy = proxy
        self.policy = policy
        self.sleep = sleep
        self.clock = clock
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    # -- sessions -----------------------------------------------------------

    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # Proxies come from our settings only: an environment proxy must
            # never reroute loopback requests or leak test traffic.
            session.trust_env = False
            session.headers["User-Agent"] = self.user_agent
            if self.proxy:
                session.proxies = {"http": self.proxy, "https": self.proxy}
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    # -- one request --------------------------------------------------------

    def _once(self, url: str, headers: dict[str, str]) -> Fetched:
        response = self.session().get(
            url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=True
        )
        try:
            fetched_at = self.clock()
            chunks: list[bytes] = []
            size, truncated = 0, False
            try:
                for chunk in response.iter_content(_CHUNK):
                    if size + len(chunk) > self.max_bytes:
                        chunks.append(chunk[: self.max_bytes - size])
                        size, truncated = self.max_bytes, True
                        break
                    chunks.append(chunk)
                    size += len(chunk)
            except requests.exceptions.ChunkedEncodingError as err:
                expected = _int_or_none(response.headers.get("Content-Length"))
                got = _bytes_read(response)
                if expected is not None and got is not None and got < expected:
                    raise _Incomplete(f"incomplete body: got {got} of {expected} bytes") from err
                raise
            kept = tuple(
                (name, response.headers[name]) for name in KEPT_HEADERS if name in response.headers
            )
            first_memento = next(
                (
                    answer.headers["memento-datetime"]
                    for answer in (*response.history, response)
                    if "memento-datetime" in answer.headers
                ),
                None,
            )
            return Fetched(
                url=url,
                final_url=response.url,
                status=response.status_code,
                content_type=response.headers.get("Content-Type"),
                body=b"".join(chunks),
                truncated=truncated,
                headers=kept,
                fetched_at=fetched_at,
                first_memento=first_memento,
            )
        finally:
            response.close()

    # -- the retry loop -----------------------------------------------------

    def get(
        self,
        url: str,
        *,
        what: str,
        limiter: RateLimiter | None = None,
        captured_at: datetime | None = None,
        refusal_raises: bool = True,
        archived_answers: bool = False,
        headers: dict[str, str] | None = None,
        subject: str | None = None,
    ) -> Fetched:
        """GET with retries. `what` names the request in messages ("replay of ...").

        refusal_raises: a 429/5xx that persists raises ArchiveRefused; if
        False it is returned as data with `error` set (live sites).
        archived_answers: a 5xx carrying Memento-Datetime is an archived
        answer (data), not the archive refusing (replay).
        subject: the URL the errors are about (`ClientError.url`) when it is
        not the request URL (the page whose CDX listing is asked for).
        """
        policy = self.policy
        when = f" (captured {_iso(captured_at)})" if captured_at else ""
        attempt = 0
        while True:
            attempt += 1
            if limiter is not None:
                limiter.wait()
            try:
                fetched = self._once(url, headers or {})
            except (_Incomplete, requests.exceptions.RequestException) as err:
                problem = _describe(err)
                # a name that does not resolve rarely resolves seconds later: one retry
                dns_done = problem == "DNS lookup failed" and attempt >= DNS_ATTEMPTS
                if not _retryable(err) or attempt >= policy.max_attempts or dns_done:
                    tries = f"{attempt} attempt" + ("s" if attempt != 1 else "")
                    detail = "" if str(err) == problem else f": {err}"
                    raise FetchError(
                        f"{problem}: {what} {url}{when} failed after {tries}{detail}",
                        subject or url,
                        captured_at=captured_at,
                    ) from err
                delay = policy.delay(attempt)
                log.warning(
                    "%s: %s %s, attempt %d of %d; retrying in %.1fs",
                    problem,
                    what,
                    url,
                    attempt,
                    policy.max_attempts,
                    delay,
                )
                self.sleep(delay)
                continue

            if fetched.status not in RETRY_STATUSES or (
                archived_answers and fetched.header("memento-datetime")
            ):
                return fetched

            now = self.clock()
            asked = parse_retry_after(fetched.header("retry-after"), now)
            if asked is not None and asked > policy.max_wait:
                return self._refused(
                    fetched,
                    what,
                    attempt,
                    now + timedelta(seconds=asked),
                    f"asks to wait {asked:.0f}s, more than max_wait {policy.max_wait:.0f}s",
                    captured_at,
                    refusal_raises,
                    subject,
                )
            delay = asked if asked is not None else policy.delay(attempt)
            if attempt >= policy.max_attempts:
                return self._refused(
                    fetched,
                    what,
                    attempt,
                    now + timedelta(seconds=delay),
                    f"still refusing after {attempt} attempts",
                    captured_at,
                    refusal_raises,
                    subject,
                )
            log.warning(
                "HTTP %d: %s %s, attempt %d of %d; retrying in %.1fs%s",
                fetched.status,
                what,
                url,
                attempt,
                policy.max_attempts,
                delay,
                " (Retry-After)" if asked is not None else "",
            )
            self.sleep(delay)

    def _refused(
        self,
        fetched: Fetched,
        what: str,
        attempts: int,
        retry_after: datetime,
        why: str,
        captured_at: datetime | None,
        raises: bool,
        subject: str | None,
    ) -> Fetched:
        when = f" (captured {_iso(captured_at)})" if captured_at else ""
        message = (
            f"HTTP {fetched.status}: {what} {fetched.url}{when} refused; {why}; "
            f"come back after {_iso(retry_after)}"
        )
        log.warning("%s", message)
        if raises:
            raise ArchiveRefused(
                message,
                subject or fetched.url,
                retry_after=retry_after,
                attempts=attempts,
                captured_at=captured_at,
                status=fetched.status,
            )
        return replace(fetched, error=message)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _bytes_read(response: requests.Response) -> int | None:
    try:
        return int(response.raw.tell())
    except (AttributeError, OSError, ValueError):
        return None


DNS_ATTEMPTS = 2  # attempts for a host name that does not resolve


def _retryable(err: BaseException) -> bool:
    if isinstance(err, _Incomplete):
        return True
    if isinstance(err, requests.exceptions.SSLError | requests.exceptions.TooManyRedirects):
        return False
    if isinstance(
        err,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema
        | requests.exceptions.InvalidHeader,
    ):
        return False
    return isinstance(
        err,
        requests.exceptions.ConnectionError
        | requests.exceptions.Timeout
        | requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError,
    )


def _describe(err: BaseException) -> str:
    """A short name for a network failure, for messages and logs."""
    if isinstance(err, _Incomplete):
        return str(err)
    text = str(err)
    lowered = text.lower()
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return "connect timed out"
    if isinstance(err, requests.exceptions.ReadTimeout) or "read timed out" in lowered:
        return "read timed out"
    if isinstance(err, requests.exceptions.ProxyError):
        return "proxy error"
    if isinstance(err, requests.exceptions.SSLError):
        return "TLS error"
    if isinstance(err, requests.exceptions.TooManyRedirects):
        return "too many redirects"
    if isinstance(err, requests.exceptions.ChunkedEncodingError):
        return "connection broken mid-body"
    if isinstance(err, requests.exceptions.ConnectionError):
        if any(
            s in lowered
            for s in ("nameresolutionerror", "failed to resolve", "name or service not known")
        ) or any(s in lowered for s in ("nodename nor servname", "getaddrinfo failed")):
            return "DNS lookup failed"
        if "refused" in lowered:
            return "connection refused"
        if "reset" in lowered or "aborted" in lowered or "remotedisconnected" in lowered:
            return "connection reset"
        return "connection failed"
    return type(err).__name__


# --------------------------------------------------------------------------
# live pages


class LiveClient:
    """Fetches live pages: `fetch(url) -> Fetched`.

    4xx answers (404, 410 ...) are returned as data; a site that keeps
    answering 429/5xx is returned as data with `error` set; a network failure
    that persists raises FetchError.
    """

    def __init__(
        self,
        user_agent: str = DEFAULT_USER_AGENT,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        proxy: str | None = None,
        *,
        max_attempts: int = 5,
        backoff: float = 2.0,
        max_backoff: float = 60.0,
        max_wait: float = 300.0,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.limiter = limiter
        self._http = _HttpCore(
            user_agent=user_agent,
            timeout=timeout,
            max_bytes=max_bytes,
            proxy=proxy,
            policy=RetryPolicy(max_attempts, backoff, max_backoff, max_wait),
            sleep=sleep,
            clock=clock,
        )

    @property
    def policy(self) -> RetryPolicy:
        return self._http.policy

    def fetch(self, url: str) -> Fetched:
        return self._http.get(
            url,
            what="live page",
            limiter=self.limiter,
            refusal_raises=False,
            headers={"Accept": "text/html,application/xhtml+xml,application/pdf;q=0.9,*/*;q=0.8"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LiveClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --------------------------------------------------------------------------
# CDX lines and pages (pure)


def parse_cdx_line(line: str) -> CdxRecord:
    """One line of the archive's default CDX output as a CdxRecord.

    Raises ValueError whose message is the reason the line is bad.
    """
    parts = line.split()
    if len(parts) != len(CDX_FIELDS):
        raise ValueError(
            f"expected {len(CDX_FIELDS)} space-separated fields, got {len(parts)}"
            + (" (truncated line?)" if len(parts) < len(CDX_FIELDS) else "")
        )
    urlkey, timestamp, original, mimetype, statuscode, digest, length = parts
    return CdxRecord(
        urlkey=urlkey,
        timestamp=timestamp,
        captured_at=_captured_at(timestamp),
        original=original,
        mimetype=mimetype,
        statuscode=_cdx_int(statuscode, "statuscode"),
        digest=digest,
        length=_cdx_int(length, "length"),
    )


def parse_pywb_line(line: str) -> CdxRecord:
    """One line of pywb's `output=json` CDX (a JSON object) as a CdxRecord.

    A missing `status` or `length` (a revisit has no status) is unknown, as
    "-" is. Raises ValueError whose message is the reason the line is bad.
    """
    try:
        row = json.loads(line)
    except ValueError as err:
        reason = getattr(err, "msg", str(err))
        raise ValueError(f"not a JSON object: {reason} (truncated line?)") from None
    if not isinstance(row, dict):
        raise ValueError(f"expected a JSON object, got {type(row).__name__}")
    missing = [name for name in PYWB_REQUIRED if row.get(name) in (None, "")]
    if missing:
        raise ValueError(f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    values: dict[str, str] = {}
    for name in PYWB_FIELDS:
        value = row.get(name, "-")
        if isinstance(value, int) and not isinstance(value, bool) and name in ("status", "length"):
            value = str(value)
        if not isinstance(value, str):
            raise ValueError(f"{name} {value!r} is not a string")
        values[name] = value
    return CdxRecord(
        urlkey=values["urlkey"],
        timestamp=values["timestamp"],
        captured_at=_captured_at(values["timestamp"]),
        original=values["url"],
        mimetype=values["mime"],
        statuscode=_cdx_int(values["status"], "status"),
        digest=values["digest"],
        length=_cdx_int(values["length"], "length"),
    )


def _captured_at(timestamp: str) -> datetime:
    if not _TIMESTAMP.match(timestamp):
        raise ValueError(f"timestamp {timestamp!r} is not 14 digits")
    try:
        return datetime.strptime(timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError as err:
        raise ValueError(f"timestamp {timestamp!r} is not a valid date") from err


def _cdx_int(value: str, name: str) -> int | None:
    if value in ("-", ""):
        return None
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"{name} {value!r} is not a number")
    return int(value)


def split_cdx_page(text: str) -> tuple[list[str], str | None]:
    """A CDX answer's lines, and its resume key if it ends with one.

    With showResumeKey=true the archive ends a page that has more after it
    with a blank line and the key on a line of its own. Only that position
    is read as a key; nothing is removed from the other lines.
    """
    lines = text.split("\n")
    lines = [line.rstrip("\r") for line in lines]
    while lines and not lines[-1].strip():
        lines.pop()
    key = None
    if len(lines) >= 2 and not lines[-2].strip() and len(lines[-1].split()) == 1:
        key = lines.pop().strip()
        while lines and not lines[-1].strip():
            lines.pop()
    return lines, key


def _looks_like_html(content_type: str | None, text: str) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    return text.lstrip()[:1] == "<"


# --------------------------------------------------------------------------
# the two archive APIs: where things are, how a listing is asked for and read


@dataclass(frozen=True, slots=True)
class CdxQuery:
    """What one listing asks the CDX API for, page after page."""

    endpoint: str
    url: str
    from_: str | None
    to: str | None
    limit: int
    user_agent: str


@dataclass(frozen=True, slots=True)
class WaybackApi:
    """The Internet Archive's API (and any archive that copies its layout)."""

    pages_overlap: ClassVar[bool] = False  # a resume key starts after the last row

    def cdx_endpoint(self, base: str) -> str:
        return f"{base}/cdx/search/cdx"

    def replay_prefix(self, base: str) -> str:
        return f"{base}/web"

    def query_url(self, query: CdxQuery, cursor: str | None) -> str:
        """One page's request, built with waybackpy's helpers; `cursor` is a resume key."""
        api = WaybackMachineCDXServerAPI(
            query.url,
            user_agent=query.user_agent,
            start_timestamp=query.from_,
            end_timestamp=query.to,
            filters=list(CDX_FILTERS),
            collapses=list(CDX_COLLAPSES),
        )
        payload: dict[str, str] = {}
        api.add_payload(payload)
        payload["showResumeKey"] = "true"
        payload["limit"] = str(query.limit)
        if cursor:
            payload["resumeKey"] = cursor
        return full_url(query.endpoint, payload)

    def parse_line(self, line: str) -> CdxRecord:
        return parse_cdx_line(line)

    def split_page(self, text: str, limit: int) -> tuple[list[str], str | None]:
        """A page's lines, and its resume key (the next page's cursor) or None."""
        return split_cdx_page(text)


@dataclass(frozen=True, slots=True)
class PywbApi:
    """A pywb collection: `{base}/{collection}{cdx_endpoint}` and `{base}/{collection}/`
    replay (see the module docstring for what differs from the Wayback API)."""

    collection: str
    cdx_api_endpoint: str = "/cdx"  # pywb's `cdx_api_endpoint` setting

    pages_overlap: ClassVar[bool] = True  # the next page starts at the last timestamp

    def __post_init__(self) -> None:
        if not PYWB_COLLECTION.match(self.collection):
            raise ValueError(f"not a pywb collection name: {self.collection!r}")
        if not PYWB_CDX_ENDPOINT.match(self.cdx_api_endpoint):
            raise ValueError(f"not a pywb cdx_api_endpoint: {self.cdx_api_endpoint!r}")

    def cdx_endpoint(self, base: str) -> str:
        return f"{base}/{quote(self.collection)}{self.cdx_api_endpoint}"

    def replay_prefix(self, base: str) -> str:
        return f"{base}/{quote(self.collection)}"

    def collection_page(self, base: str) -> str:
        """The collection's search page: 200, or 404 when there is no such collection."""
        return f"{base}/{quote(self.collection)}/"

    def query_url(self, query: CdxQuery, cursor: str | None) -> str:
        """One page's request; `cursor` is the timestamp the page starts at."""
        params = [
            ("url", query.url),
            ("matchType", "exact"),
            ("output", "json"),
            ("fl", ",".join(PYWB_FIELDS)),
            *(("filter", spec) for spec in PYWB_FILTERS),
            ("resolveRevisits", "true"),
            ("allowFuzzy", "false"),
            ("limit", str(query.limit)),
        ]
        start = cursor or query.from_
        if start:
            params.append(("from", start))
        if query.to:
            params.append(("to", query.to))
        return f"{query.endpoint}?{urlencode(params)}"

    def parse_line(self, line: str) -> CdxRecord:
        return parse_pywb_line(line)

    def split_page(self, text: str, limit: int) -> tuple[list[str], bool]:
        """A page's lines, and whether it was full (`limit` rows)."""
        lines = [line.rstrip("\r") for line in text.split("\n")]
        while lines and not lines[-1].strip():
            lines.pop()
        return lines, sum(1 for line in lines if line.strip()) >= limit


ArchiveApi = WaybackApi | PywbApi
WAYBACK = WaybackApi()


# --------------------------------------------------------------------------
# the archive


class CdxListing:
    """The captures of one URL, paged from the CDX API as you iterate.

    Iterating yields `CdxRecord`s (once: a listing is a single pass). Lines
    that do not parse are not yielded but collected, as iteration goes, in
    `bad_lines`: `(line number, raw line, reason)`, numbered from 1 over the
    listing's CDX lines across pages. `pages` counts the pages read;
    `incomplete` says why the listing stopped early (a repeated resume key),
    or is None.
    """

    def __init__(
        self,
        client: ArchiveClient,
        url: str,
        from_: str | None,
        to: str | None,
        page_size: int,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self.url = url
        self.from_ = from_
        self.to = to
        self.page_size = page_size
        self.bad_lines: list[tuple[int, str, str]] = []
        self.pages = 0
        self.incomplete: str | None = None
        self._client = client
        self._started = False

    def query_url(self, cursor: str | None = None) -> str:
        """The CDX request URL for one page: the first, or the one `cursor`
        (a resume key, or pywb's next `from` timestamp) points at."""
        client = self._client
        query = CdxQuery(
            client.cdx_endpoint, self.url, self.from_, self.to, self.page_size, client.user_agent
        )
        return client.api.query_url(query, cursor)

    def __iter__(self) -> Iterator[CdxRecord]:
        if self._started:
            raise RuntimeError(f"the CDX listing of {self.url} has already been iterated")
        self._started = True
        return self._records()

    def _records(self) -> Iterator[CdxRecord]:
        api = self._client.api
        self._client.check_collection(self.url)
        seen_keys: set[str] = set()
        cursor: str | None = None
        number = 0
        last_digest: str | None = None
        yielded: set[tuple[str, str, str]] = set()
        previous_page: set[str] = set()
        while True:
            lines, more = self._page(cursor)
            last_timestamp: str | None = None
            fresh = 0  # lines not read on the page before
            for line in lines:
                if api.pages_overlap and line in previous_page:
                    continue  # pywb: the rows at the timestamp this page starts from, again
                number += 1
                if not line.strip():
                    continue
                fresh += 1
                try:
                    record = api.parse_line(line)
                except ValueError as err:
                    self.bad_lines.append((number, line, str(err)))
                    log.warning("CDX listing of %s: line %d skipped: %s", self.url, number, err)
                    continue
                last_timestamp = record.timestamp
                key = (record.timestamp, record.original, record.digest)
                if record.digest == last_digest or key in yielded:
                    continue  # collapse=digest across a page boundary; overlapping pages
                last_digest = record.digest
                yielded.add(key)
                yield record
            if api.pages_overlap:
                # pywb: no resume key, and a server's `query_limit` may cut a
                # page shorter than asked, so a short page does not prove the
                # end: ask from the last timestamp read until a page brings
                # nothing new
                if fresh == 0:
                    if more:
                        self._stop(
                            f"a full page of {self.page_size} rows from {cursor} brought "
                            "nothing new (more captures than that in one second?)"
                        )
                    return
                # no line read (all bad)? the same page again ends the listing
                cursor, previous_page = last_timestamp or cursor, set(lines)
                continue
            if more is None:
                return
            if more in seen_keys:
                self._stop(f"the archive repeated resume key {more!r}")
                return
            seen_keys.add(more)
            cursor = more

    def _stop(self, why: str) -> None:
        self.incomplete = why
        log.warning("CDX listing of %s stopped: %s", self.url, why)

    def _page(self, cursor: str | None) -> tuple[list[str], str | bool | None]:
        client = self._client
        request_url = self.query_url(cursor)
        fetched = client._http.get(
            request_url,
            what=f"CDX listing of {self.url}:",
            limiter=client.cdx_limiter,
            subject=self.url,
        )
        self.pages += 1
        text = fetched.body.decode("utf-8", errors="replace")
        if fetched.status != 200:
            raise CdxParseError(
                f"CDX listing of {self.url}: HTTP {fetched.status} from {request_url}: "
                f"{_snippet(text)}",
                self.url,
                status=fetched.status,
            )
        if not text.strip():
            return [], None  # what the archive answers when it holds nothing
        if _looks_like_html(fetched.content_type, text):
            raise CdxParseError(
                f"CDX listing of {self.url}: got an HTML page, not CDX lines, from "
                f"{request_url}: {_snippet(text)}",
                self.url,
                status=fetched.status,
            )
        if fetched.truncated:
            raise CdxParseError(
                f"CDX listing of {self.url}: page over the {client.max_bytes}-byte cap "
                f"from {request_url}; use a smaller page_size",
                self.url,
                status=fetched.status,
            )
        return client.api.split_page(text, self.page_size)


def _snippet(text: str, size: int = 200) -> str:
    flat = " ".join(text.split())
    return repr(flat[:size] + ("..." if len(flat) > size else ""))


class ArchiveClient:
    """The Wayback archive: CDX listings and raw (`id_`) replay.

    `api` says which layout the archive at `base_url` has: the Internet
    Archive's (`WaybackApi`, the default) or a pywb collection's
    (`PywbApi("coll")`). Every request goes through its limiter
    (`cdx_limiter` for listings and the pywb collection check,
    `replay_limiter` for replay), which may be shared with other clients of
    the same process, and through the same retry policy.
    """

    def __init__(
        self,
        base_url: str = "https://web.archive.org",
        user_agent: str = DEFAULT_USER_AGENT,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        cdx_limiter: RateLimiter | None = None,
        replay_limiter: RateLimiter | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        max_attempts: int = 5,
        backoff: float = 2.0,
        max_backoff: float = 60.0,
        max_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utc_now,
        api: ArchiveApi = WAYBACK,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api = api
        self.user_agent = user_agent
        self.max_bytes = max_bytes
        self._collection_lock = threading.Lock()
        self._collection_checked = False
        self._collection_missing: str | None = None  # the message, once the archive said so
        self.cdx_limiter = cdx_limiter if cdx_limiter is not None else RateLimiter(CDX_PER_SECOND)
        self.replay_limiter = (
            replay_limiter if replay_limiter is not None else RateLimiter(REPLAY_PER_SECOND)
        )
        self._http = _HttpCore(
            user_agent=user_agent,
            timeout=timeout,
            max_bytes=max_bytes,
            proxy=None,
            policy=RetryPolicy(max_attempts, backoff, max_backoff, max_wait),
            sleep=sleep,
            clock=clock,
        )

    @property
    def cdx_endpoint(self) -> str:
        return self.api.cdx_endpoint(self.base_url)

    def check_collection(self, subject: str) -> None:
        """pywb answers a CDX query to a collection it does not have with an
        empty 200, as if the page had no captures: before the first listing,
        ask once for the collection's page, and refuse every listing if it is
        a 404. No-op for the Wayback API. `subject` is the page being listed."""
        api = self.api
        if not isinstance(api, PywbApi):
            return
        page = api.collection_page(self.base_url)
        with self._collection_lock:
            if not self._collection_checked:
                fetched = self._http.get(
                    page, what="pywb collection page", limiter=self.cdx_limiter, subject=subject
                )
                if fetched.status == 404:
                    self._collection_missing = (
                        f"the pywb archive at {self.base_url} has no collection "
                        f"{api.collection!r} (GET {page} answered 404); "
                        "check archive_collection"
                    )
                elif fetched.status != 200:
                    raise CdxParseError(
                        f"pywb collection page {page}: HTTP {fetched.status}: "
                        f"{_snippet(fetched.body.decode('utf-8', errors='replace'))}",
                        subject,
                        status=fetched.status,
                    )
                self._collection_checked = True
            missing = self._collection_missing
        if missing:
            raise CdxParseError(f"CDX listing of {subject}: {missing}", subject, status=404)

    @property
    def policy(self) -> RetryPolicy:
        return self._http.policy

    def list_captures(
        self,
        url: str,
        *,
        from_: str | None = None,
        to: str | None = None,
        page_size: int = 5000,
    ) -> CdxListing:
        """The distinct captures of `url` (status 200, HTML or PDF), oldest first.

        `from_`/`to` are Wayback timestamp prefixes ("2023", "20230115").
        Pages are requested lazily as the listing is iterated; read
        `bad_lines` after iterating.
        """
        return CdxListing(self, url, from_, to, page_size)

    def replay_url(self, record: CdxRecord) -> str:
        """The raw replay URL: the archived bytes, without the archive's toolbar."""
        return f"{self.api.replay_prefix(self.base_url)}/{record.timestamp}id_/{record.original}"

    def archive_url(self, record: CdxRecord) -> str:
        """The human playback URL of a capture."""
        return f"{self.api.replay_prefix(self.base_url)}/{record.timestamp}/{record.original}"

    def fetch_capture(self, record: CdxRecord) -> Fetched:
        """Download one capture's archived bytes through `id_` replay.

        Redirects are followed and `final_url` says where the bytes came from
        (pywb names the capture it served in Content-Location, which
        `final_url` then follows). The first answer on the way that carries
        Memento-Datetime is the capture the archive served: when it is not the
        listed one (Wayback's redirect to the nearest timestamp, pywb's
        nearest capture served in place), `OtherCaptureServed` is raised and
        nothing is returned. A redirect that keeps the timestamp (another
        spelling of the URL, a login page) is followed as before. The status
        and content type are the archived ones; an archived 4xx/5xx (it
        carries Memento-Datetime) is data, not a refusal.
        """
        fetched = self._http.get(
            self.replay_url(record),
            what="replay of",
            limiter=self.replay_limiter,
            captured_at=record.captured_at,
            archived_answers=True,
        )
        served = fetched.header("content-location")
        if served and fetched.header("memento-datetime"):
            fetched = replace(fetched, final_url=urljoin(fetched.final_url, served))
        served_at = _http_datetime(fetched.first_memento)
        if served_at is not None and served_at != record.captured_at:
            raise OtherCaptureServed(
                f"the archive served its capture of {_iso(served_at)} ({fetched.final_url}) "
                f"for the one listed at {_iso(record.captured_at)}; not stored under that time",
                self.replay_url(record),
                captured_at=record.captured_at,
                served_at=served_at,
            )
        return fetched

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ArchiveClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
