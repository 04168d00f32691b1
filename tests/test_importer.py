"""The corpus importer: a tiny corpus-like tree in tmp_path, imported twice."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from flows.importer import CorpusImportError, import_corpus, plan_import, read_manifest, slugify
from flows.settings import Settings, load_registry
from warehouse.db import open_warehouse

PRIVACY_URL = "https://acme.example/legal/privacy"
TERMS_URL = "https://acme.example/terms"
TERMS_AI_URL = "https://acme.example/terms/ai-services"


def page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body><nav><a href='/'>Home</a> <a href='/x'>Pricing</a></nav>"
        f"<main><article><h1>{title}</h1>{body}</article></main>"
        "<footer>Copyright Acme</footer></body></html>"
    ).encode()


def _para(topic: str, n: int) -> list[str]:
    return [
        f"Section {i}. We describe how {topic} works for every customer of the service, "
        f"what we collect, why we keep it, and for how long it is retained ({i})."
        for i in range(1, n + 1)
    ]


def write_tiny_corpus(root: Path) -> Path:
    """Two documents of one service: a single-page privacy policy (two
    snapshots, the second is HTML noise over the same text) and terms made of
    two pages (one fetch of both). Gold versions are `.md` files."""
    rows: list[dict] = []

    def add_file(rel: str, data: bytes) -> str:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return hashlib.sha256(data).hexdigest()

    def snapshot(
        service, ttype, when, slug, data, url, decl, role, version_path, media="text/html"
    ):  # type: ignore[no-untyped-def]
        stamp = when.replace("-", "").replace(":", "")
        rel = f"coll/{service}/{ttype}/{stamp}{'.' + slug if slug else ''}.html"
        sha = add_file(rel, data)
        rows.append(
            {
                "collection": "coll",
                "service": service,
                "terms_type": ttype,
                "kind": "snapshot",
                "path": rel,
                "capture_time": when,
                "media_type": media,
                "sha256": sha,
                "bytes": len(data),
                "source_slug": slug,
                "fetch_url": url,
                "declaration": decl,
                "role": role,
                "version_in_effect_path": version_path,
                "paired_versions": [version_path] if role == "referenced" else [],
            }
        )
        return rel

    def version(service, ttype, when, text, snapshot_paths):  # type: ignore[no-untyped-def]
        stamp = when.replace("-", "").replace(":", "")
        rel = f"coll/{service}/{ttype}/{stamp}.md"
        sha = add_file(rel, text.encode())
        rows.append(
            {
                "collection": "coll",
                "service": service,
                "terms_type": ttype,
                "kind": "version",
                "path": rel,
                "capture_time": when,
                "media_type": "text/markdown",
                "sha256": sha,
                "snapshot_refs": [{"corpus_path": snapshot_paths}],
            }
        )
        return rel

    service = "Acme Cloud"
    privacy = _para("privacy", 6)
    decl_p = {"fetch": PRIVACY_URL, "select": ["article"], "remove": ["nav", "footer"]}
    v1 = "coll/Acme Cloud/Privacy Policy/20240101T100000Z.md"
    p1 = snapshot(
        service,
        "Privacy Policy",
        "2024-01-01T10:00:00Z",
        None,
        page("Privacy Policy", privacy),
        PRIVACY_URL,
        decl_p,
        "referenced",
        v1,
    )
    noisy = page("Privacy Policy", privacy).replace(b"/x'", b"/x?utm=123'")
    snapshot(
        service,
        "Privacy Policy",
        "2024-02-01T10:00:00Z",
        None,
        noisy,
        PRIVACY_URL,
        decl_p,
        "noise",
        v1,
    )
    version(
        service,
        "Privacy Policy",
        "2024-01-01T10:00:00Z",
        "# Privacy Policy\n\n" + "\n\n".join(privacy),
        [p1],
    )

    # terms: two pages; the declaration lists them ai-services first; one
    # snapshot row has no fetch_url (the URL comes from the declaration)
    decl_t = {
        "fetch": [TERMS_AI_URL, TERMS_URL],
        "select": [{"startBefore": "h1", "endBefore": "footer"}],
        "remove": ["nav"],
        "combined_sources": 2,
    }
    ai = _para("AI services", 5)
    terms = _para("the agreement", 5)
    t_ai = snapshot(
        service,
        "Terms of Service",
        "2024-03-01T08:00:00Z",
        "terms-ai-services",
        page("AI Services Terms", ai),
        None,
        decl_t,
        "referenced",
        "coll/Acme Cloud/Terms of Service/20240301T080000Z.md",
    )
    t_main = snapshot(
        service,
        "Terms of Service",
        "2024-03-01T08:00:00Z",
        "terms",
        page("Terms of Service", terms),
        TERMS_URL,
        decl_t,
        "referenced",
        "coll/Acme Cloud/Terms of Service/20240301T080000Z.md",
    )
    version(
        service,
        "Terms of Service",
        "2024-03-01T08:00:00Z",
        "# AI Services Terms\n\n"
        + "\n\n".join(ai)
        + "\n\n---\n\n# Terms of Service\n\n"
        + "\n\n".join(terms),
        [t_ai, t_main],
    )
    # a document with clean versions only (nothing to import)
    version("Other", "Privacy Policy", "2024-01-01T00:00:00Z", "# Other\n\ntext", [])
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return root


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_tiny_corpus(tmp_path / "corpus")


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", workers=1, progress=False)


def _captures(settings: Settings) -> list[tuple]:
    con = duckdb.connect(str(settings.database), read_only=True)
    try:
        return con.execute(
            "SELECT d.platform_id, d.slug, c.page, c.source, c.captured_at, c.original_url, "
            "c.archive_url, c.http_status, c.mime_type, c.raw_sha256, c.capture_id "
            "FROM captures c JOIN documents d USING (document_id) ORDER BY c.captured_at, c.page"
        ).fetchall()
    finally:
        con.close()


def test_import_twice_is_idempotent(tmp_path, corpus):
    settings = _settings(tmp_path)
    first = import_corpus(settings, corpus)
    rows_first = _captures(settings)
    blobs_first = sorted(p.name for p in settings.raw_dir.rglob("*") if p.is_file())
    second = import_corpus(settings, corpus)
    rows_second = _captures(settings)
    blobs_second = sorted(p.name for p in settings.raw_dir.rglob("*") if p.is_file())

    assert (first.documents, first.snapshots, first.captures_added, first.problems) == (2, 4, 4, 0)
    assert (second.snapshots, second.captures_added) == (4, 0)
    assert rows_second == rows_first
    assert len(rows_first) == 4
    # every body is in the raw store once, under its SHA-256
    manifest = [r for r in read_manifest(corpus) if r["kind"] == "snapshot"]
    assert blobs_first == blobs_second == sorted({r["sha256"] for r in manifest})
    assert {r[9] for r in rows_first} == {r["sha256"] for r in manifest}


def test_capture_rows_carry_the_manifest(tmp_path, corpus):
    settings = _settings(tmp_path)
    import_corpus(settings, corpus)
    rows = _captures(settings)
    assert {r[0] for r in rows} == {"acme-cloud"}
    assert {r[3] for r in rows} == {"import"}
    assert {r[6] for r in rows} == {None}  # no archive URL
    assert {r[7] for r in rows} == {200}
    assert {r[8] for r in rows} == {"text/html"}
    privacy = [r for r in rows if r[1] == "privacy-policy"]
    assert [r[4] for r in privacy] == [
        datetime(2024, 1, 1, 10, tzinfo=UTC),
        datetime(2024, 2, 1, 10, tzinfo=UTC),
    ]
    assert {r[5] for r in privacy} == {PRIVACY_URL}
    terms = {r[2]: r for r in rows if r[1] == "terms-of-service"}
    # page 0 is the page the declaration (and the gold version) puts first
    assert terms[0][5] == TERMS_AI_URL  # recovered from the declaration's fetch list
    assert terms[1][5] == TERMS_URL
    assert terms[0][4] == terms[1][4] == datetime(2024, 3, 1, 8, tzinfo=UTC)


def test_registry_is_valid_and_ordered(tmp_path, corpus):
    settings = _settings(tmp_path)
    result = import_corpus(settings, corpus, selectors=True)
    specs = {s.slug: s for s in load_registry(result.registry)}
    assert set(specs) == {"privacy-policy", "terms-of-service"}
    assert specs["privacy-policy"].urls == (PRIVACY_URL,)
    assert specs["terms-of-service"].urls == (TERMS_AI_URL, TERMS_URL)
    assert specs["privacy-policy"].select == ("article",)
    assert specs["privacy-policy"].remove == ("nav", "footer")
    # a range selector is carried as JSON text
    assert json.loads(specs["terms-of-service"].select[0]) == {
        "endBefore": "footer",
        "startBefore": "h1",
    }
    # without selectors asked, none are written
    plain = import_corpus(_settings(tmp_path / "plain"), corpus)
    assert all(s.select == () and s.remove == () for s in load_registry(plain.registry))


def test_versions_are_not_imported(corpus):
    _data, documents, snapshots, _skipped = plan_import(read_manifest(corpus))
    assert len(documents) == 2  # "Other" has clean versions only
    assert all(s.path.endswith(".html") for s in snapshots)
    assert [s.captured_at for s in snapshots] == sorted(s.captured_at for s in snapshots)


def test_limit_imports_the_first_snapshots_in_time(tmp_path, corpus):
    settings = _settings(tmp_path)
    result = import_corpus(settings, corpus, limit=2)
    assert result.captures_added == 2
    assert [r[4].month for r in _captures(settings)] == [1, 2]
    rest = import_corpus(settings, corpus)
    assert rest.captures_added == 2


def test_bad_snapshot_becomes_a_record(tmp_path, corpus):
    rows = read_manifest(corpus)
    snaps = [r for r in rows if r["kind"] == "snapshot"]
    snaps[0]["sha256"] = "0" * 64  # manifest disagrees with the bytes
    (corpus / snaps[1]["path"]).unlink()  # file gone
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    settings = _settings(tmp_path)
    result = import_corpus(settings, corpus)
    assert result.captures_added == 4 and result.problems == 2
    con = duckdb.connect(str(settings.database), read_only=True)
    try:
        problems = dict(con.execute("SELECT reason, detail FROM problems").fetchall())
        missing = con.execute(
            "SELECT raw_sha256, error FROM captures WHERE error IS NOT NULL"
        ).fetchall()
    finally:
        con.close()
    assert set(problems) == {"hash mismatch", "file missing"}
    assert snaps[0]["path"] in problems["hash mismatch"]
    assert len(missing) == 1 and missing[0][0] is None and "unreadable" in missing[0][1]


def test_missing_manifest(tmp_path):
    with pytest.raises(CorpusImportError, match="manifest.jsonl"):
        import_corpus(_settings(tmp_path), tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Google Generative AI Services", "google-generative-ai-services"),
        ("Terms of Service", "terms-of-service"),
        ("Café  Déjà-Vu!", "cafe-deja-vu"),
        ("xAI", "xai"),
    ],
)
def test_slugify(name, slug):
    assert slugify(name) == slug


def test_slugify_non_latin_is_stable_and_valid():
    slug = slugify("文心一言")
    assert slug == slugify("文心一言") and slug.startswith("x-") and len(slug) <= 63
    assert slugify("文心一言") != slugify("豆包")


@pytest.mark.e2e
def test_import_command_then_process_builds_versions(prefect_harness, tmp_path, corpus, capsys):
    from flows.cli import main

    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "import", str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "next: clausetrail" in out
    registry = data / "sources.import.yaml"
    assert main(["--data-dir", str(data), "process", "--sources", str(registry)]) == 0
    con = open_warehouse(data / "clausetrail.duckdb", read_only=True)
    try:
        versions = con.execute("SELECT count(*) FROM versions").fetchone()[0]
        sources = {r[0] for r in con.execute("SELECT DISTINCT source FROM captures").fetchall()}
    finally:
        con.close()
    assert versions > 0
    assert sources == {"import"}
    assert main(["--data-dir", str(data), "import", str(tmp_path / "nowhere")]) == 2
