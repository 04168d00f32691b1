"""Read a policy-history corpus laid out as Open Terms Archive exports it.

Layout (see the corpus README): ``manifest.jsonl`` has one row per file;
``kind="snapshot"`` rows are raw bytes as fetched, ``kind="version"`` rows
are the clean Markdown extracted from them with hand-written selectors (our
gold). Documents are keyed by (collection, service, terms_type).

Multi-page documents have one snapshot file per fetched URL (``source_slug``
names the page). A document's text at a time is the concatenation of each
source's text in the declaration order; Open Terms Archive joins them with a
thematic break. The manifest does not carry the declaration's source order,
but each version row lists its snapshots (``snapshot_refs``) in that order,
so the order is read from there (sources never seen in a version keep the
order of first appearance).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

DocKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Snapshot:
    path: str  # relative to the corpus root
    captured_at: datetime
    source: str  # source_slug, "" for single-page documents
    role: str  # "referenced" | "noise"
    content_type: str | None
    url: str
    select: tuple[str, ...]
    remove: tuple[str, ...]
    version_in_effect_path: str | None
    paired_versions: tuple[str, ...]
    combined_sources: int = 1  # how many pages the declaration combines


@dataclass(frozen=True, slots=True)
class GoldVersion:
    path: str
    captured_at: datetime
    snapshot_paths: tuple[str, ...]  # in declaration (concatenation) order


@dataclass(frozen=True, slots=True)
class Document:
    key: DocKey
    snapshots: tuple[Snapshot, ...]  # in capture order, then source order
    versions: tuple[GoldVersion, ...]  # in capture order
    sources: tuple[str, ...] = field(default=())  # declaration order

    @property
    def name(self) -> str:
        return f"{self.key[1]} / {self.key[2]}"


class CorpusMissing(Exception):
    """The corpus path does not exist or holds no manifest."""


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _selectors(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, dict):
        return (json.dumps(value, sort_keys=True),)
    out = []
    for item in value:  # type: ignore[union-attr]
        if isinstance(item, str):
            out.append(item)
        else:  # a range selector; transforms.extract reads it as JSON
            out.append(json.dumps(item, sort_keys=True))
    return tuple(out)


def _first_url(value: object) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def load_corpus(root: Path) -> list[Document]:
    """All documents of the corpus that have at least one snapshot."""
    manifest = root / "manifest.jsonl"
    if not manifest.is_file():
        raise CorpusMissing(f"no corpus at {root} (missing {manifest.name})")
    rows = [json.loads(line) for line in manifest.read_text("utf-8").splitlines() if line]
    by_doc: dict[DocKey, list[dict]] = defaultdict(list)
    for row in rows:
        by_doc[(row["collection"], row["service"], row["terms_type"])].append(row)

    documents = []
    for key, doc_rows in by_doc.items():
        snap_rows = [r for r in doc_rows if r["kind"] == "snapshot"]
        if not snap_rows:
            continue
        slug_of = {r["path"]: (r.get("source_slug") or "") for r in snap_rows}
        versions = []
        for r in doc_rows:
            if r["kind"] != "version":
                continue
            paths = tuple(
                p
                for ref in r.get("snapshot_refs") or []
                for p in (ref.get("corpus_path") or [])
                if p in slug_of
            )
            versions.append(GoldVersion(r["path"], _time(r["capture_time"]), paths))
        versions.sort(key=lambda v: (v.captured_at, v.path))
        order: list[str] = []
        for v in versions:
            for p in v.snapshot_paths:
                if slug_of[p] not in order:
                    order.append(slug_of[p])
        for r in sorted(snap_rows, key=lambda r: r["capture_time"]):
            if slug_of[r["path"]] not in order:
                order.append(slug_of[r["path"]])
        snapshots = []
        for r in snap_rows:
            decl = r.get("declaration") or {}
            snapshots.append(
                Snapshot(
                    path=r["path"],
                    captured_at=_time(r["capture_time"]),
                    source=slug_of[r["path"]],
                    role=r.get("role") or "",
                    content_type=r.get("media_type"),
                    url=_first_url(r.get("fetch_url") or decl.get("fetch")),
                    select=_selectors(decl.get("select")),
                    remove=_selectors(decl.get("remove")),
                    version_in_effect_path=r.get("version_in_effect_path"),
                    paired_versions=tuple(r.get("paired_versions") or ()),
                    combined_sources=int(decl.get("combined_sources") or 1),
                )
            )
        snapshots.sort(key=lambda s: (s.captured_at, order.index(s.source)))
        documents.append(Document(key, tuple(snapshots), tuple(versions), tuple(order)))
    documents.sort(key=lambda d: d.key)
    return documents


def gold_pairs(document: Document) -> list[GoldVersion]:
    """The gold versions to score, one per set of snapshots.

    A ``~2`` file is a later re-extraction of the same snapshots; when one
    exists, it replaces the earlier extraction (it is what the source archive
    holds as that version now).
    """
    chosen: dict[tuple[str, ...], GoldVersion] = {}
    for v in document.versions:
        if not v.snapshot_paths:
            continue
        current = chosen.get(v.snapshot_paths)
        if current is None or v.path > current.path:
            chosen[v.snapshot_paths] = v
    return sorted(chosen.values(), key=lambda v: (v.captured_at, v.path))
