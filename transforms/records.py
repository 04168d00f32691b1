"""Frozen records shared by every layer.

Timestamps are aware UTC datetimes. Hashes are lowercase hex SHA-256 of the
canonical bytes named in each field's comment.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime


def sha256_hex(data: bytes | str) -> str:
    """SHA-256 of bytes, or of a string encoded as UTF-8."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class DocumentSpec:
    """One tracked document as the registry declares it."""

    platform: str  # platform slug, e.g. "anthropic"
    platform_name: str  # display name, e.g. "Anthropic"
    slug: str  # document slug, unique within the platform
    name: str  # display name
    terms_type: str  # an Open Terms Archive terms type
    urls: tuple[str, ...]  # one or more pages, concatenated in this order
    select: tuple[str, ...] = ()  # CSS selectors of the content to keep
    remove: tuple[str, ...] = ()  # CSS selectors of the content to drop

    @property
    def key(self) -> str:
        return f"{self.platform}/{self.slug}"


@dataclass(frozen=True, slots=True)
class CdxRecord:
    """One line of a Wayback CDX listing."""

    urlkey: str
    timestamp: str  # 14 digits, YYYYMMDDhhmmss, UTC
    captured_at: datetime
    original: str
    mimetype: str
    statuscode: int | None
    digest: str  # base32 SHA-1 of the archived body
    length: int | None


@dataclass(frozen=True, slots=True)
class Extraction:
    """The result of turning one capture's bytes into text.

    status is one of:
      ok           text holds the normalised Markdown of the page
      empty        the page parsed but held no main text
      unsupported  a format we keep but do not read (reason says which)
      not_document the bytes are an error page, a wall or a shell, not the
                   document (reason says which rule matched)
      undecodable  the bytes could not be decoded as text
      extractor_error  the extractor itself broke on this page (reason holds
                   the error): recorded so that the run goes on; a new
                   extractor version reads the page again
    """

    status: str
    text: str = ""
    reason: str | None = None
    title: str | None = None
    language: str | None = None

    @property
    def is_ok(self) -> bool:
        return self.status == "ok"

    @property
    def text_sha256(self) -> str | None:
        return sha256_hex(self.text) if self.is_ok else None


@dataclass(frozen=True, slots=True)
class Observation:
    """One point on a document's timeline: the text it showed at a time."""

    observed_at: datetime
    text_sha256: str
    capture_ids: tuple[str, ...]  # the captures whose texts make this observation


@dataclass(frozen=True, slots=True)
class Version:
    """A run of consecutive observations with the same text."""

    document_id: str
    version_id: str
    text_sha256: str
    valid_from: datetime  # first observation of this text in this run
    valid_to: datetime | None  # first observation of the next text; None while current
    last_seen_at: datetime  # last observation of this text in this run
    capture_ids: tuple[str, ...] = field(default=())
    stated_date: date | None = None  # the document's own "last updated" date
