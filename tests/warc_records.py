"""Writing the WARC records the tests feed to clausetrail (warcio)."""

from __future__ import annotations

from io import BytesIO

from warcio.statusandheaders import StatusAndHeaders


def write_response(writer, url, when, body, *, headers=(), status="200 OK"):  # type: ignore[no-untyped-def]
    """A response record of `url` at `when` (HTML unless `headers` say more); returns it."""
    http = StatusAndHeaders(
        status, [("Content-Type", "text/html; charset=utf-8"), *headers], protocol="HTTP/1.1"
    )
    record = writer.create_warc_record(
        url,
        "response",
        payload=BytesIO(body),
        http_headers=http,
        warc_headers_dict={"WARC-Date": when},
    )
    writer.write_record(record)
    return record


def write_revisit(writer, url, digest, when, refers_to="2024-01-05T10:00:00Z"):  # type: ignore[no-untyped-def]
    """A revisit record of `url` at `when`, naming the payload `digest`."""
    record = writer.create_revisit_record(
        url, digest, url, refers_to, warc_headers_dict={"WARC-Date": when}
    )
    writer.write_record(record)
