"""Integrity and security: `clausetrail verify`, paths that cannot leave the
data directory, a read-only `clausetrail sql`, and registry validation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flows.cli import main
from flows.local_archive import ArchivedCapture, LivePage, LocalArchive
from flows.settings import Settings
from transforms.registry import RegistryError, parse_registry
from warehouse.db import open_warehouse
from warehouse.rawstore import HEX64, RawStore

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parent.parent

# URLs that would escape a folder if a path were ever built from them
ODD_URLS = [
    "http://odd.example/a/%2e%2e/%2e%2e/%2e%2e/escaped-encoded",
    "http://odd.example/../../../escaped-dots",
    "http://odd.example/l%C3%A9gal/confidentialit%C3%A9?lang=fr&x=..%2F..%2F",
    "http://odd.example/with%20space/and%00nul/..%5C..%5Cwindows",
    "http://xn--lgal-bpa.example/politique",  # an IDN host (légal.example)
]


def _policy(marker: str) -> bytes:
    paragraphs = "\n".join(
        f"<h2>Section {i}</h2><p>{marker} clause {i}: we keep your data safe and tell you "
        f"how we use it, who receives it and for how long we keep it.</p>"
        for i in range(1, 9)
    )
    return f"<html lang='en'><body><main><h1>Policy</h1>{paragraphs}</main></body></html>".encode()


def _registry(path: Path, urls: list[str]) -> Path:
    data = {
        "platforms": [
            {
                "slug": "odd",
                "name": "Odd",
                "documents": [
                    {"slug": f"doc-{i}", "type": "Privacy Policy", "urls": [url]}
                    for i, url in enumerate(urls)
                ],
            }
        ]
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.fixture(scope="module")
def odd_run(prefect_harness, tmp_path_factory):
    """Capture, backfill, process and export with URLs full of dots and escapes."""
    from flows.track import track

    base = tmp_path_factory.mktemp("odd")
    data_dir = base / "deep" / "data"
    workdir = base / "deep" / "cwd"
    workdir.mkdir(parents=True)
    sources = _registry(base / "deep" / "sources.yaml", ODD_URLS)
    captures = [
        ArchivedCapture(url, ts, _policy(f"{i}-{ts}"))
        for i, url in enumerate(ODD_URLS)
        for ts in ("20220101000000", "20230101000000")
    ]
    live = {url: LivePage(_policy(f"{i}-live")) for i, url in enumerate(ODD_URLS)}
    before = _files(base)
    with LocalArchive(captures, live) as archive:
        settings = Settings(
            data_dir=data_dir,
            sources=sources,
            wayback_base=archive.base_url,
            live_proxy=archive.proxy_url,
            cdx_per_second=0,
            replay_per_second=0,
            backoff_seconds=0.01,
            max_attempts=2,
            workers=1,
            progress=False,
        )
        import os

        old = Path.cwd()
        os.chdir(workdir)  # a relative path built from a URL would land here
        try:
            summary = track(settings)
        finally:
            os.chdir(old)
    after = _files(base)
    return {
        "settings": settings,
        "summary": summary,
        "new_files": after - before,
        "base": base,
        "workdir": workdir,
    }


def test_odd_urls_create_no_file_outside_the_data_dir(odd_run):
    data_dir = odd_run["settings"].data_dir.resolve()
    outside = [
        p
        for p in odd_run["new_files"]
        if p.resolve() != data_dir and data_dir not in p.resolve().parents
    ]
    assert outside == []
    assert list(odd_run["workdir"].iterdir()) == []
    # and the run did its work: every URL has stored captures, content-addressed only
    con = open_warehouse(odd_run["settings"].database, read_only=True)
    try:
        stored = dict(
            con.execute(
                "SELECT original_url, count(*) FROM captures WHERE raw_sha256 IS NOT NULL "
                "GROUP BY 1"
            ).fetchall()
        )
    finally:
        con.close()
    assert set(stored) == set(ODD_URLS)
    blob_root = odd_run["settings"].raw_dir / "sha256"
    for path in blob_root.rglob("*"):
        if path.is_file():
            assert HEX64.match(path.name), path
            assert path.parent.parent.parent == blob_root


def test_verify_passes_then_names_a_missing_and_an_altered_blob(odd_run, capsys):
    settings = odd_run["settings"]
    argv = ["--data-dir", str(settings.data_dir), "verify"]
    assert main(argv) == 0
    capsys.readouterr()
    raw = RawStore(settings.raw_dir)
    blobs = sorted(raw)
    assert len(blobs) >= 3
    deleted, altered = blobs[0], blobs[1]
    saved = {sha: raw.path_for(sha).read_bytes() for sha in (deleted, altered)}
    try:
        raw.path_for(deleted).unlink()
        raw.path_for(altered).write_bytes(saved[altered] + b"<!-- tampered -->")
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert f"missing: {deleted}" in " ".join(err.split())
        assert f"altered: {altered}" in " ".join(err.split())
    finally:
        for sha, body in saved.items():
            raw.path_for(sha).write_bytes(body)
    assert main(argv) == 0


def test_sql_is_read_only(odd_run):
    settings = odd_run["settings"]
    before = _count(settings)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "--data-dir",
            str(settings.data_dir),
            "sql",
            "DELETE FROM documents",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "read-only" in (result.stdout + result.stderr).lower()
    assert _count(settings) == before > 0


def _count(settings: Settings) -> int:
    con = open_warehouse(settings.database, read_only=True)
    try:
        return con.execute("SELECT count(*) FROM documents").fetchone()[0]
    finally:
        con.close()


def _one_doc(platform: str = "acme", slug: str = "privacy", url: str = "https://a.example/p"):
    return {
        "platforms": [
            {
                "slug": platform,
                "name": "Acme",
                "documents": [{"slug": slug, "type": "Privacy Policy", "urls": [url]}],
            }
        ]
    }


@pytest.mark.parametrize(
    ("platform", "slug"),
    [("../../x", "privacy"), ("acme", "../../x"), ("acme", "a/b"), ("..", "privacy")],
)
def test_registry_rejects_slugs_that_could_be_paths(platform, slug):
    with pytest.raises(RegistryError, match="lowercase letters, digits and dashes"):
        parse_registry(
            _one_doc(platform, slug), source="sources.yaml", terms_types=["Privacy Policy"]
        )


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://a.example/p",
        "javascript:alert(1)",
        "//a.example/p",
        "a.example/p",
        "http:///no-host",
        "http://a.example/with space",
    ],
)
def test_registry_urls_must_be_http_with_a_host(url):
    with pytest.raises(RegistryError, match="URL"):
        parse_registry(_one_doc(url=url), source="sources.yaml", terms_types=["Privacy Policy"])
