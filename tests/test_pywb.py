"""A pywb collection as the archive: the settings that point at one, the
client's reading of pywb's CDX server API, and the local archive's pywb
flavour, over real HTTP on 127.0.0.1.

The CDX lines quoted here are what a real pywb 2.10.0 (`wayback`, serving a
collection built with `wb-manager init` / `add`) answered; what else it does
is in the docstrings of `flows.client` and `flows.local_archive`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from flows.client import (
    ArchiveClient,
    ArchiveRefused,
    CdxParseError,
    PywbApi,
    RateLimiter,
    parse_pywb_line,
)
from flows.local_archive import ArchivedCapture, Fault, LocalArchive
from flows.settings import Settings, SettingsError

PAGE = "https://pol.example/privacy"
COLL = "policies"


def html(text: str) -> bytes:
    return f"<html><body><main><p>{text}</p></main></body></html>".encode()


A, B, C = html("version A"), html("version B"), html("version C")

CAPTURES = (
    ArchivedCapture(PAGE, "20210105100000", A),
    ArchivedCapture(PAGE, "20210605100000", A),  # the same digest as the one before: collapsed
    ArchivedCapture(PAGE, "20220201083000", B),
    ArchivedCapture(PAGE, "20230301000000", A),  # A -> B -> A
    ArchivedCapture(PAGE, "20230401000000", b"gone", status=404, mimetype="text/plain"),
    ArchivedCapture(PAGE, "20230501000000", b"\x89PNG", mimetype="image/png"),
    ArchivedCapture(PAGE, "20240101000000", B, revisit=True),  # B again, as a revisit record
    ArchivedCapture(PAGE, "20240601000000", b"%PDF-1.4 fake", mimetype="application/pdf"),
    ArchivedCapture(PAGE + "/cookies", "20220601000000", C),  # a prefix, not this page
)
EXPECTED = ["20210105100000", "20220201083000", "20230301000000", "20240101000000", "20240601000000"]
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def pywb_client(archive: LocalArchive, collection: str = COLL, **options) -> ArchiveClient:
    options.setdefault("backoff", 1.0)
    options.setdefault("sleep", Sleeps())
    return ArchiveClient(
        archive.base_url,
        cdx_limiter=RateLimiter(0),
        replay_limiter=RateLimiter(0),
        timeout=(2.0, 5.0),
        clock=lambda: NOW,
        api=PywbApi(collection),
        **options,
    )


@pytest.fixture
def archive():
    with LocalArchive(CAPTURES, api="pywb", collection=COLL) as running:
        yield running
    assert running.server_errors == []


@pytest.fixture
def client(archive):
    with pywb_client(archive) as made:
        yield made


def _cdx_queries(archive: LocalArchive) -> list[list[tuple[str, str]]]:
    return [
        parse_qsl(urlsplit(r.path).query, keep_blank_values=True)
        for r in archive.requests_of("cdx")
    ]


# --------------------------------------------------------------------------
# settings


def test_the_wayback_defaults_are_unchanged():
    settings = Settings()
    assert settings.wayback_base == "https://web.archive.org"
    assert (settings.archive_api, settings.archive_collection) == ("wayback", None)
    assert settings.archive_cdx_endpoint is None


def test_settings_point_at_a_pywb_collection():
    settings = Settings.from_env(
        {
            "CLAUSETRAIL_WAYBACK_BASE": "http://127.0.0.1:8080/",
            "CLAUSETRAIL_ARCHIVE_API": "pywb",
            "CLAUSETRAIL_ARCHIVE_COLLECTION": "my-crawl_2024",
        }
    )
    assert settings.wayback_base == "http://127.0.0.1:8080"
    assert settings.archive_cdx_endpoint == "/cdx"  # pywb's default
    older = Settings(archive_api="pywb", archive_collection="c", archive_cdx_endpoint="-index")
    assert older.archive_cdx_endpoint == "-index"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CLAUSETRAIL_ARCHIVE_API": "pwyb"}, r"CLAUSETRAIL_ARCHIVE_API: .*'wayback' or 'pywb'"),
        (
            {"CLAUSETRAIL_ARCHIVE_API": "pywb"},
            r"CLAUSETRAIL_ARCHIVE_COLLECTION: .*name the collection to read.*got None",
        ),
        (
            {"CLAUSETRAIL_ARCHIVE_COLLECTION": "policies"},
            r"CLAUSETRAIL_ARCHIVE_COLLECTION: .*only read with archive_api 'pywb'",
        ),
        (
            {"CLAUSETRAIL_ARCHIVE_API": "pywb", "CLAUSETRAIL_ARCHIVE_COLLECTION": "a/b"},
            r"CLAUSETRAIL_ARCHIVE_COLLECTION: .*letters, digits.*'a/b'",
        ),
        (
            {"CLAUSETRAIL_ARCHIVE_CDX_ENDPOINT": "/cdx"},
            r"CLAUSETRAIL_ARCHIVE_CDX_ENDPOINT: .*only set with archive_api 'pywb'",
        ),
        (
            {
                "CLAUSETRAIL_ARCHIVE_API": "pywb",
                "CLAUSETRAIL_ARCHIVE_COLLECTION": "c",
                "CLAUSETRAIL_ARCHIVE_CDX_ENDPOINT": "cdx?x=1",
            },
            r"CLAUSETRAIL_ARCHIVE_CDX_ENDPOINT: .*starts with '/' or '-'",
        ),
        (
            {"CLAUSETRAIL_WAYBACK_BASE": "web.archive.org"},
            r"CLAUSETRAIL_WAYBACK_BASE: .*http\(s\) URL with a host",
        ),
        (
            {"CLAUSETRAIL_WAYBACK_BASE": "http://127.0.0.1:8080/?coll=x"},
            r"CLAUSETRAIL_WAYBACK_BASE: .*no query or fragment",
        ),
    ],
)
def test_bad_archive_settings_say_which_and_why(environ, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_a_bad_archive_setting_given_as_an_argument_names_the_option():
    with pytest.raises(SettingsError, match="--archive-api: "):
        Settings.from_env({}, archive_api="ia")


def test_pywb_api_refuses_what_the_settings_refuse():
    for bad in ("", "-x", "a b"):
        with pytest.raises(ValueError, match="collection name"):
            PywbApi(bad)
    with pytest.raises(ValueError, match="cdx_api_endpoint"):
        PywbApi("c", "cdx")


# --------------------------------------------------------------------------
# pywb's CDX lines (pure)

# verbatim from pywb 2.10.0, output=json&resolveRevisits=true (no fl)
REAL_LINE = (
    '{"urlkey": "example,pol)/privacy", "timestamp": "20220201083000", "url": '
    '"https://pol.example/privacy", "mime": "text/html", "status": "200", "digest": '
    '"LEIFALQZUDQL456VV6BTZINTQIJFYXZC", "length": "414", "offset": "823", "filename": '
    '"pol.warc.gz", "source": "pol/indexes/index.cdxj", "source-coll": "pol", '
    '"orig.length": "-", "orig.offset": "-", "orig.filename": "-", "access": "allow"}'
)
REAL_REVISIT = (
    '{"urlkey": "example,pol)/privacy", "timestamp": "20240101000000", "url": '
    '"https://pol.example/privacy", "mime": "text/html", "digest": '
    '"LEIFALQZUDQL456VV6BTZINTQIJFYXZC", "length": "399", "offset": "1986", "filename": '
    '"pol.warc.gz", "source": "pol/indexes/index.cdxj", "source-coll": "pol", '
    '"orig.length": "414", "orig.offset": "823", "orig.filename": "pol.warc.gz", '
    '"access": "allow"}'
)


def test_parse_pywb_line_reads_pywbs_field_names():
    record = parse_pywb_line(REAL_LINE)
    assert record.urlkey == "example,pol)/privacy"
    assert record.timestamp == "20220201083000"
    assert record.captured_at == datetime(2022, 2, 1, 8, 30, tzinfo=UTC)
    assert record.original == PAGE
    assert (record.mimetype, record.statuscode, record.length) == ("text/html", 200, 414)
    assert record.digest == "LEIFALQZUDQL456VV6BTZINTQIJFYXZC"


def test_a_resolved_revisit_has_the_originals_mime_and_no_status():
    record = parse_pywb_line(REAL_REVISIT)
    assert (record.mimetype, record.statuscode, record.length) == ("text/html", None, 399)
    numbers = json.loads(REAL_LINE) | {"status": 200, "length": 414}  # other indexers
    assert parse_pywb_line(json.dumps(numbers)).statuscode == 200


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (REAL_LINE[:90], "not a JSON object: .*truncated line"),
        ("example,pol)/privacy 20220201083000 {}", "not a JSON object"),  # CDXJ, not json
        ('["urlkey", "timestamp"]', "expected a JSON object, got list"),
        (json.dumps({"urlkey": "k", "timestamp": "20220201083000"}), "missing fields: url, mime"),
        (REAL_LINE.replace('"digest": "LEIFALQZUDQL456VV6BTZINTQIJFYXZC", ', ""), "missing field: d"),
        (REAL_LINE.replace('"20220201083000"', '"2022"'), "timestamp '2022' is not 14 digits"),
        (REAL_LINE.replace('"20220201083000"', '"20221301083000"'), "not a valid date"),
        (REAL_LINE.replace('"status": "200"', '"status": "OK"'), "status 'OK' is not a number"),
        (REAL_LINE.replace('"url": "https', '"url": ["https').replace('privacy", "m', 'privacy"], "m'),
         "url .* is not a string"),
    ],
)
def test_parse_pywb_line_says_why_a_line_is_bad(line, reason):
    with pytest.raises(ValueError, match=reason):
        parse_pywb_line(line)


# --------------------------------------------------------------------------
# listings against the pywb flavour


def test_list_captures_gives_the_distinct_html_pdf_and_revisit_captures(client):
    records = list(client.list_captures(PAGE))
    assert [r.timestamp for r in records] == EXPECTED
    revisit = records[3]
    assert (revisit.mimetype, revisit.statuscode) == ("text/html", None)
    assert revisit.digest == records[1].digest  # B again: recorded from the bytes held


def test_the_query_is_in_pywbs_terms(client, archive):
    list(client.list_captures(PAGE, from_="2022", to="2023"))
    (query, *_) = _cdx_queries(archive)
    params = dict(query)
    assert [v for k, v in query if k == "filter"] == [
        "~status:(?:200)?$",
        "~mime:(?:text/html|application/pdf)$",
    ]
    assert params["url"] == PAGE and params["matchType"] == "exact"
    assert params["output"] == "json" and params["resolveRevisits"] == "true"
    assert params["allowFuzzy"] == "false"
    assert (params["from"], params["to"]) == ("2022", "2023")
    # what the Wayback API takes and pywb ignores is not sent
    assert not {"collapse", "showResumeKey", "resumeKey"} & set(params)
    assert archive.requests_of("collection")[0].path == f"/{COLL}/"


def test_from_and_to_are_inclusive(client):
    records = client.list_captures(PAGE, from_="20220201083000", to="2023")
    assert [r.timestamp for r in records] == ["20220201083000", "20230301000000"]


@pytest.mark.parametrize("page_size", [2, 3, 5000])
def test_paging_by_timestamp_gives_each_capture_once(archive, page_size):
    listing = pywb_client(archive).list_captures(PAGE, page_size=page_size)
    assert [r.timestamp for r in listing] == EXPECTED
    assert listing.incomplete is None and listing.bad_lines == []
    froms = [dict(q).get("from") for q in _cdx_queries(archive)]
    assert froms[0] is None and froms[1:] == sorted(froms[1:])
    assert listing.pages == len(froms) >= 2  # the page that brings nothing new ends it


def test_a_servers_query_limit_below_the_page_size_loses_nothing():
    # pywb's query_limit is appended to the query, so it wins over our limit:
    # a page shorter than asked is not the last
    with LocalArchive(CAPTURES, api="pywb", collection=COLL, page_size=2) as capped:
        listing = pywb_client(capped).list_captures(PAGE, page_size=5000)
        assert [r.timestamp for r in listing] == EXPECTED
        assert listing.pages >= 4


def test_more_captures_in_one_second_than_a_page_stops_and_says_so():
    crowded = [ArchivedCapture(PAGE, "20220101000000", html(f"v{i}")) for i in range(3)]
    with LocalArchive(crowded, api="pywb", collection=COLL) as archive:
        listing = pywb_client(archive).list_captures(PAGE, page_size=2)
        assert len(list(listing)) == 2
    assert "full page of 2 rows from 20220101000000 brought nothing new" in listing.incomplete


def test_bad_lines_are_recorded_and_the_good_ones_kept(client, archive):
    good = [
        json.dumps({**json.loads(REAL_LINE), "timestamp": ts, "digest": d})
        for ts, d in (("20210105100000", "A" * 32), ("20230301000000", "B" * 32))
    ]
    body = "\n".join([good[0], REAL_LINE[:70], '{"urlkey": "k"}', "", good[1], ""])
    # every page is this one: the second, from the last timestamp, brings nothing new
    archive.add_fault("cdx", Fault.raw_body(body.encode(), content_type="text/x-ndjson", times=0))
    listing = client.list_captures(PAGE)
    assert [r.timestamp for r in listing] == ["20210105100000", "20230301000000"]
    assert listing.pages == 2 and listing.incomplete is None
    assert [(n, reason.split(":")[0]) for n, _line, reason in listing.bad_lines] == [
        (2, "not a JSON object"),
        (3, "missing fields"),
    ]
    assert listing.bad_lines[0][1] == REAL_LINE[:70]


def test_a_bad_last_line_read_twice_at_a_page_boundary_is_recorded_once(archive):
    def line(timestamp: str) -> str:
        return json.dumps({**json.loads(REAL_LINE), "timestamp": timestamp, "digest": timestamp})

    broken = REAL_LINE.replace('"status": "200"', '"status": "OK"')
    stamps = ["20210105100000", "20220201083000", "20230301000000"]
    first = "\n".join(line(ts) for ts in stamps) + "\n"
    # from= the last good timestamp: that row again, then the broken one; and
    # since no timestamp could be read there, the same page once more
    last = f"{line(stamps[-1])}\n{broken}\n"
    archive.add_fault("cdx", Fault.raw_body(first.encode(), content_type="text/x-ndjson"))
    archive.add_fault("cdx", Fault.raw_body(last.encode(), content_type="text/x-ndjson", times=2))
    listing = pywb_client(archive).list_captures(PAGE, page_size=3)
    assert [r.timestamp for r in listing] == stamps
    assert [(n, reason) for n, _l, reason in listing.bad_lines] == [
        (4, "status 'OK' is not a number")
    ]
    assert listing.incomplete is None and listing.pages == 3
    froms = [dict(q).get("from") for q in _cdx_queries(archive)]
    assert froms == [None, stamps[-1], stamps[-1]]


def test_a_collection_the_archive_lacks_is_an_error_not_an_empty_listing(archive):
    # pywb answers a CDX query to an unknown collection with an empty 200
    direct = requests.get(f"{archive.base_url}/nope/cdx", params={"url": PAGE}, timeout=5)
    assert (direct.status_code, direct.content) == (200, b"")
    archive.clear_log()
    client = pywb_client(archive, "nope")
    for _ in range(2):
        with pytest.raises(CdxParseError, match="has no collection 'nope'.*archive_collection"):
            list(client.list_captures(PAGE))
    assert len(archive.requests_of("collection")) == 1  # asked once
    assert archive.requests_of("cdx") == []


def test_a_page_without_captures_is_an_empty_listing(client, archive):
    assert list(client.list_captures("https://pol.example/nothing")) == []
    assert [r.status for r in archive.requests_of("cdx")] == [200]


def test_a_refusing_pywb_gets_the_same_retries_and_backoff(archive):
    sleeps = Sleeps()
    archive.add_fault("cdx", Fault.http(503, retry_after=7))
    archive.add_fault("cdx", Fault.http(429))
    listing = pywb_client(archive, sleep=sleeps).list_captures(PAGE)
    assert [r.timestamp for r in listing] == EXPECTED
    assert sleeps == [7.0, 2.0]  # Retry-After, then the doubled backoff
    archive.add_fault("replay", Fault.http(503, times=0))
    record = next(iter(pywb_client(archive).list_captures(PAGE)))
    with pytest.raises(ArchiveRefused) as refused:
        pywb_client(archive, max_attempts=3, sleep=Sleeps()).fetch_capture(record)
    assert refused.value.attempts == 3


def test_a_pywb_error_answer_is_a_clear_error(archive):
    archive.add_fault(
        "cdx",
        Fault.raw_body(
            b'{"message": "The \\"url\\" param is required"}',
            status=400,
            content_type="application/json; charset=utf-8",
        ),
    )
    with pytest.raises(CdxParseError, match=r"HTTP 400 from .*param is required"):
        list(pywb_client(archive).list_captures(PAGE))


# --------------------------------------------------------------------------
# replay


def test_replay_and_playback_urls_are_the_collections(client, archive):
    record = next(iter(client.list_captures(PAGE)))
    assert client.replay_url(record) == f"{archive.base_url}/{COLL}/20210105100000id_/{PAGE}"
    assert client.archive_url(record) == f"{archive.base_url}/{COLL}/20210105100000/{PAGE}"
    assert client.cdx_endpoint == f"{archive.base_url}/{COLL}/cdx"


def test_fetch_capture_gives_the_bytes_and_a_revisit_its_payload(client):
    records = list(client.list_captures(PAGE))
    first, revisit = client.fetch_capture(records[0]), client.fetch_capture(records[3])
    assert (first.status, first.body) == (200, A)
    assert (revisit.status, revisit.body) == (200, B)
    assert revisit.header("memento-datetime") == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert first.final_url == client.replay_url(records[0])


def test_the_nearest_capture_served_in_place_is_refused_and_named(client, archive):
    import dataclasses
    from datetime import UTC, datetime

    from flows.client import OtherCaptureServed

    record = next(iter(client.list_captures(PAGE)))
    asked = dataclasses.replace(
        record, timestamp="20220101000000", captured_at=datetime(2022, 1, 1, tzinfo=UTC)
    )
    with pytest.raises(OtherCaptureServed) as caught:
        client.fetch_capture(asked)
    assert [r.status for r in archive.requests_of("replay")] == [200]  # no 302
    assert caught.value.served_at == datetime(2022, 2, 1, 8, 30, tzinfo=UTC)
    # the capture it served, as Content-Location names it
    assert f"{archive.base_url}/{COLL}/20220201083000id_/{PAGE}" in str(caught.value)
    assert "listed at 2022-01-01T00:00:00Z" in str(caught.value)


def test_an_archived_404_is_data_and_a_missing_url_has_no_memento(client, archive):
    gone = requests.get(archive.replay_url("20230401000000", PAGE), timeout=5)
    assert gone.status_code == 404 and "Memento-Datetime" in gone.headers
    missing = requests.get(archive.replay_url("2023", "https://pol.example/x"), timeout=5)
    assert missing.status_code == 404 and "Memento-Datetime" not in missing.headers
    assert "URL Not Found" in missing.text


# --------------------------------------------------------------------------
# the local archive's pywb flavour answers as pywb does


def test_the_pywb_flavour_speaks_only_pywbs_routes(archive):
    base = archive.base_url
    assert requests.get(f"{base}/{COLL}/", timeout=5).status_code == 200
    assert requests.get(f"{base}/nope/", timeout=5).status_code == 404
    assert requests.get(f"{base}/cdx/search/cdx", params={"url": PAGE}, timeout=5).status_code == 404
    assert requests.get(f"{base}/web/2022id_/{PAGE}", timeout=5).status_code == 404
    assert archive.cdx_url == f"{base}/{COLL}/cdx"


def test_the_pywb_flavour_cdx_formats_and_errors(archive):
    def get(**params):
        return requests.get(archive.cdx_url, params={"url": PAGE, **params}, timeout=5)

    cdxj = get(limit="1")
    assert cdxj.headers["Content-Type"] == "text/x-cdxj"
    assert cdxj.text.startswith("example,pol)/privacy 20210105100000 {")
    rows = [json.loads(line) for line in get(output="json").text.splitlines()]
    assert rows[0]["status"] == "200" and "statuscode" not in rows[0]
    revisit = next(r for r in rows if r["timestamp"] == "20240101000000")
    assert revisit["mime"] == "warc/revisit" and "status" not in revisit
    picked = get(output="json", fl="timestamp,status", limit="2").text.splitlines()
    assert [json.loads(line) for line in picked] == [
        {"timestamp": "20210105100000", "status": "200"},
        {"timestamp": "20210605100000", "status": "200"},
    ]
    # a filter is a substring match unless it says = or ~; IA names stand for pywb's
    assert len(get(output="json", filter="statuscode:20").text.splitlines()) == 6
    assert len(get(output="json", filter="=status:20").text.splitlines()) == 0
    assert len(get(output="json", filter="!~mime:text/").text.splitlines()) == 3
    assert get(output="json", limit="-1").text == ""
    assert get(output="json", collapse="digest", showResumeKey="true").text.count("\n") == 8
    nothing = requests.get(archive.cdx_url, params={"output": "json"}, timeout=5)
    assert nothing.status_code == 400 and "url" in nothing.json()["message"]
    assert get(output="link2").status_code == 400
    assert get(output="json", filter="~mime:(").status_code == 500
