"""A local stand-in for the Wayback Machine and the live web, on 127.0.0.1.

One threaded HTTP server answers three kinds of request:

* ``GET /cdx/search/cdx`` - the CDX listing, with the parameters the real
  archive and waybackpy 3.0.6 use (``url``, ``matchType``, ``from``/``to``,
  repeated ``filter``, ``collapse``, ``limit``, ``showResumeKey``/
  ``resumeKey``, ``fl``, ``output=json``, ``sort``, ``offset``);
* ``GET /web/{timestamp}id_/{url}`` - raw replay of an archived capture, with
  a 302 to the nearest capture when the timestamp is not exact, and the
  human playback form ``/web/{timestamp}/{url}``;
* live pages, fetched through the same server used as an HTTP proxy
  (absolute-form request line), or at ``/live/{host}/{path}``.

Faults (an HTTP status, a connection reset, a hang, a truncated body, a
redirect, a replaced body) can be queued per kind of request, so clients can
be tested against what the real archive does on a bad day.

With ``api="pywb"`` the same captures are served as one pywb collection
instead, the way pywb 2.10 answers (checked against a real pywb 2.10.0
serving a collection built with ``wb-manager``, and against its
``docs/manual/cdxserver_api.rst`` and ``pywb/warcserver/index/query.py``,
``cdxops.py``, ``cdxobject.py``, ``pywb/apps/frontendapp.py``):

* ``GET /{coll}/cdx`` - the CDX server API: ``url`` (required: a 400 with a
  JSON ``message`` without it), ``matchType`` and the ``*`` shortcuts,
  ``from``/``to`` (padded, inclusive), repeated ``filter`` in pywb's syntax
  (``[!][=|~]field:expr``: substring by default, ``=`` exact, ``~``
  ``re.match``; ``statuscode``/``mimetype``/``original`` stand for
  ``status``/``mime``/``url``), ``fl``, ``limit`` (default 100000),
  ``sort=reverse``, ``resolveRevisits``, and ``output`` ``cdxj`` (the
  default), ``json`` (one JSON object per line) or ``text``. Parameters pywb
  does not know (``collapse``, ``showResumeKey``, ``resumeKey``) are
  ignored without an error, as pywb ignores them. A URL without captures,
  and a collection that does not exist, answer 200 with an empty body.
  ``page_size`` acts as pywb's ``query_limit``: it replaces the client's
  ``limit``. There is no fuzzy matching (as with ``allowFuzzy=false``).
* ``GET /{coll}/{timestamp}id_/{url}`` - replay; a timestamp it does not
  hold serves the nearest capture at once (no redirect) with that
  capture's ``Memento-Datetime`` and a ``Content-Location`` naming it; a URL
  it does not hold is a 404 page without ``Memento-Datetime``.
* ``GET /{coll}/`` - the collection's page: 200, or 404 for another name.

A capture may be a revisit record (``revisit=True``): the CDX row has mime
``warc/revisit`` and no status (with ``resolveRevisits=true`` pywb gives it
the mime of the earlier capture with the same digest), and replay serves its
body, the payload it repeats.

Standard library only; no Prefect. Used by the tests and by offline demos.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import contextlib
import hashlib
import json
import re
import socket
import struct
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "CDX_FIELDS",
    "ArchivedCapture",
    "Fault",
    "LivePage",
    "LocalArchive",
    "RequestRecord",
    "surt_key",
]

CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
FAULT_KINDS = ("status", "reset", "hang", "truncate", "redirect", "body")
REQUEST_KINDS = ("cdx", "replay", "live", "collection")
ARCHIVE_APIS = ("wayback", "pywb")
# pywb: the fields of a CDXJ index line in the order pywb writes them, and the
# names a filter may use for them (CDXObject.CDX_ALT_FIELDS)
PYWB_FIELDS = ("urlkey", "timestamp", "url", "mime", "status", "digest", "length", "offset")
PYWB_ALT_FIELDS = {"original": "url", "statuscode": "status", "mimetype": "mime"}
PYWB_DEFAULT_LIMIT = 100000

_TIMESTAMP = re.compile(r"^\d{14}$")
_REPLAY_PATH = re.compile(r"^/web/(\d{1,14})([a-z]{2}_)?/(.+)$", re.DOTALL)
_PYWB_REPLAY_PATH = re.compile(r"^/([^/?]+)/(\d{1,14})([a-z]{2}_)?/(.+)$", re.DOTALL)
_FILTER = re.compile(r"^(!?)([a-z]+):(.*)$", re.DOTALL)
_COLLAPSE = re.compile(r"^([a-z]+)(?::(\d+))?$")


# --------------------------------------------------------------------------
# records


@dataclass(frozen=True, slots=True)
class ArchivedCapture:
    """One capture held by the archive: the bytes it replays and its CDX line."""

    url: str  # original URL, e.g. "http://lumen.example/legal/privacy"
    timestamp: str  # 14 digits UTC, "20220314093000"
    body: bytes
    status: int = 200  # the archived HTTP status
    mimetype: str = "text/html"
    content_type: str | None = None  # header sent on replay; see header_content_type
    revisit: bool = False  # a revisit record: `body` is the payload it repeats

    def __post_init__(self) -> None:
        if not _TIMESTAMP.match(self.timestamp):
            raise ValueError(
                f"capture of {self.url}: timestamp {self.timestamp!r} is not 14 digits"
            )

    @property
    def digest(self) -> str:
        """The Wayback digest: base32 of the SHA-1 of the body."""
        return base64.b32encode(hashlib.sha1(self.body).digest()).decode("ascii")

    @property
    def header_content_type(self) -> str:
        """The Content-Type sent when the capture is replayed."""
        if self.content_type is not None:
            return self.content_type
        if self.mimetype.startswith("text/"):
            return f"{self.mimetype}; charset=utf-8"
        return self.mimetype

    @property
    def urlkey(self) -> str:
        return surt_key(self.url)

    @property
    def captured_at(self) -> datetime:
        return datetime.strptime(self.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LivePage:
    """What the live web answers for one URL."""

    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted misbehaviour, applied to the next `times` matching requests.

    kind is one of:
      status    answer `status` with `headers` and `body`
      reset     close the connection with a TCP reset, no answer
      hang      read the request, wait `seconds`, close without an answer
      truncate  send the real answer's headers with a Content-Length 100 bytes
                larger than its body, send the body, close
      redirect  answer 302 with Location `location`
      body      answer `status` (200 by default via raw_body) with `body`
                instead of the real one

    times=0 applies the fault to every matching request until the faults are
    cleared (an archive that keeps refusing).
    """

    kind: str
    status: int = 503
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    times: int = 1
    seconds: float = 0.0
    location: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.times < 0:
            raise ValueError("times must be >= 0")
        if self.kind == "redirect" and not self.location:
            raise ValueError("a redirect fault needs a location")

    @classmethod
    def http(
        cls, status: int, retry_after: int | float | str | None = None, times: int = 1
    ) -> Fault:
        headers = () if retry_after is None else (("Retry-After", str(retry_after)),)
        body = f"{status} error from the local archive\n".encode()
        return cls("status", status=status, headers=headers, body=body, times=times)

    @classmethod
    def reset(cls, times: int = 1) -> Fault:
        return cls("reset", status=0, times=times)

    @classmethod
    def hang(cls, seconds: float, times: int = 1) -> Fault:
        return cls("hang", status=0, seconds=seconds, times=times)

    @classmethod
    def truncated(cls, times: int = 1) -> Fault:
        return cls("truncate", times=times)

    @classmethod
    def redirect(cls, location: str, times: int = 1) -> Fault:
        return cls("redirect", status=302, location=location, times=times)

    @classmethod
    def raw_body(
        cls,
        body: bytes,
        status: int = 200,
        content_type: str | None = None,
        times: int = 1,
    ) -> Fault:
        headers = () if content_type is None else (("Content-Type", content_type),)
        return cls("body", status=status, headers=headers, body=body, times=times)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the server received, as logged."""

    kind: str  # "cdx" | "replay" | "live" | "other"
    method: str
    path: str  # path + query as received (the absolute URL for proxy requests)
    status: int  # status sent (0 for reset/hang)


@dataclass(slots=True)
class _QueuedFault:
    kind: str
    match: str
    fault: Fault
    remaining: int  # 0 = unlimited


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class _BadRequest(Exception):
    """A CDX or replay request the archive refuses with a 400."""


class _PywbError(Exception):
    """pywb's answer to a bad CDX query: a status and a JSON `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------
# URL keys and timestamps


def surt_key(url: str) -> str:
    """The SURT-style urlkey the archive sorts by: "example,lumen)/legal/privacy".

    Scheme and a leading "www." are dropped, the host is reversed, a default
    port is dropped, query arguments are sorted, and the key is lower-cased,
    as the Internet Archive's canonicaliser does.
    """
    raw = url.strip()
    if "://" not in raw:
        raw = "http://" + raw
    parts = urlsplit(raw)
    host = (parts.hostname or "").rstrip(".").lower()
    host = re.sub(r"^www\d*\.", "", host)
    key = ",".join(reversed(host.split(".")))
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and (parts.scheme, port) not in (("http", 80), ("https", 443)):
        key += f":{port}"
    path = parts.path or "/"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return (key + ")" + path + ("?" + query if query else "")).lower()


def _ts_datetime(timestamp: str) -> datetime:
    """A possibly partial Wayback timestamp as an aware UTC datetime (start of the period)."""
    digits = timestamp.ljust(14, "0")
    year, month, day = int(digits[0:4]), int(digits[4:6]), int(digits[6:8])
    month = min(max(month, 1), 12)
    day = min(max(day, 1), calendar.monthrange(year, month)[1])
    hour, minute, second = (
        min(int(digits[i : i + 2]), lim) for i, lim in ((8, 23), (10, 59), (12, 59))
    )
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


# --------------------------------------------------------------------------
# the archive


class LocalArchive:
    """A Wayback-compatible archive and a tiny live web, served on 127.0.0.1.

    Use as a context manager, or call start() and stop()::

        with LocalArchive(captures) as archive:
            requests.get(f"{archive.base_url}/cdx/search/cdx", params={"url": ...})

    page_size > 0 caps every CDX answer at that many lines; with
    showResumeKey=true the answer ends with a blank line and a resume key.

    api="pywb" serves the captures as the pywb collection `collection`
    instead (CDX at `/{collection}{cdx_api_endpoint}`, replay at
    `/{collection}/{timestamp}id_/{url}`; see the module docstring).
    """

    def __init__(
        self,
        captures: Iterable[ArchivedCapture] = (),
        live: Mapping[str, LivePage] | None = None,
        *,
        page_size: int = 0,
        api: str = "wayback",
        collection: str = "local",
        cdx_api_endpoint: str = "/cdx",
    ) -> None:
        if api not in ARCHIVE_APIS:
            raise ValueError(f"unknown archive api {api!r}; expected one of {ARCHIVE_APIS}")
        if not re.match(r"^\w[-\w]*$", collection):
            raise ValueError(f"not a pywb collection name: {collection!r}")
        self.api = api
        self.collection = collection
        self.cdx_api_endpoint = cdx_api_endpoint
        self.page_size = page_size
        self.requests: list[RequestRecord] = []
        self.server_errors: list[str] = []  # unexpected handler exceptions, for debugging
        self._lock = threading.RLock()
        self._captures: list[tuple[int, ArchivedCapture, str]] = []  # (seq, capture, urlkey)
        self._seq = 0
        self._live: dict[str, LivePage] = {}
        self._faults: list[_QueuedFault] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        for capture in captures:
            self.add_capture(capture)
        for url, page in (live or {}).items():
            self.set_live(url, page)

    # -- lifecycle --------------------------------------------------------

    def start(self) -> LocalArchive:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.archive = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"local-archive-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a "hang" fault
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
            handlers = list(self._handler_threads)
        for conn in connections:  # wakes handlers waiting on idle keep-alive sockets
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        for handler in handlers:
            handler.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> LocalArchive:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the local archive is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def proxy_url(self) -> str:
        return self.base_url

    @property
    def cdx_url(self) -> str:
        if self.api == "pywb":
            return f"{self.base_url}/{self.collection}{self.cdx_api_endpoint}"
        return f"{self.base_url}/cdx/search/cdx"

    def replay_url(self, timestamp: str, url: str, mode: str = "id_") -> str:
        prefix = self.collection if self.api == "pywb" else "web"
        return f"{self.base_url}/{prefix}/{timestamp}{mode}/{url}"

    # -- content ------------------------------------------------------------

    def add_capture(self, c: ArchivedCapture) -> None:
        with self._lock:
            self._captures.append((self._seq, c, surt_key(c.url)))
            self._seq += 1

    @property
    def captures(self) -> tuple[ArchivedCapture, ...]:
        with self._lock:
            return tuple(c for _, c, _ in self._captures)

    def set_live(self, url: str, page: LivePage | None) -> None:
        with self._lock:
            if page is None:
                self._live.pop(surt_key(url), None)
            else:
                self._live[surt_key(url)] = page

    def add_fault(self, kind: str, fault: Fault, *, match: str = "") -> None:
        if kind not in REQUEST_KINDS:
            raise ValueError(f"unknown request kind {kind!r}; expected one of {REQUEST_KINDS}")
        with self._lock:
            self._faults.append(_QueuedFault(kind, match, fault, fault.times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def requests_of(self, kind: str) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self.requests if r.kind == kind]

    # -- used by the handler --------------------------------------------------

    def _log(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    def _take_fault(self, kind: str, target: str) -> Fault | None:
        decoded = unquote(target)
        with self._lock:
            for queued in self._faults:
                if queued.kind != kind:
                    continue
                if queued.match and queued.match not in target and queued.match not in decoded:
                    continue
                if queued.remaining > 0:
                    queued.remaining -= 1
                    if queued.remaining == 0:
                        self._faults.remove(queued)
                return queued.fault
        return None

    def _cdx_answer(self, query: str) -> _Answer:
        pairs = parse_qsl(query, keep_blank_values=True)
        params = {k: v for k, v in reversed(pairs)}  # first value wins
        filters = [v for k, v in pairs if k == "filter"]
        collapses = [v for k, v in pairs if k == "collapse"]
        url = params.get("url", "").strip()
        if not url:
            raise _BadRequest("missing url parameter")

        match_type = params.get("matchType", "exact") or "exact"
        if url.endswith("*"):
            url, match_type = url.rstrip("*"), "prefix"
        if url.startswith("*."):
            url, match_type = url[2:], "domain"
        key = surt_key(url)
        host_key = key.split(")", 1)[0]
        if match_type == "exact":
            selected = lambda urlkey: urlkey == key  # noqa: E731
        elif match_type == "prefix":
            selected = lambda urlkey: urlkey.startswith(key)  # noqa: E731
        elif match_type == "host":
            selected = lambda urlkey: urlkey.split(")", 1)[0] == host_key  # noqa: E731
        elif match_type == "domain":
            selected = lambda urlkey: (  # noqa: E731
                urlkey.split(")", 1)[0] == host_key
                or urlkey.split(")", 1)[0].startswith(host_key + ",")
            )
        else:
            raise _BadRequest(f"unknown matchType {match_type!r}")

        low = params.get("from", "").ljust(14, "0")
        high = params.get("to", "").ljust(14, "9") if params.get("to") else "9" * 14
        with self._lock:
            rows = [
                (seq, c, urlkey)
                for seq, c, urlkey in self._captures
                if selected(urlkey) and low <= c.timestamp <= high
            ]
        rows.sort(key=lambda r: (r[2], r[1].timestamp, r[0]))

        sort = params.get("sort", "default")
        if sort == "reverse":
            rows.reverse()
        elif sort == "closest" and params.get("closest"):
            target = _ts_datetime(params["closest"])
            rows.sort(
                key=lambda r: (abs((r[1].captured_at - target).total_seconds()), r[1].timestamp)
            )

        for spec in filters:
            rows = _apply_filter(rows, spec)
        for spec in collapses:
            rows = _apply_collapse(rows, spec)

        if params.get("resumeKey"):
            rows = _after_resume_key(rows, params["resumeKey"])
        offset = _int_param(params, "offset")
        if offset:
            rows = rows[offset:]

        limit = _int_param(params, "limit")
        if limit is not None and limit < 0:
            rows = rows[limit:]  # the real archive: a negative limit gives the last rows
            limit = None
        caps = [n for n in (limit, self.page_size or None) if n is not None]
        size = min(caps) if caps else len(rows)
        page, more = rows[:size], len(rows) > size
        show_key = params.get("showResumeKey", "").lower() == "true"
        resume_key = _resume_key(page[-1]) if (show_key and more and page) else None

        fields = (
            tuple(f.strip() for f in params["fl"].split(",")) if params.get("fl") else CDX_FIELDS
        )
        for name in fields:
            if name not in CDX_FIELDS:
                raise _BadRequest(f"unknown field {name!r} in fl")
        values = [[_field(c, urlkey, name) for name in fields] for _, c, urlkey in page]

        if params.get("output") == "json":
            table: list[list[str]] = [list(fields), *values] if values else []
            if resume_key:
                table += [[], [resume_key]]
            body = json.dumps(table).encode()
            return _Answer(200, (("Content-Type", "application/json"),), body)
        text = "".join(" ".join(v) + "\n" for v in values)
        if resume_key:
            text += "\n" + resume_key + "\n"
        return _Answer(200, (("Content-Type", "text/plain"),), text.encode())

    def _replay_answer(self, path: str, base_url: str) -> _Answer:
        match = _REPLAY_PATH.match(path)
        if match is None:
            raise _BadRequest(f"not a replay path: {path}")
        timestamp, mode, url = match.group(1), match.group(2) or "", match.group(3)
        if re.match(r"^https?%3A", url, re.IGNORECASE):
            url = unquote(url)
        url = re.sub(r"^(https?):/(?!/)", r"\1://", url)  # some clients squash "//"
        key = surt_key(url)
        with self._lock:
            candidates = [(seq, c) for seq, c, urlkey in self._captures if urlkey == key]
        if not candidates:
            body = f"<html><body><h1>Not in archive</h1><p>{url}</p></body></html>".encode()
            return _Answer(404, (("Content-Type", "text/html; charset=utf-8"),), body)

        exact = [c for _, c in candidates if c.timestamp == timestamp]
        if not exact:
            target = _ts_datetime(timestamp)
            nearest = min(
                (c for _, c in candidates),
                key=lambda c: (abs((c.captured_at - target).total_seconds()), c.timestamp),
            )
            location = f"{base_url}/web/{nearest.timestamp}{mode}/{nearest.url}"
            return _Answer(302, (("Location", location), ("Content-Type", "text/plain")), b"")

        capture = exact[0]
        return _memento_answer(
            capture,
            f'<{base_url}/web/timemap/link/{capture.url}>; rel="timemap"; '
            'type="application/link-format", ',
            f"{base_url}/web/{capture.timestamp}{mode}/{capture.url}",
            ("X-Archive-Src", f"local-archive/{capture.timestamp}.warc.gz"),
            ("X-Archive-Orig-Content-Length", str(len(capture.body))),
        )

    # -- the pywb flavour ------------------------------------------------------

    def _pywb_cdx_answer(self, collection: str, query: str) -> _Answer:
        """pywb's CDX server API (`/{coll}/cdx`), in pywb's order of operations
        (cdxops.process_cdx): resolve revisits, filter, clamp to from/to, limit."""
        pairs = parse_qsl(query, keep_blank_values=True)
        params = dict(pairs)  # pywb's query_to_dict: the last value wins
        filters = [v for k, v in pairs if k == "filter"]
        output = params.get("output", "cdxj")
        if output not in ("cdxj", "json", "text"):
            raise _PywbError(400, f"output={output} not supported")
        url = params.get("url", "")
        if not url:
            raise _PywbError(400, 'The "url" param is required')
        try:
            limit = int(params.get("limit", PYWB_DEFAULT_LIMIT))
        except ValueError as err:
            raise _PywbError(500, f"Internal Error: {err}") from None
        if self.page_size > 0:
            limit = self.page_size  # query_limit is appended to the query: it wins
        match_type = params.get("matchType") or ""
        if not match_type:
            if url.startswith("*."):
                url, match_type = url[2:], "domain"
            elif url.endswith("*"):
                url, match_type = url[:-1], "prefix"
            else:
                match_type = "exact"
        key = surt_key(url)
        host_key = key.split(")", 1)[0]
        selected = {
            "exact": lambda urlkey: urlkey == key,
            "prefix": lambda urlkey: urlkey.startswith(key),
            "host": lambda urlkey: urlkey.split(")", 1)[0] == host_key,
            "domain": lambda urlkey: (
                urlkey.split(")", 1)[0] == host_key
                or urlkey.split(")", 1)[0].startswith(host_key + ",")
            ),
        }.get(match_type)
        if selected is None:
            raise _PywbError(400, f"Invalid match_type: {match_type}")

        with self._lock:
            held = [
                (seq, c, urlkey)
                for seq, c, urlkey in self._captures
                if collection == self.collection and selected(urlkey)
            ]
        held.sort(key=lambda r: (r[2], r[1].timestamp, r[0]))
        rows = [_pywb_row(c, urlkey, seq, collection) for seq, c, urlkey in held]
        if params.get("resolveRevisits", "").lower() in ("true", "1"):
            rows = _pywb_resolve_revisits(rows)
        rows = [{**row, "access": "allow"} for row in rows]  # pywb's access check, last
        try:
            checks = [_pywb_filter(spec) for spec in filters]
        except re.error as err:
            raise _PywbError(500, f"Internal Error: {err}") from None
        rows = [row for row in rows if all(check(row) for check in checks)]
        low = params.get("from", "")
        high = params.get("to", "")
        low = low.ljust(14, "0") if low else ""
        high = high.ljust(14, "9") if high else ""
        rows = [
            row
            for row in rows
            if (not low or row["timestamp"] >= low) and (not high or row["timestamp"] <= high)
        ]
        if params.get("sort") == "reverse" or params.get("reverse", "").lower() in ("true", "1"):
            rows = list(reversed(rows))[: max(limit, 0)]
        else:
            rows = rows[: max(limit, 0)]  # zip(rows, range(limit)): nothing when limit <= 0

        fields = params.get("fl") or params.get("fields")
        names = fields.split(",") if fields else None
        if output == "json":
            lines = [json.dumps(_pywb_pick(row, names)) + "\n" for row in rows]
            content_type = "text/x-ndjson"
        elif output == "text":
            picked = (names or list(rows[0])) if rows else []
            lines = [" ".join(str(row.get(n, "-")) for n in picked) + "\n" for row in rows]
            content_type = "text/plain"
        else:
            lines = [
                f"{row['urlkey']} {row['timestamp']} "
                + json.dumps(_pywb_pick(row, names, skip=("urlkey", "timestamp")))
                + "\n"
                for row in rows
            ]
            content_type = "text/x-cdxj"
        return _Answer(200, (("Content-Type", content_type),), "".join(lines).encode())

    def _pywb_replay_answer(self, path: str, base_url: str) -> _Answer:
        match = _PYWB_REPLAY_PATH.match(path)
        not_found = _Answer(
            404,
            (("Content-Type", "text/html"),),
            b"<!DOCTYPE html><html><head><title>URL Not Found</title></head>"
            b"<body><h4>URL Not Found</h4></body></html>",
        )
        if match is None or match.group(1) != self.collection:
            return not_found
        timestamp, mode, url = match.group(2), match.group(3) or "", match.group(4)
        url = re.sub(r"^(https?):/(?!/)", r"\1://", url)
        key = surt_key(url)
        with self._lock:
            candidates = [c for _, c, urlkey in self._captures if urlkey == key]
        if not candidates:
            return not_found
        target = _ts_datetime(timestamp)
        served = min(
            candidates,
            key=lambda c: (abs((c.captured_at - target).total_seconds()), c.timestamp),
        )
        prefix = f"{base_url}/{self.collection}"
        return _memento_answer(
            served,
            f'<{prefix}/{served.url}>; rel="timegate", '
            f'<{prefix}/timemap/link/{served.url}>; rel="timemap"; '
            'type="application/link-format", ',
            f"{prefix}/{served.timestamp}mp_/{served.url}",
            ("Content-Location", f"{prefix}/{served.timestamp}{mode}/{served.url}"),
        )

    def _pywb_collection_page(self, collection: str) -> _Answer:
        if collection != self.collection:
            body = b"<!DOCTYPE html><html><body><h4>Collection not found</h4></body></html>"
            return _Answer(404, (("Content-Type", "text/html"),), body)
        body = f"<!DOCTYPE html><html><body><h2>{collection}</h2></body></html>".encode()
        return _Answer(200, (("Content-Type", 'text/html; charset="utf-8"'),), body)

    def _live_answer(self, url: str) -> _Answer:
        with self._lock:
            page = self._live.get(surt_key(url))
        if page is None:
            body = b"<html><body><h1>404 Not Found</h1></body></html>"
            return _Answer(404, (("Content-Type", "text/html; charset=utf-8"),), body)
        return _Answer(page.status, (("Content-Type", page.content_type),), page.body)


def _memento_answer(
    capture: ArchivedCapture, links: str, memento_url: str, *extra: tuple[str, str]
) -> _Answer:
    """A capture replayed: its archived status, type and bytes, with Memento headers
    (`links` are the Link entries between rel="original" and rel="memento")."""
    memento = _http_date(capture.captured_at)
    link = (
        f'<{capture.url}>; rel="original", {links}'
        f'<{memento_url}>; rel="memento"; datetime="{memento}"'
    )
    headers = (
        ("Content-Type", capture.header_content_type),
        ("Memento-Datetime", memento),
        ("Link", link),
        *extra,
    )
    return _Answer(capture.status, headers, capture.body)


# --------------------------------------------------------------------------
# CDX helpers


def _int_param(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError as err:
        raise _BadRequest(f"{name} must be an integer, got {raw!r}") from err


def _field(capture: ArchivedCapture, urlkey: str, name: str) -> str:
    if name == "urlkey":
        return urlkey
    if name == "timestamp":
        return capture.timestamp
    if name == "original":
        return capture.url
    if name == "mimetype":
        return "warc/revisit" if capture.revisit else capture.mimetype
    if name == "statuscode":
        return "-" if capture.revisit else str(capture.status)
    if name == "digest":
        return capture.digest
    if name == "length":
        return str(len(capture.body))
    raise _BadRequest(f"unknown field {name!r}")


def _apply_filter(rows: list, spec: str) -> list:
    match = _FILTER.match(spec)
    if match is None or match.group(2) not in CDX_FIELDS:
        raise _BadRequest(f"bad filter {spec!r}; expected [!]field:regex")
    negate, name, pattern = match.group(1) == "!", match.group(2), match.group(3)
    try:
        regex = re.compile(pattern)
    except re.error as err:
        raise _BadRequest(f"bad regex in filter {spec!r}: {err}") from err
    # The Internet Archive's CDX server matches the whole field (Java matches()).
    return [r for r in rows if (regex.fullmatch(_field(r[1], r[2], name)) is not None) != negate]


def _apply_collapse(rows: list, spec: str) -> list:
    match = _COLLAPSE.match(spec)
    if match is None or match.group(1) not in CDX_FIELDS:
        raise _BadRequest(f"bad collapse {spec!r}; expected field or field:N")
    name, width = match.group(1), int(match.group(2)) if match.group(2) else None
    kept, previous = [], None
    for row in rows:
        value = _field(row[1], row[2], name)
        value = value[:width] if width is not None else value
        if value != previous:
            kept.append(row)
        previous = value
    return kept


def _pywb_row(
    capture: ArchivedCapture, urlkey: str, seq: int, collection: str
) -> dict[str, str]:
    """A capture as pywb's index holds it; a revisit has no status."""
    row = {
        "urlkey": urlkey,
        "timestamp": capture.timestamp,
        "url": capture.url,
        "mime": "warc/revisit" if capture.revisit else capture.mimetype,
        "status": str(capture.status),
        "digest": capture.digest,
        "length": str(len(capture.body)),
        "offset": str(seq),
        "filename": "local-archive.warc.gz",
        "source": f"{collection}/indexes/index.cdxj",
        "source-coll": collection,
    }
    if capture.revisit:
        del row["status"]
    return row


def _pywb_resolve_revisits(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """cdxops.cdx_resolve_revisits: a revisit takes the mime (and status, when
    it has that field) of the earlier capture with its digest; every row gets
    orig.length, orig.offset and orig.filename ('-' when there is no original)."""
    originals: dict[str, dict[str, str]] = {}
    resolved = []
    for row in rows:
        row = dict(row)
        is_revisit = row.get("mime") == "warc/revisit"
        original = originals.get(row["digest"])
        if original is None and not is_revisit:
            originals[row["digest"]] = row
        if original is not None and is_revisit:
            row["mime"] = original.get("mime", "")
            if "status" in row:
                row["status"] = original.get("status", "")
            for name in ("length", "offset", "filename"):
                row[f"orig.{name}"] = original.get(name, "-")
        else:
            for name in ("length", "offset", "filename"):
                row[f"orig.{name}"] = "-"
        resolved.append(row)
    return resolved


def _pywb_filter(spec: str):  # type: ignore[no-untyped-def]
    """cdxops.CDXFilter: `[!][=|~]field:expr`, a substring match by default."""
    invert = spec.startswith("!")
    spec = spec[1:] if invert else spec
    mode = spec[:1] if spec[:1] in ("=", "~") else ""
    spec = spec[1:] if mode else spec
    field, _, expr = spec.partition(":") if ":" in spec else ("", "", spec)
    field = PYWB_ALT_FIELDS.get(field, field)
    regex = re.compile(expr) if mode == "~" else None

    def check(row: dict[str, str]) -> bool:
        value = str(row.get(field, "")) if field else json.dumps(row)
        if regex is not None:
            matched = regex.match(value) is not None
        elif mode == "=":
            matched = value == expr
        else:
            matched = expr in value
        return matched != invert

    return check


def _pywb_pick(
    row: dict[str, str], names: list[str] | None, skip: tuple[str, ...] = ()
) -> dict[str, str]:
    """CDXObject.conv_to_json: the fields asked for that the row has, in that order."""
    if names is None:
        return {k: v for k, v in row.items() if k not in skip}
    return {n: row[n] for n in names if n in row and n not in skip}


def _resume_key(row: tuple[int, ArchivedCapture, str]) -> str:
    seq, capture, urlkey = row
    raw = json.dumps([urlkey, capture.timestamp, seq]).encode()
    return "rk-" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _after_resume_key(rows: list, key: str) -> list:
    if not key.startswith("rk-"):
        raise _BadRequest(f"bad resumeKey {key!r}")
    try:
        payload = key[3:]
        urlkey, timestamp, seq = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
    except (ValueError, binascii.Error, TypeError) as err:
        raise _BadRequest(f"bad resumeKey {key!r}") from err
    for index, (row_seq, capture, row_urlkey) in enumerate(rows):
        if row_seq == seq and row_urlkey == urlkey and capture.timestamp == timestamp:
            return rows[index + 1 :]
    mark = (urlkey, timestamp, seq)
    return [r for r in rows if (r[2], r[1].timestamp, r[0]) > mark]


# --------------------------------------------------------------------------
# the HTTP side


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    archive: LocalArchive

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that gave up (timeout, reset) is normal here; keep stderr quiet.
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError | TimeoutError):
            self.archive.server_errors.append(repr(exc))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalArchive/1.0"
    sys_version = ""
    timeout = 30  # idle keep-alive connections
    server: _Server

    # -- plumbing -------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        archive = self.server.archive
        with archive._lock:
            archive._connections.add(self.connection)
            archive._handler_threads.add(threading.current_thread())

    def finish(self) -> None:
        archive = self.server.archive
        with archive._lock:
            archive._connections.discard(self.connection)
            archive._handler_threads.discard(threading.current_thread())
        with contextlib.suppress(OSError):
            super().finish()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    @property
    def _base_url(self) -> str:
        return self.server.archive.base_url

    # -- methods --------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch(head_only=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch(head_only=True)

    def do_POST(self) -> None:  # noqa: N802
        self._refuse(405)

    def do_CONNECT(self) -> None:  # noqa: N802
        self._refuse(501)

    def _refuse(self, status: int) -> None:
        self.server.archive._log(RequestRecord("other", self.command, self.path, status))
        self._send(_Answer(status, (("Content-Type", "text/plain"),), b"not supported\n"), False)
        self.close_connection = True

    def _dispatch(self, head_only: bool) -> None:
        archive = self.server.archive
        path = self.path
        try:
            if path.startswith(("http://", "https://")):
                kind, target = "live", path
                build = lambda: archive._live_answer(path)  # noqa: E731
            elif path.startswith("/live/"):
                kind, target = "live", path
                url = "http://" + path[len("/live/") :]
                build = lambda: archive._live_answer(url)  # noqa: E731
            elif archive.api == "pywb":
                kind, target, build = self._pywb_route(path)
            elif urlsplit(path).path in ("/cdx/search/cdx", "/cdx/search/cdx/"):
                kind, target = "cdx", path
                build = lambda: archive._cdx_answer(urlsplit(path).query)  # noqa: E731
            elif path.startswith("/web/"):
                kind, target = "replay", path
                build = lambda: archive._replay_answer(path, self._base_url)  # noqa: E731
            else:
                answer = _Answer(404, (("Content-Type", "text/plain"),), b"not found\n")
                archive._log(RequestRecord("other", self.command, path, answer.status))
                self._send(answer, head_only)
                return

            fault = archive._take_fault(kind, target)
            if fault is not None and fault.kind != "truncate":
                self._apply_fault(kind, fault, head_only)
                return
            try:
                answer = build()
            except _BadRequest as err:
                answer = _Answer(400, (("Content-Type", "text/plain"),), f"{err}\n".encode())
            except _PywbError as err:
                body = json.dumps({"message": str(err)}).encode()
                answer = _Answer(
                    err.status, (("Content-Type", "application/json; charset=utf-8"),), body
                )
            if fault is not None:  # truncate: the real answer, cut short
                archive._log(RequestRecord(kind, self.command, path, answer.status))
                self._send(answer, False, extra_length=100)
                self.close_connection = True
                return
            archive._log(RequestRecord(kind, self.command, path, answer.status))
            self._send(answer, head_only)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _pywb_route(self, path: str):  # type: ignore[no-untyped-def]
        """(kind, target, build) for a request to the pywb flavour."""
        archive = self.server.archive
        parts = urlsplit(path)
        cdx = re.match(rf"^/(\w[-\w]*?){re.escape(archive.cdx_api_endpoint)}$", parts.path)
        if cdx:
            collection = cdx.group(1)
            return "cdx", path, lambda: archive._pywb_cdx_answer(collection, parts.query)
        page = re.match(r"^/(\w[-\w]*)/$", parts.path)
        if page:
            return "collection", path, lambda: archive._pywb_collection_page(page.group(1))
        return "replay", path, lambda: archive._pywb_replay_answer(path, self._base_url)

    def _apply_fault(self, kind: str, fault: Fault, head_only: bool) -> None:
        archive = self.server.archive
        if fault.kind == "reset":
            archive._log(RequestRecord(kind, self.command, self.path, 0))
            self._reset()
            return
        if fault.kind == "hang":
            archive._log(RequestRecord(kind, self.command, self.path, 0))
            archive._stopping.wait(fault.seconds)
            self.close_connection = True
            return
        if fault.kind == "redirect":
            headers = (("Location", fault.location or "/"), *fault.headers)
            answer = _Answer(302, headers, fault.body)
        else:  # "status" and "body"
            names = {name.lower() for name, _ in fault.headers}
            headers = fault.headers
            if "content-type" not in names:
                default = (
                    "text/plain; charset=utf-8"
                    if kind == "cdx" or fault.kind == "status"
                    else "text/html; charset=utf-8"
                )
                headers = (("Content-Type", default), *headers)
            answer = _Answer(fault.status, headers, fault.body)
        archive._log(RequestRecord(kind, self.command, self.path, answer.status))
        self._send(answer, head_only)

    def _reset(self) -> None:
        """Close with SO_LINGER 0: the peer sees a TCP reset, not an answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()  # drops the makefile reference so close() is real
            self.connection.close()
        except OSError:
            pass

    def _send(self, answer: _Answer, head_only: bool, extra_length: int = 0) -> None:
        self.send_response(answer.status)
        names = {name.lower() for name, _ in answer.headers}
        for name, value in answer.headers:
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body) + extra_length))
        if "connection" not in names and (self.close_connection or extra_length):
            self.send_header("Connection", "close")
        # Headers and body leave in one write: no Nagle / delayed-ACK stall.
        self._headers_buffer.append(b"\r\n")
        if not head_only:
            self._headers_buffer.append(answer.body)
        self.flush_headers()
