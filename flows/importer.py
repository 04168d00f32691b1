"""Import a policy-history corpus (Open Terms Archive layout) as captures.

The corpus layout is ``<collection>/<service>/<terms type>/<capture time>[.<source
slug>].<ext>`` with one ``manifest.jsonl`` row per file. Every ``kind=snapshot``
row becomes a capture with source ``import``: its bytes go to the raw store,
its row to ``captures`` (captured at the manifest's capture time, original URL
the snapshot's fetch URL, HTTP status 200, MIME type from the manifest).
``kind=version`` rows are the corpus's own clean texts and are not imported.

A registry is built from the manifest, one document per (service, terms type):
platform slug from the service, document slug from the terms type, URLs the
document's fetch URLs in the declaration order (one per source slug for
documents made of several pages), and, when asked, the declaration's
``select``/``remove`` selectors. It is written as YAML, so ``process`` reads it
like any registry.

Importing twice adds nothing: capture ids are derived from (source, URL,
capture time) and the raw store is content-addressed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from prefect import flow

from flows.common import open_run, utcnow
from flows.settings import Settings, terms_types
from transforms.records import sha256_hex
from warehouse import load
from warehouse.rawstore import RawStore

SOURCE = "import"


class CorpusImportError(Exception):
    """The corpus cannot be imported at all (no manifest, unreadable manifest)."""


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One raw snapshot of the manifest, as the importer needs it."""

    key: tuple[str, str, str]  # (collection, service, terms type)
    path: str  # relative to the corpus root
    captured_at: datetime
    source_slug: str  # "" for single-page documents
    url: str | None  # the URL fetched for this snapshot, when known
    media_type: str | None
    sha256: str | None  # as the manifest states it


@dataclass(frozen=True, slots=True)
class ImportedDocument:
    key: tuple[str, str, str]
    platform: str
    slug: str
    sources: tuple[str, ...]  # source slugs, in declaration order (page index)
    urls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportResult:
    registry: Path
    documents: int
    snapshots: int  # snapshot rows considered (after `limit`)
    captures_added: int  # new capture rows (0 on a repeat import)
    problems: int  # snapshots recorded with a problem (missing file, hash mismatch)
    skipped: tuple[str, ...] = field(default=())  # documents left out, with the reason


# ---------------------------------------------------------------- manifest


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def slugify(value: str) -> str:
    """A registry slug: lowercase ASCII letters, digits and dashes, at most 63 chars."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:63].strip("-")
    if not slug:  # a name with no ASCII letters at all
        slug = "x-" + sha256_hex(value)[:12]
    return slug


def _selectors(value: object) -> list[str]:
    """Declared selectors as strings; a range selector (a mapping) as JSON text."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        text = item if isinstance(item, str) else json.dumps(item, sort_keys=True)
        if text.strip():
            out.append(text.strip())
    return out


def _fetch_list(declaration: dict) -> list[str]:
    fetch = declaration.get("fetch")
    if isinstance(fetch, str):
        return [fetch]
    if isinstance(fetch, list):
        return [u for u in fetch if isinstance(u, str)]
    return []


def _url_slug(url: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", urlsplit(url).path.lower()).strip("-")


MANIFEST_KEYS = ("kind", "path", "collection", "service", "terms_type", "capture_time")


def read_manifest(corpus: Path) -> list[dict]:
    manifest = Path(corpus) / "manifest.jsonl"
    if not manifest.is_file():
        raise CorpusImportError(f"no corpus at {corpus}: {manifest.name} is missing")
    rows = []
    for number, line in enumerate(manifest.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusImportError(f"{manifest}: line {number} is not JSON: {err}") from err
        if not isinstance(row, dict):
            raise CorpusImportError(f"{manifest}: line {number} is not a JSON object")
        missing = [k for k in MANIFEST_KEYS if not isinstance(row.get(k), str)]
        if missing:
            raise CorpusImportError(
                f"{manifest}: line {number} lacks {', '.join(missing)} (each a string)"
            )
        try:
            _time(row["capture_time"])
        except ValueError as err:
            raise CorpusImportError(
                f"{manifest}: line {number}: capture_time {row['capture_time']!r} is not an "
                "ISO 8601 time"
            ) from err
        rows.append(row)
    return rows


def _source_order(doc_rows: list[dict]) -> list[str]:
    """Source slugs in declaration order: as the versions list their snapshots,
    then the order in which the remaining sources first appear."""
    slug_of = {r["path"]: r.get("source_slug") or "" for r in doc_rows if r["kind"] == "snapshot"}
    order: list[str] = []
    versions = sorted(
        (r for r in doc_rows if r["kind"] == "version"),
        key=lambda r: (r["capture_time"], r["path"]),
    )
    for row in versions:
        for ref in row.get("snapshot_refs") or []:
            for path in ref.get("corpus_path") or []:
                slug = slug_of.get(path)
                if slug is not None and slug not in order:
                    order.append(slug)
    for row in sorted(doc_rows, key=lambda r: (r["capture_time"], r["path"])):
        slug = slug_of.get(row["path"])
        if slug is not None and slug not in order:
            order.append(slug)
    return order


def _source_url(rows: list[dict], slug: str) -> str | None:
    """The newest known fetch URL of one source of a document."""
    for row in sorted(rows, key=lambda r: r["capture_time"], reverse=True):
        if (row.get("source_slug") or "") != slug:
            continue
        if isinstance(row.get("fetch_url"), str):
            return row["fetch_url"]
        fetch = _fetch_list(row.get("declaration") or {})
        if len(fetch) == 1:
            return fetch[0]
        matched = [u for u in fetch if _url_slug(u) == slug]
        if matched:
            return matched[0]
    return None


def plan_import(
    rows: list[dict], *, selectors: bool = False, valid_types: tuple[str, ...] | None = None
) -> tuple[dict, list[ImportedDocument], list[SnapshotRow], list[str]]:
    """The registry (as YAML data), its documents, the snapshots and what was skipped."""
    valid_types = valid_types if valid_types is not None else terms_types()
    by_doc: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for row in rows:
        by_doc[(row["collection"], row["service"], row["terms_type"])].append(row)

    platforms: dict[str, dict] = {}
    documents: list[ImportedDocument] = []
    snapshots: list[SnapshotRow] = []
    skipped: list[str] = []
    taken: set[str] = set()
    for key in sorted(by_doc):
        collection, service, terms_type = key
        doc_rows = by_doc[key]
        snap_rows = [r for r in doc_rows if r["kind"] == "snapshot"]
        if not snap_rows:
            continue  # clean versions only: nothing to import
        name = f"{service} / {terms_type}"
        if terms_type not in valid_types:
            skipped.append(f"{name}: unknown terms type {terms_type!r}")
            continue
        order = _source_order(doc_rows)
        urls = [_source_url(snap_rows, slug) for slug in order]
        if any(u is None for u in urls):
            missing = [s or "(single page)" for s, u in zip(order, urls, strict=True) if u is None]
            skipped.append(f"{name}: no fetch URL for source(s) {missing}")
            continue
        platform = slugify(service)
        slug = slugify(terms_type)
        if f"{platform}/{slug}" in taken:  # the same service and type in two collections
            slug = slugify(f"{terms_type}-{collection}")
        taken.add(f"{platform}/{slug}")
        entry: dict[str, object] = {
            "slug": slug,
            "name": f"{service} {terms_type}",
            "type": terms_type,
            "urls": list(urls),
        }
        if selectors:
            select: list[str] = []
            remove: list[str] = []
            latest: dict[str, dict] = {}
            for row in sorted(snap_rows, key=lambda r: r["capture_time"]):
                latest[row.get("source_slug") or ""] = row.get("declaration") or {}
            for source in order:
                declaration = latest.get(source, {})
                select += [s for s in _selectors(declaration.get("select")) if s not in select]
                remove += [s for s in _selectors(declaration.get("remove")) if s not in remove]
            if select:
                entry["select"] = select
            if remove:
                entry["remove"] = remove
        platforms.setdefault(platform, {"slug": platform, "name": service, "documents": []})
        platforms[platform]["documents"].append(entry)
        documents.append(ImportedDocument(key, platform, slug, tuple(order), tuple(urls)))  # type: ignore[arg-type]
        for row in snap_rows:
            url = row.get("fetch_url") if isinstance(row.get("fetch_url"), str) else None
            snapshots.append(
                SnapshotRow(
                    key=key,
                    path=row["path"],
                    captured_at=_time(row["capture_time"]),
                    source_slug=row.get("source_slug") or "",
                    url=url,
                    media_type=row.get("media_type"),
                    sha256=row.get("sha256"),
                )
            )
    snapshots.sort(key=lambda s: (s.captured_at, s.path))
    return {"platforms": list(platforms.values())}, documents, snapshots, skipped


def write_registry(data: dict, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by clausetrail's corpus importer; regenerated on every import.\n"
    path.write_text(
        header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return path


# ---------------------------------------------------------------- import


def import_corpus(
    settings: Settings,
    corpus: Path,
    *,
    registry: Path | None = None,
    selectors: bool = False,
    limit: int | None = None,
) -> ImportResult:
    """Import the corpus's snapshots as captures; returns what was done.

    `registry` is where the generated registry is written (default
    ``<data_dir>/sources.import.yaml``); process the import with
    ``settings.sources`` set to it. `limit` imports only the first snapshots
    in capture-time order (the benchmark grows a warehouse in steps).
    """
    corpus = Path(corpus)
    data, documents, snapshots, skipped = plan_import(read_manifest(corpus), selectors=selectors)
    if not documents:
        raise CorpusImportError(f"{corpus}: no document with raw snapshots to import")
    registry = write_registry(data, registry or settings.data_dir / "sources.import.yaml")
    if limit is not None:
        snapshots = snapshots[: max(0, limit)]
    by_key = {d.key: d for d in documents}
    parameters = {"corpus": str(corpus), "selectors": selectors, "limit": limit}
    run_settings = settings.model_copy(update={"sources": registry})
    with open_run(run_settings, "import", parameters) as run:
        rows: list[load.CaptureRow] = []
        problems: list[load.ProblemRow] = []
        for snap in snapshots:
            doc = by_key[snap.key]
            page = doc.sources.index(snap.source_slug)
            url = snap.url or doc.urls[page]
            document_id = run.document_ids[f"{doc.platform}/{doc.slug}"]
            row, problem = _capture(run.run_id, run.raw, corpus, snap, document_id, page, url)
            rows.append(row)
            if problem is not None:
                problems.append(problem)
        added = load.record_captures(run.con, rows, problems)
        run.count("snapshots", len(rows))
        run.count("captures_added", added)
        run.count("import_problems", len(problems))
    return ImportResult(
        registry, len(documents), len(snapshots), added, len(problems), tuple(skipped)
    )


def _capture(
    run_id: str,
    raw: RawStore,
    corpus: Path,
    snap: SnapshotRow,
    document_id: str,
    page: int,
    url: str,
) -> tuple[load.CaptureRow, load.ProblemRow | None]:
    """One capture row (and maybe a problem) for one snapshot file."""
    now = utcnow()
    capture_id = load.capture_id_for(SOURCE, url, snap.captured_at)
    where = f"{snap.path} ({url} at {snap.captured_at.isoformat()})"
    base = {
        "capture_id": capture_id,
        "document_id": document_id,
        "page": page,
        "source": SOURCE,
        "captured_at": snap.captured_at,
        "original_url": url,
        "fetched_at": now,
        "run_id": run_id,
    }
    try:
        body = (corpus / snap.path).read_bytes()
    except OSError as err:
        reason = f"snapshot file unreadable: {type(err).__name__}: {err}"
        problem = load.ProblemRow(
            run_id,
            "import",
            "file missing",
            now,
            document_id,
            url,
            snap.captured_at,
            capture_id,
            where,
        )
        return load.CaptureRow(**base, error=reason), problem
    sha = raw.put(body)
    problem = None
    if snap.sha256 and snap.sha256 != sha:
        problem = load.ProblemRow(
            run_id,
            "import",
            "hash mismatch",
            now,
            document_id,
            url,
            snap.captured_at,
            capture_id,
            f"{where}: manifest says {snap.sha256}, the file hashes to {sha}",
        )
    row = load.CaptureRow(
        **base,
        http_status=200,
        mime_type=snap.media_type,
        content_type=snap.media_type,
        raw_sha256=sha,
        raw_bytes=len(body),
    )
    return row, problem


@flow(name="import")
def import_flow(
    settings: Settings | None = None,
    corpus: Path = Path("../shared/corpus"),
    selectors: bool = False,
) -> dict[str, object]:
    """Import a corpus directory as captures (see `import_corpus`)."""
    settings = settings or Settings.from_env()
    result = import_corpus(settings, corpus, selectors=selectors)
    return {
        "registry": str(result.registry),
        "documents": result.documents,
        "snapshots": result.snapshots,
        "captures_added": result.captures_added,
        "problems": result.problems,
        "skipped": list(result.skipped),
    }


__all__ = [
    "CorpusImportError",
    "ImportResult",
    "import_corpus",
    "import_flow",
    "plan_import",
    "read_manifest",
    "slugify",
    "write_registry",
]
