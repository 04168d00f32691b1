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
        does, through `id_` replay, and follows the archive's redirect to the
        nearest timestamp.

CDX listings ask for `statuscode:200`, `mimetype:text/html|application/pdf`
(the archive matches the whole field with a regex, so the alternation works)
and `collapse=digest`, which keeps the first row of each run of adjacent
equal digests: A -> B -> A stays three rows. The same rule is applied again
on our side across page boundaries, where the archive's collapse restarts,
and a row already yielded (same timestamp, URL and digest) is not yielded
again when pages overlap.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

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
    "RateLimiter",
    "RetryPolicy",
    "parse_cdx_line",
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
    "last-modified",
    "etag",
    "retry-after",
)
CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
CDX_FILTERS = ("statuscode:200", "mimetype:text/html|application/pdf")
CDX_COLLAPSES = ("digest",)

_TIMESTAMP = re.compile(r"^\d{14}$")
_BASE32_SHA1 = re.compile(r"^[A-Z2-7]{32}$")
_CHUNK = 64 * 1024


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "unknown time"


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
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


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
            return Fetched(
                url=url,
                final_url=response.url,
                status=response.status_code,
                content_type=response.headers.get("Content-Type"),
                body=b"".join(chunks),
                truncated=truncated,
                headers=kept,
                fetched_at=fetched_at,
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
    if not _TIMESTAMP.match(timestamp):
        raise ValueError(f"timestamp {timestamp!r} is not 14 digits")
    try:
        captured_at = datetime.strptime(timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError as err:
        raise ValueError(f"timestamp {timestamp!r} is not a valid date") from err
    return CdxRecord(
        urlkey=urlkey,
        timestamp=timestamp,
        captured_at=captured_at,
        original=original,
        mimetype=mimetype,
        statuscode=_cdx_int(statuscode, "statuscode"),
        digest=digest,
        length=_cdx_int(length, "length"),
    )


def _cdx_int(value: str, name: str) -> int | None:
    if value == "-":
        return None
    if not value.isdigit():
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

    def query_url(self, resume_key: str | None = None) -> str:
        """The CDX request URL for one page (built with waybackpy's helpers)."""
        api = WaybackMachineCDXServerAPI(
            self.url,
            user_agent=self._client.user_agent,
            start_timestamp=self.from_,
            end_timestamp=self.to,
            filters=list(CDX_FILTERS),
            collapses=list(CDX_COLLAPSES),
        )
        payload: dict[str, str] = {}
        api.add_payload(payload)
        payload["showResumeKey"] = "true"
        payload["limit"] = str(self.page_size)
        if resume_key:
            payload["resumeKey"] = resume_key
        return full_url(self._client.cdx_endpoint, payload)

    def __iter__(self) -> Iterator[CdxRecord]:
        if self._started:
            raise RuntimeError(f"the CDX listing of {self.url} has already been iterated")
        self._started = True
        return self._records()

    def _records(self) -> Iterator[CdxRecord]:
        seen_keys: set[str] = set()
        resume_key: str | None = None
        number = 0
        last_digest: str | None = None
        yielded: set[tuple[str, str, str]] = set()
        while True:
            lines, next_key = self._page(resume_key)
            for line in lines:
                number += 1
                if not line.strip():
                    continue
                try:
                    record = parse_cdx_line(line)
                except ValueError as err:
                    self.bad_lines.append((number, line, str(err)))
                    log.warning("CDX listing of %s: line %d skipped: %s", self.url, number, err)
                    continue
                key = (record.timestamp, record.original, record.digest)
                if record.digest == last_digest or key in yielded:
                    continue  # collapse=digest across a page boundary; overlapping pages
                last_digest = record.digest
                yielded.add(key)
                yield record
            if next_key is None:
                return
            if next_key in seen_keys:
                self.incomplete = f"the archive repeated resume key {next_key!r}"
                log.warning("CDX listing of %s stopped: %s", self.url, self.incomplete)
                return
            seen_keys.add(next_key)
            resume_key = next_key

    def _page(self, resume_key: str | None) -> tuple[list[str], str | None]:
        client = self._client
        request_url = self.query_url(resume_key)
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
        return split_cdx_page(text)


def _snippet(text: str, size: int = 200) -> str:
    flat = " ".join(text.split())
    return repr(flat[:size] + ("..." if len(flat) > size else ""))


class ArchiveClient:
    """The Wayback archive: CDX listings and raw (`id_`) replay.

    Every request goes through its limiter (`cdx_limiter` for listings,
    `replay_limiter` for replay), which may be shared with other clients of
    the same process.
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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.user_agent = user_agent
        self.max_bytes = max_bytes
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
        return f"{self.base_url}/cdx/search/cdx"

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
        return f"{self.base_url}/web/{record.timestamp}id_/{record.original}"

    def archive_url(self, record: CdxRecord) -> str:
        """The human playback URL of a capture."""
        return f"{self.base_url}/web/{record.timestamp}/{record.original}"

    def fetch_capture(self, record: CdxRecord) -> Fetched:
        """Download one capture's archived bytes through `id_` replay.

        The archive may redirect to the nearest timestamp; the redirect is
        followed and `final_url` says where the bytes came from. The status
        and content type are the archived ones; an archived 4xx/5xx (it
        carries Memento-Datetime) is data, not a refusal.
        """
        return self._http.get(
            self.replay_url(record),
            what="replay of",
            limiter=self.replay_limiter,
            captured_at=record.captured_at,
            archived_answers=True,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ArchiveClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
