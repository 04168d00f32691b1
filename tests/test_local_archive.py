"""The local Wayback-compatible archive, exercised over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import threading
from itertools import islice

import pytest
import requests
from waybackpy import WaybackMachineCDXServerAPI

from flows.local_archive import (
    ArchivedCapture,
    Fault,
    LivePage,
    LocalArchive,
    RequestRecord,
    surt_key,
)

PAGE = "http://site.example/legal/privacy"
SUB = "http://site.example/legal/privacy/cookies"
OTHER = "http://site.example/legal/terms"


def _html(text: str) -> bytes:
    return f"<html><body><main><p>{text}</p></main></body></html>".encode()


CAPTURES = (
    ArchivedCapture(PAGE, "20210105120000", _html("version one")),
    ArchivedCapture(PAGE, "20210601000000", _html("version one")),  # same bytes: same digest
    ArchivedCapture(PAGE, "20220101000000", _html("version two")),
    ArchivedCapture(PAGE, "20220314093000", _html("version two, later")),
    ArchivedCapture(PAGE, "20220314180000", b"gone", status=404, mimetype="text/plain"),
    ArchivedCapture(PAGE, "20221231235959", _html("version three")),
    ArchivedCapture(PAGE, "20230301000000", b"%PDF-1.4 fake", mimetype="application/pdf"),
    ArchivedCapture(SUB, "20220601000000", _html("cookies page")),
    ArchivedCapture(OTHER, "20220601000000", _html("terms page")),
)
PAGE_CAPTURES = [c for c in CAPTURES if c.url == PAGE]


@pytest.fixture
def archive():
    live = {
        PAGE: LivePage(_html("live privacy")),
        OTHER: LivePage(b"terms now", content_type="text/plain"),
    }
    with LocalArchive(CAPTURES, live) as running:
        yield running
    assert running.server_errors == []  # no handler blew up behind the tests' back


@pytest.fixture
def http():
    with requests.Session() as session:
        session.trust_env = False  # never route loopback through an environment proxy
        yield session


def _cdx(http: requests.Session, archive: LocalArchive, **params) -> requests.Response:
    response = http.get(archive.cdx_url, params=params, timeout=5)
    response.raise_for_status()
    return response


def _lines(response: requests.Response) -> list[list[str]]:
    return [line.split(" ") for line in response.text.splitlines() if line]


# --------------------------------------------------------------------------
# records


def test_digest_is_base32_sha1_of_body():
    capture = ArchivedCapture(PAGE, "20220101000000", b"hello")
    assert capture.digest == base64.b32encode(hashlib.sha1(b"hello").digest()).decode()
    assert len(capture.digest) == 32


def test_content_type_defaults_by_mimetype():
    assert (
        ArchivedCapture(PAGE, "20220101000000", b"").header_content_type
        == "text/html; charset=utf-8"
    )
    pdf = ArchivedCapture(PAGE, "20220101000000", b"", mimetype="application/pdf")
    assert pdf.header_content_type == "application/pdf"
    latin = ArchivedCapture(
        PAGE, "20220101000000", b"", content_type="text/html; charset=iso-8859-1"
    )
    assert latin.header_content_type == "text/html; charset=iso-8859-1"


def test_capture_rejects_a_short_timestamp():
    with pytest.raises(ValueError, match="14 digits"):
        ArchivedCapture(PAGE, "2022", b"")


def test_surt_key_drops_scheme_and_www_and_reverses_host():
    assert surt_key("http://lumen.example/legal/privacy") == "example,lumen)/legal/privacy"
    assert surt_key("https://www.Lumen.example/legal/privacy") == "example,lumen)/legal/privacy"
    assert surt_key("lumen.example") == "example,lumen)/"
    assert surt_key("http://a.example:8080/x?b=2&a=1") == "example,a:8080)/x?a=1&b=2"


# --------------------------------------------------------------------------
# CDX


def test_cdx_plain_text_lines_have_the_seven_fields(archive, http):
    rows = _lines(_cdx(http, archive, url="site.example/legal/privacy"))
    assert [r[1] for r in rows] == [c.timestamp for c in PAGE_CAPTURES]
    for row, capture in zip(rows, PAGE_CAPTURES, strict=True):
        assert row == [
            "example,site)/legal/privacy",
            capture.timestamp,
            PAGE,
            capture.mimetype,
            str(capture.status),
            capture.digest,
            str(len(capture.body)),
        ]


def test_cdx_json_output_starts_with_the_field_names(archive, http):
    table = _cdx(http, archive, url=PAGE, output="json", fl="timestamp,statuscode,digest").json()
    assert table[0] == ["timestamp", "statuscode", "digest"]
    assert table[1:] == [[c.timestamp, str(c.status), c.digest] for c in PAGE_CAPTURES]


def test_cdx_without_matches_is_empty(archive, http):
    assert _cdx(http, archive, url="nowhere.example/").text == ""
    assert _cdx(http, archive, url="nowhere.example/", output="json").json() == []


def test_cdx_from_and_to_are_inclusive_timestamp_prefixes(archive, http):
    in_2022 = [
        r[1] for r in _lines(_cdx(http, archive, url=PAGE, **{"from": "2022", "to": "2022"}))
    ]
    assert in_2022 == ["20220101000000", "20220314093000", "20220314180000", "20221231235959"]
    exact = _cdx(http, archive, url=PAGE, **{"from": "20220314093000", "to": "20220314093000"})
    assert [r[1] for r in _lines(exact)] == ["20220314093000"]
    since = [r[1] for r in _lines(_cdx(http, archive, url=PAGE, **{"from": "202212"}))]
    assert since == ["20221231235959", "20230301000000"]


def test_cdx_filters_match_whole_fields_and_negate(archive, http):
    ok = _lines(_cdx(http, archive, url=PAGE, filter="statuscode:200"))
    assert {r[4] for r in ok} == {"200"} and len(ok) == 6
    not_ok = _lines(_cdx(http, archive, url=PAGE, filter="!statuscode:200"))
    assert [r[1] for r in not_ok] == ["20220314180000"]
    html_ok = _lines(_cdx(http, archive, url=PAGE, filter=["statuscode:200", "mimetype:text/html"]))
    assert [r[1] for r in html_ok] == [
        c.timestamp for c in PAGE_CAPTURES if c.mimetype == "text/html" and c.status == 200
    ]
    assert _lines(_cdx(http, archive, url=PAGE, filter="statuscode:20")) == []  # whole-field match


def test_cdx_bad_filter_is_a_400(archive, http):
    response = http.get(archive.cdx_url, params={"url": PAGE, "filter": "nosuchfield:x"}, timeout=5)
    assert response.status_code == 400


def test_cdx_collapse_keeps_the_first_of_adjacent_equal_values(archive, http):
    by_digest = [r[1] for r in _lines(_cdx(http, archive, url=PAGE, collapse="digest"))]
    assert "20210105120000" in by_digest and "20210601000000" not in by_digest
    assert len(by_digest) == len(PAGE_CAPTURES) - 1
    by_day = [r[1] for r in _lines(_cdx(http, archive, url=PAGE, collapse="timestamp:8"))]
    assert "20220314093000" in by_day and "20220314180000" not in by_day


def test_cdx_prefix_match_lists_pages_below_the_url(archive, http):
    rows = _lines(_cdx(http, archive, url=PAGE, matchType="prefix"))
    assert {r[2] for r in rows} == {PAGE, SUB}
    assert {r[2] for r in _lines(_cdx(http, archive, url="site.example/legal/*"))} == {
        PAGE,
        SUB,
        OTHER,
    }


def test_cdx_limit_without_resume_key_truncates(archive, http):
    text = _cdx(http, archive, url=PAGE, limit="2").text
    assert len(text.splitlines()) == 2


@pytest.mark.parametrize(("limit", "pages_expected"), [(1, 7), (3, 3), (6, 2), (7, 1), (50, 1)])
def test_resume_key_paging_returns_every_line_once(archive, http, limit, pages_expected):
    seen, key, pages = [], None, 0
    while pages < 20:  # bounded: a broken resume key must fail, not loop
        pages += 1
        params = {"url": PAGE, "limit": str(limit), "showResumeKey": "true"}
        if key:
            params["resumeKey"] = key
        lines = _cdx(http, archive, **params).text.splitlines()
        if len(lines) >= 2 and lines[-2] == "":
            key = lines[-1]
            seen += lines[:-2]
        else:
            seen += lines
            break
    assert pages == pages_expected
    assert [line.split(" ")[1] for line in seen] == [c.timestamp for c in PAGE_CAPTURES]


def test_json_paging_appends_an_empty_row_and_the_key(archive, http):
    table = _cdx(http, archive, url=PAGE, output="json", limit="2", showResumeKey="true").json()
    assert len(table) == 1 + 2 + 2
    assert table[-2] == [] and isinstance(table[-1][0], str)
    rest = _cdx(http, archive, url=PAGE, output="json", resumeKey=table[-1][0]).json()
    assert [row[1] for row in rest[1:]] == [c.timestamp for c in PAGE_CAPTURES[2:]]


def test_server_page_size_pages_every_answer():
    with LocalArchive(CAPTURES, page_size=2) as archive, requests.Session() as http:
        http.trust_env = False
        lines = _cdx(http, archive, url=PAGE, showResumeKey="true").text.splitlines()
        assert len(lines) == 4 and lines[2] == ""


def _waybackpy(archive: LocalArchive, url: str, **kwargs) -> WaybackMachineCDXServerAPI:
    api = WaybackMachineCDXServerAPI(url, **kwargs)
    api.endpoint = archive.cdx_url
    return api


def test_waybackpy_reads_the_listing_with_filters_and_collapse(archive):
    api = _waybackpy(
        archive, PAGE, filters=["statuscode:200", "!mimetype:application/pdf"], collapses=["digest"]
    )
    snapshots = list(api.snapshots())
    assert [s.timestamp for s in snapshots] == [
        "20210105120000",
        "20220101000000",
        "20220314093000",
        "20221231235959",
    ]
    assert snapshots[0].digest == PAGE_CAPTURES[0].digest
    assert api.last_api_request_url.startswith(archive.cdx_url)


def test_waybackpy_follows_resume_keys_across_pages():
    with LocalArchive(CAPTURES, page_size=2) as archive:
        api = _waybackpy(archive, PAGE, start_timestamp="2021", end_timestamp="2023")
        timestamps = [s.timestamp for s in islice(api.snapshots(), 50)]
        assert timestamps == [c.timestamp for c in PAGE_CAPTURES]
        assert len(archive.requests_of("cdx")) == 4  # 7 lines in pages of 2


# --------------------------------------------------------------------------
# replay


def test_id_replay_returns_the_exact_bytes_status_and_type(archive, http):
    capture = PAGE_CAPTURES[2]
    response = http.get(
        archive.replay_url(capture.timestamp, PAGE), allow_redirects=False, timeout=5
    )
    assert response.status_code == 200
    assert response.content == capture.body
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Memento-Datetime"] == "Sat, 01 Jan 2022 00:00:00 GMT"
    assert f'<{PAGE}>; rel="original"' in response.headers["Link"]


def test_id_replay_keeps_the_archived_status_and_mimetype(archive, http):
    gone = http.get(archive.replay_url("20220314180000", PAGE), allow_redirects=False, timeout=5)
    assert (gone.status_code, gone.content) == (404, b"gone")
    pdf = http.get(archive.replay_url("20230301000000", PAGE), timeout=5)
    assert pdf.headers["Content-Type"] == "application/pdf"


def test_replay_at_an_inexact_time_redirects_to_the_nearest_capture(archive, http):
    response = http.get(archive.replay_url("20220315", PAGE), allow_redirects=False, timeout=5)
    assert response.status_code == 302
    assert response.headers["Location"] == archive.replay_url("20220314180000", PAGE)
    followed = http.get(archive.replay_url("2021", PAGE), timeout=5)
    assert followed.url == archive.replay_url("20210105120000", PAGE)
    assert followed.content == PAGE_CAPTURES[0].body


def test_replay_of_an_unknown_url_is_a_404(archive, http):
    response = http.get(archive.replay_url("20220101000000", "http://nowhere.example/"), timeout=5)
    assert response.status_code == 404


def test_human_playback_url_returns_the_body(archive, http):
    response = http.get(f"{archive.base_url}/web/20220601000000/{OTHER}", timeout=5)
    assert response.content == _html("terms page")


# --------------------------------------------------------------------------
# live pages through the proxy


def test_live_pages_are_fetched_through_the_proxy(archive, http):
    response = http.get(PAGE, proxies={"http": archive.proxy_url}, timeout=5)
    assert response.content == _html("live privacy")
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    plain = http.get(f"{archive.base_url}/live/site.example/legal/terms", timeout=5)
    assert (plain.content, plain.headers["Content-Type"]) == (b"terms now", "text/plain")
    assert [r.path for r in archive.requests_of("live")] == [PAGE, "/live/site.example/legal/terms"]


def test_unknown_or_removed_live_pages_are_404(archive, http):
    assert http.get(SUB, proxies={"http": archive.proxy_url}, timeout=5).status_code == 404
    archive.set_live(PAGE, None)
    assert http.get(PAGE, proxies={"http": archive.proxy_url}, timeout=5).status_code == 404
    archive.set_live(PAGE, LivePage(b"back", status=503))
    again = http.get(PAGE, proxies={"http": archive.proxy_url}, timeout=5)
    assert (again.status_code, again.content) == (503, b"back")


# --------------------------------------------------------------------------
# faults


@pytest.mark.faults
def test_http_fault_sends_429_with_retry_after_then_recovers(archive, http):
    archive.add_fault("cdx", Fault.http(429, retry_after=7, times=2))
    first = http.get(archive.cdx_url, params={"url": PAGE}, timeout=5)
    second = http.get(archive.cdx_url, params={"url": PAGE}, timeout=5)
    third = http.get(archive.cdx_url, params={"url": PAGE}, timeout=5)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert second.status_code == 429
    assert third.status_code == 200 and len(third.text.splitlines()) == len(PAGE_CAPTURES)


@pytest.mark.faults
def test_reset_fault_is_a_connection_error(archive, http):
    archive.add_fault("replay", Fault.reset())
    with pytest.raises(requests.ConnectionError):
        http.get(archive.replay_url("20220101000000", PAGE), timeout=5)
    assert http.get(archive.replay_url("20220101000000", PAGE), timeout=5).status_code == 200
    assert [r.status for r in archive.requests_of("replay")] == [0, 200]


@pytest.mark.faults
def test_hang_fault_is_a_read_timeout(archive, http):
    archive.add_fault("cdx", Fault.hang(30))
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.get(archive.cdx_url, params={"url": PAGE}, timeout=0.3)
    assert archive.requests[-1].status == 0
    # stop() (fixture teardown) wakes the sleeping handler; no thread is left behind


@pytest.mark.faults
def test_truncate_fault_is_an_incomplete_body(archive, http):
    archive.add_fault("replay", Fault.truncated())
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        http.get(archive.replay_url("20220101000000", PAGE), timeout=5)
    assert archive.requests_of("replay")[-1].status == 200


@pytest.mark.faults
def test_body_fault_replaces_the_cdx_listing(archive, http):
    html_error = b"<html><body>Wayback Machine is down for maintenance</body></html>"
    archive.add_fault("cdx", Fault.raw_body(html_error))
    archive.add_fault(
        "cdx", Fault.raw_body(b"example,site)/ 2022 http://site.example/ text/html\n")
    )
    first = http.get(archive.cdx_url, params={"url": PAGE}, timeout=5)
    second = http.get(archive.cdx_url, params={"url": PAGE}, timeout=5)
    assert (first.status_code, first.content) == (200, html_error)
    assert first.headers["Content-Type"].startswith("text/plain")
    assert second.text.split(" ")[1] == "2022"


@pytest.mark.faults
def test_redirect_fault_sends_a_302(archive, http):
    archive.add_fault("live", Fault.redirect("http://site.example/login"))
    response = http.get(PAGE, proxies={"http": archive.proxy_url}, allow_redirects=False, timeout=5)
    assert (response.status_code, response.headers["Location"]) == (
        302,
        "http://site.example/login",
    )


@pytest.mark.faults
def test_faults_apply_only_to_matching_requests_of_their_kind(archive, http):
    archive.add_fault("replay", Fault.http(503), match="legal/terms")
    assert http.get(archive.cdx_url, params={"url": OTHER}, timeout=5).status_code == 200
    assert http.get(archive.replay_url("20220101000000", PAGE), timeout=5).status_code == 200
    assert http.get(archive.replay_url("20220601000000", OTHER), timeout=5).status_code == 503
    assert http.get(archive.replay_url("20220601000000", OTHER), timeout=5).status_code == 200


@pytest.mark.faults
def test_fault_with_times_zero_repeats_until_cleared(archive, http):
    archive.add_fault("cdx", Fault.http(503, times=0))
    statuses = [
        http.get(archive.cdx_url, params={"url": PAGE}, timeout=5).status_code for _ in range(4)
    ]
    archive.clear_faults()
    assert statuses == [503] * 4
    assert http.get(archive.cdx_url, params={"url": PAGE}, timeout=5).status_code == 200


def test_fault_kinds_are_checked():
    with pytest.raises(ValueError):
        Fault("explode")
    with pytest.raises(ValueError):
        LocalArchive().add_fault("ftp", Fault.reset())


# --------------------------------------------------------------------------
# log and lifecycle


def test_request_log_records_kind_path_and_status(archive, http):
    http.get(archive.cdx_url, params={"url": PAGE, "limit": "1"}, timeout=5)
    http.get(archive.replay_url("20220101000000", PAGE), timeout=5)
    http.get(f"{archive.base_url}/favicon.ico", timeout=5)
    assert archive.requests == [
        RequestRecord(
            "cdx",
            "GET",
            "/cdx/search/cdx?url=http%3A%2F%2Fsite.example%2Flegal%2Fprivacy&limit=1",
            200,
        ),
        RequestRecord("replay", "GET", f"/web/20220101000000id_/{PAGE}", 200),
        RequestRecord("other", "GET", "/favicon.ico", 404),
    ]
    archive.clear_log()
    assert archive.requests == []


def test_captures_added_while_running_are_served(archive, http):
    archive.add_capture(ArchivedCapture(OTHER, "20240101000000", b"new"))
    table = _cdx(http, archive, url=OTHER, output="json", fl="timestamp").json()
    assert table == [["timestamp"], ["20220601000000"], ["20240101000000"]]


def test_stop_leaves_no_thread_behind_even_with_open_connections():
    before = set(threading.enumerate())
    archive = LocalArchive(CAPTURES).start()
    base_url = archive.base_url
    session = requests.Session()
    session.trust_env = False
    assert session.get(archive.replay_url("20220101000000", PAGE), timeout=5).status_code == 200
    archive.add_fault("cdx", Fault.hang(60))
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(archive.cdx_url, params={"url": PAGE}, timeout=0.2)
    archive.stop()
    session.close()
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base_url}/", timeout=1)


def test_base_url_is_bound_on_loopback(archive):
    assert archive.base_url.startswith("http://127.0.0.1:")
    assert archive.proxy_url == archive.base_url
    assert archive.base_url == f"http://127.0.0.1:{archive.port}"
