"""Clause segmentation and alignment on real documents (issue 3's benchmark).

For every document of a corpus laid out like ../shared/corpus, the clean
versions (`kind=version`, the hand-selected texts) are split into clauses
and traced across versions in capture order. Per document it reports the
clauses per version, the share of clauses carried over unchanged between
consecutive versions, how many pairs were aligned by exact hash and how many
by similarity, and the change counts; and the seconds the trace took.

    python -m bench.clauses --corpus ../shared/corpus --out bench/results/clauses.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from transforms.align import align_clauses
from transforms.clauses import split_clauses
from transforms.lineage import trace_with_ledger
from transforms.records import sha256_hex


def document_versions(root: Path) -> dict[str, list[tuple[str, str]]]:
    """Per document, (capture time, text) of each clean version in time order.

    A `~2` re-extraction of the same capture replaces the first extraction.
    """
    chosen: dict[str, dict[str, str]] = defaultdict(dict)
    for line in (root / "manifest.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        if row["kind"] != "version":
            continue
        key = f"{row['collection']}/{row['service']}/{row['terms_type']}"
        when = row["capture_time"]
        if when not in chosen[key] or row["path"] > chosen[key][when]:
            chosen[key][when] = row["path"]
    return {
        key: [(when, (root / path).read_text("utf-8")) for when, path in sorted(paths.items())]
        for key, paths in sorted(chosen.items())
    }


def measure_document(versions: list[tuple[str, str]]) -> dict[str, object]:
    started = time.perf_counter()
    items = [(when, sha256_hex(text), split_clauses(text)) for when, text in versions]
    traced, _issued, _next = trace_with_ledger(items, {}, 1)
    elapsed = time.perf_counter() - started
    carried, methods, kinds = [], Counter(), Counter()
    for (_w0, _s0, old), (_w1, _s1, new) in zip(items, items[1:], strict=False):
        matches = align_clauses(old, new)
        unchanged = sum(1 for m in matches if m.kind == "unchanged")
        carried.append(unchanged / len(old) if old else 1.0)
        methods.update(m.method for m in matches if m.old is not None and m.new is not None)
    for t in traced:
        kinds.update(c.kind for c in t.changes)
    sizes = [len(c) for _w, _s, c in items]
    return {
        "versions": len(items),
        "clauses_per_version": {
            "median": statistics.median(sizes),
            "min": min(sizes),
            "max": max(sizes),
        },
        "carried_unchanged": {
            "median": round(statistics.median(carried), 4) if carried else None,
            "min": round(min(carried), 4) if carried else None,
            "per_pair": [round(c, 4) for c in carried],
        },
        "aligned_by_hash": methods["hash"],
        "aligned_by_similarity": methods["similarity"],
        "changes": dict(kinds),
        "seconds": round(elapsed, 4),
    }


def run(root: Path) -> dict[str, object]:
    per_document = {key: measure_document(v) for key, v in document_versions(root).items()}
    pairs = sum(d["versions"] - 1 for d in per_document.values())
    hashed = sum(d["aligned_by_hash"] for d in per_document.values())
    similar = sum(d["aligned_by_similarity"] for d in per_document.values())
    carried = [c for d in per_document.values() for c in d["carried_unchanged"]["per_pair"]]
    return {
        "documents": len(per_document),
        "version_pairs": pairs,
        "aligned_by_hash": hashed,
        "aligned_by_similarity": similar,
        "similarity_share": round(similar / (hashed + similar), 4) if hashed + similar else None,
        "carried_unchanged_median": round(statistics.median(carried), 4) if carried else None,
        "pairs_below_50pct_carried": sum(1 for c in carried if c < 0.5),
        "seconds": round(sum(d["seconds"] for d in per_document.values()), 3),
        "per_document": per_document,
    }


def render(result: dict[str, object]) -> str:
    lines = [
        f"{'document':60} {'vers':>4} {'clauses':>8} {'carried':>8} {'min':>6} {'hash':>6} {'sim':>5}"
    ]
    for key, d in result["per_document"].items():  # type: ignore[union-attr]
        carried = d["carried_unchanged"]
        lines.append(
            f"{key[:60]:60} {d['versions']:>4} {d['clauses_per_version']['median']:>8} "
            f"{carried['median'] if carried['median'] is not None else '-':>8} "
            f"{carried['min'] if carried['min'] is not None else '-':>6} "
            f"{d['aligned_by_hash']:>6} {d['aligned_by_similarity']:>5}"
        )
    lines.append(
        f"{result['documents']} documents, {result['version_pairs']} version pairs; "
        f"aligned by hash {result['aligned_by_hash']}, by similarity "
        f"{result['aligned_by_similarity']}; median carried unchanged "
        f"{result['carried_unchanged_median']}; {result['seconds']} s"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not (args.corpus / "manifest.jsonl").is_file():
        print(f"skipped: no corpus at {args.corpus}")
        return 0
    result = run(args.corpus)
    print(render(result))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
