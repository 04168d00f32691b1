"""Extraction fidelity and change detection against a real policy corpus.

Run: ``python -m bench.fidelity --corpus PATH --out FILE.json``. A missing
corpus prints a message and exits 0.

**Tokenisation** (`tokenize`, the one definition used everywhere): the text
is lowercased; Markdown syntax is stripped (images dropped; links and
autolinks keep their text, not their URL; heading hashes and setext
underlines, list bullets and ordered-list markers at the start of a line,
block quotes, emphasis and code marks, table pipes and separator rows,
thematic breaks, backslash escapes); what is left is split into Unicode word
runs (``\\w+``), except that each CJK ideograph or kana is a token of its own
(Chinese and Japanese do not separate words with spaces).

**Scores** compare the two texts as bags of tokens (multisets): overlap =
sum over tokens of min(count in ours, count in gold); precision = overlap /
our token count; recall = overlap / gold token count; F1 their harmonic mean.
Order is not scored.

**Fidelity.** Every gold version with snapshots in the corpus is scored once
(a ``~2`` re-extraction replaces the first extraction of the same
snapshots). A multi-page document's text is the concatenation of its pages'
texts in the declaration order. Two modes: ``no_selectors`` (our default
extraction) and ``selectors`` (the declared select/remove of each page).

**Change detection.** Per document, snapshots are taken in capture order and
grouped by capture time (the pages of one multi-page fetch usually share
it). Ours: the document's versions as the process flow builds them, with the
same functions (`our_versions`: captures whose extraction is not ``ok`` are
left out, `transforms.versions.screen_pages` with `quality.is_collapse`,
`combine_pages`, `build_versions`); a declaration that switches between one
page and several is versioned run by run with its own page list. We report a
change at every point where one of our versions (after the first) starts.
Gold: a change at a point where a corpus version starts (its capture time is
the point's), a snapshot there is ``referenced``, and none of the versions
tied to the point (paired or in effect, ``~2`` included, leaving out versions
that start later) has the text of a version tied to the previous point.
Texts are compared as `change_tokens` (the tokens above plus the emphasis
marks): a word that turns bold is a change; a new link target, an empty link
or another Markdown spelling of the same words (bullet spacing, escapes,
``<br>`` against a blank line) is not, so a ``~2`` re-extraction after a
selector change is not a change of the document. A version opened at a
point whose snapshots are all ``noise`` is a noise version.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.corpus import CorpusMissing, Document, Snapshot, gold_pairs, load_corpus
from transforms.extract import extract_text, visible_fingerprint
from transforms.quality import is_collapse
from transforms.records import Extraction, Observation, Version, sha256_hex
from transforms.versions import PageText, build_versions, combine_pages, screen_pages

# ---------------------------------------------------------------------------
# tokenisation and scores

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)")
_REF_LINK = re.compile(r"\[([^\]]*)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<(https?://[^>]+)>")
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_SETEXT = re.compile(r"^[ \t]{0,3}(=+|-+)[ \t]*$", re.MULTILINE)
_HEADING = re.compile(r"^\s{0,3}#{1,6}[ \t]+", re.MULTILINE)
_BULLET = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+", re.MULTILINE)
_QUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.MULTILINE)
_TABLE_SEP = re.compile(
    r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$", re.MULTILINE
)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_MARKS = re.compile(r"[*`~|]+")
_CODE_MARKS = re.compile(r"[`~|]+")
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")
_CHANGE_TOKEN = re.compile(rf"\*+|[{_CJK}]|[^\W{_CJK}]+")


def strip_markdown(text: str, *, keep_emphasis: bool = False) -> str:
    """The words of a Markdown text without its syntax (see module docstring);
    `keep_emphasis` leaves the ``*`` and ``_`` emphasis marks in."""
    text = _IMAGE.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub(" ", text)  # inline HTML such as <br> in table cells
    text = _SETEXT.sub(" ", text)
    text = _TABLE_SEP.sub(" ", text)
    text = _QUOTE.sub("", text)
    text = _BULLET.sub("", text)  # before headings: "## 1. Title" keeps its number
    text = _HEADING.sub("", text)
    text = _ESCAPE.sub(r"\1", text)
    if keep_emphasis:
        return _CODE_MARKS.sub(" ", text)
    # emphasis marks and pipes; "_" inside a word (snake_case) is kept
    text = re.sub(r"(?<!\w)_+|_+(?!\w)", " ", text)
    return _MARKS.sub(" ", text)


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens of a Markdown text, its syntax stripped."""
    return _TOKEN.findall(strip_markdown(text).lower())


@dataclass(frozen=True, slots=True)
class Score:
    precision: float
    recall: float
    f1: float
    ours: int  # token counts
    gold: int


def score(ours: str, gold: str) -> Score:
    """Bag-of-tokens precision, recall and F1 of `ours` against `gold`."""
    a, b = Counter(tokenize(ours)), Counter(tokenize(gold))
    n_a, n_b = sum(a.values()), sum(b.values())
    overlap = sum((a & b).values())
    if n_a == 0 and n_b == 0:
        return Score(1.0, 1.0, 1.0, 0, 0)
    p = overlap / n_a if n_a else 0.0
    r = overlap / n_b if n_b else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return Score(p, r, f, n_a, n_b)


# ---------------------------------------------------------------------------
# extraction with caching and timing

MODES = ("no_selectors", "selectors")


@dataclass
class Extractor:
    root: Path
    timings_ms: list[float] = field(default_factory=list)
    fingerprint_ms: list[float] = field(default_factory=list)
    _cache: dict[tuple[str, str], Extraction] = field(default_factory=dict)

    def __call__(self, snap: Snapshot, mode: str) -> Extraction:
        key = (snap.path, mode)
        if key not in self._cache:
            body = (self.root / snap.path).read_bytes()
            select, remove = (snap.select, snap.remove) if mode == "selectors" else ((), ())
            started = time.perf_counter()
            result = extract_text(
                body, content_type=snap.content_type, url=snap.url, select=select, remove=remove
            )
            elapsed = (time.perf_counter() - started) * 1000
            if mode == "no_selectors":
                self.timings_ms.append(elapsed)
                started = time.perf_counter()
                visible_fingerprint(body, content_type=snap.content_type)
                self.fingerprint_ms.append((time.perf_counter() - started) * 1000)
            self._cache[key] = result
        return self._cache[key]


def _join(texts: Sequence[str]) -> str:
    return "\n\n".join(t.strip("\n") for t in texts if t.strip())


# ---------------------------------------------------------------------------
# fidelity


def _reason_class(results: Sequence[Extraction], snaps: Sequence[Snapshot], s: Score) -> str:
    if any((sn.content_type or "").endswith("pdf") for sn in snaps):
        return "PDF"
    bad = [r for r in results if not r.is_ok]
    if bad:
        reason = bad[0].reason or bad[0].status
        if "javascript" in reason.lower() or bad[0].status == "empty":
            return f"JavaScript shell / empty ({reason})"
        return f"error page or wall ({bad[0].status}: {reason})"
    if s.precision < 0.5 and s.recall < 0.5:
        return "wrong block chosen"
    if s.precision < s.recall:
        return "boilerplate kept (low precision)"
    return "content dropped (low recall)"


def _summary(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"median_f1": None, "p10_f1": None, "min_f1": None, "n": 0}
    ordered = sorted(values)
    p10 = ordered[int(0.1 * (len(ordered) - 1))] if len(ordered) > 1 else ordered[0]
    return {
        "median_f1": round(statistics.median(ordered), 4),
        "p10_f1": round(p10, 4),
        "min_f1": round(ordered[0], 4),
        "n": len(ordered),
    }


def measure_fidelity(
    root: Path, documents: Sequence[Document], extractor: Extractor, mode: str
) -> dict:
    """Scores of every gold version of every document in one mode."""
    by_path = {s.path: s for d in documents for s in d.snapshots}
    rows = []
    per_document = {}
    for doc in documents:
        doc_f1 = []
        for gold in gold_pairs(doc):
            snaps = [by_path[p] for p in gold.snapshot_paths]
            results = [extractor(s, mode) for s in snaps]
            ours = _join([r.text for r in results if r.is_ok])
            s = score(ours, (root / gold.path).read_text("utf-8"))
            doc_f1.append(s.f1)
            rows.append(
                {
                    "document": doc.name,
                    "gold": gold.path,
                    "snapshots": [sn.path for sn in snaps],
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4),
                    "tokens_ours": s.ours,
                    "tokens_gold": s.gold,
                    "reason": _reason_class(results, snaps, s),
                }
            )
        if doc_f1:
            per_document[doc.name] = _summary(doc_f1)
    summary = _summary([r["f1"] for r in rows])
    worst = sorted(rows, key=lambda r: r["f1"])[:10]
    return {**summary, "per_document": per_document, "worst": worst, "snapshots": rows}


# ---------------------------------------------------------------------------
# change detection


def _points(doc: Document) -> list[list[Snapshot]]:
    points: list[list[Snapshot]] = []
    for snap in doc.snapshots:
        if points and points[-1][0].captured_at == snap.captured_at:
            points[-1].append(snap)
        else:
            points.append([snap])
    return points


def _epochs(points: Sequence[list[Snapshot]]) -> list[list[list[Snapshot]]]:
    """Runs of points under one declaration shape: the single-page declaration
    (source "") or the multi-page one (named sources). A declaration that
    switches between them is a registry edit; each run is versioned with its
    own page list, and the runs' observations are versioned together."""
    epochs: list[list[list[Snapshot]]] = []
    previous = None
    for snaps in points:
        shape = any(s.source == "" for s in snaps)
        if epochs and shape == previous:
            epochs[-1].append(snaps)
        else:
            epochs.append([snaps])
        previous = shape
    return epochs


def our_versions(
    doc: Document, extract: Callable[[Snapshot], Extraction], points: Sequence[list[Snapshot]]
) -> tuple[Version, ...]:
    """The document's versions as the process flow builds them.

    Same steps as ``flows.process.version_document``: captures whose
    extraction is not ``ok`` are left out, each page is screened against its
    last accepted text (`screen_pages` with `quality.is_collapse`), the pages
    are combined (`combine_pages`: once every page has been seen, the latest
    accepted text of each, in declaration order) and `build_versions` groups
    equal consecutive texts.
    """
    observations: list[Observation] = []
    for epoch in _epochs(points):
        seen = {s.source for snaps in epoch for s in snaps}
        sources = [src for src in doc.sources if src in seen]
        pages: list[PageText] = []
        texts: dict[str, str] = {}
        for snaps in epoch:
            for snap in snaps:
                result = extract(snap)
                if not result.is_ok:
                    continue
                sha = sha256_hex(result.text)
                texts[sha] = result.text
                pages.append(PageText(sources.index(snap.source), snap.captured_at, snap.path, sha))
        accepted, _rejected = screen_pages(pages, texts, is_collapse)
        found, _combined = combine_pages(accepted, len(sources), texts)
        observations.extend(found)
    return build_versions(doc.name, observations)


def change_tokens(text: str) -> tuple[str, ...]:
    """A gold text as compared for change detection: its tokens (as in
    `tokenize`) with the emphasis marks kept (``**``, ``*``). A word that
    becomes bold is a change of the text; a new link target, an empty link or
    a different Markdown spelling of the same words (``* `` or ``*   `` for a
    bullet, an escaped ``\\_``) is not."""
    return tuple(_CHANGE_TOKEN.findall(strip_markdown(text, keep_emphasis=True).lower()))


def measure_changes(
    root: Path,
    documents: Sequence[Document],
    extract: Callable[[Snapshot], Extraction],
) -> dict:
    """Our "text changed here" events against the gold versions' boundaries."""
    gold_cache: dict[str, tuple[str, ...]] = {}

    def tokens_of(path: str) -> tuple[str, ...]:
        if path not in gold_cache:
            file = root / path
            gold_cache[path] = change_tokens(file.read_text("utf-8")) if file.is_file() else ()
        return gold_cache[path]

    def gold_texts(doc: Document, snaps: Sequence[Snapshot]) -> frozenset[tuple[str, ...]]:
        """Token sequences of the versions tied to a point (paired or in effect)
        that had started by then: a page fetched before the other pages of a
        multi-page version is tied to it, but that version starts later."""
        when = snaps[0].captured_at
        later = {v.path for v in doc.versions if v.captured_at > when}
        paths = {p for s in snaps for p in (*s.paired_versions, s.version_in_effect_path) if p}
        return frozenset(tokens_of(p) for p in paths - later)

    totals = Counter()
    per_document = {}
    for doc in documents:
        points = _points(doc)
        starts = {v.valid_from for v in our_versions(doc, extract, points)[1:]}
        gold_starts = {v.captured_at for v in doc.versions}
        prev_gold: frozenset[tuple[str, ...]] | None = None
        tp = fp = fn = noise = 0
        events = []
        for i, snaps in enumerate(points):
            when = snaps[0].captured_at
            ours_event = when in starts
            gold_now = gold_texts(doc, snaps) or None
            # a gold change: a version of the corpus starts at this point, and
            # no text of this point's versions is one of the previous point's
            # (a ``~2`` re-extraction of the same snapshots is not a change)
            gold_event = (
                i > 0
                and when in gold_starts
                and any(s.role == "referenced" for s in snaps)
                and prev_gold is not None
                and gold_now is not None
                and not (gold_now & prev_gold)
            )
            if ours_event and gold_event:
                tp += 1
            elif ours_event:
                fp += 1
                if all(s.role == "noise" for s in snaps):
                    noise += 1
            elif gold_event:
                fn += 1
            if ours_event or gold_event:
                events.append(
                    {
                        "capture_time": when.isoformat(),
                        "ours": ours_event,
                        "gold": gold_event,
                        "roles": sorted({s.role for s in snaps}),
                    }
                )
            if gold_now is not None:
                prev_gold = gold_now
        totals.update(tp=tp, fp=fp, fn=fn, noise=noise)
        per_document[doc.name] = {
            "true_positive": tp,
            "false_positive": fp,
            "missed": fn,
            "noise_versions": noise,
            "events": events,
        }
    tp, fp, fn = totals["tp"], totals["fp"], totals["fn"]
    return {
        "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0,
        "precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
        "noise_versions": totals["noise"],
        "gold_changes": tp + fn,
        "our_changes": tp + fp,
        "per_document": per_document,
    }


# ---------------------------------------------------------------------------
# the whole run


def run(root: Path) -> dict:
    documents = load_corpus(root)
    extractor = Extractor(root)
    result: dict = {"corpus": str(root), "documents": len(documents), "fidelity": {}}
    for mode in MODES:
        result["fidelity"][mode] = measure_fidelity(root, documents, extractor, mode)
    result["changes"] = measure_changes(root, documents, lambda s: extractor(s, "no_selectors"))
    result["changes_with_selectors"] = measure_changes(
        root, documents, lambda s: extractor(s, "selectors")
    )
    result["extract_ms_median"] = round(statistics.median(extractor.timings_ms), 2)
    result["fingerprint_ms_median"] = round(statistics.median(extractor.fingerprint_ms), 2)
    return result


def render(result: dict) -> str:
    lines = [f"corpus: {result['corpus']} ({result['documents']} documents)", ""]
    lines.append(f"{'mode':<14}{'median F1':>10}{'p10 F1':>9}{'min F1':>9}{'n':>5}")
    for mode in MODES:
        f = result["fidelity"][mode]
        lines.append(f"{mode:<14}{f['median_f1']:>10}{f['p10_f1']:>9}{f['min_f1']:>9}{f['n']:>5}")
    lines.append("")
    names = sorted(result["fidelity"]["no_selectors"]["per_document"])
    lines.append(f"{'document':<48}{'no sel. med':>12}{'min':>7}{'sel. med':>10}{'min':>7}")
    for name in names:
        a = result["fidelity"]["no_selectors"]["per_document"][name]
        b = result["fidelity"]["selectors"]["per_document"].get(name, {})
        lines.append(
            f"{name[:47]:<48}{a['median_f1']:>12}{a['min_f1']:>7}"
            f"{b.get('median_f1', '-')!s:>10}{b.get('min_f1', '-')!s:>7}"
        )
    for mode in MODES:
        lines.append("")
        lines.append(f"ten worst ({mode}):")
        for row in result["fidelity"][mode]["worst"]:
            lines.append(
                f"  F1 {row['f1']:.3f} P {row['precision']:.3f} R {row['recall']:.3f}  "
                f"{row['gold']}  -- {row['reason']}"
            )
    for key in ("changes", "changes_with_selectors"):
        c = result[key]
        lines.append("")
        lines.append(
            f"{key}: recall {c['recall']}, precision {c['precision']}, noise versions "
            f"{c['noise_versions']} (gold {c['gold_changes']}, ours {c['our_changes']})"
        )
        for name, d in sorted(c["per_document"].items()):
            if d["false_positive"] or d["missed"]:
                lines.append(
                    f"  {name}: tp {d['true_positive']} fp {d['false_positive']} "
                    f"missed {d['missed']} noise {d['noise_versions']}"
                )
    lines.append("")
    lines.append(
        f"extract median {result['extract_ms_median']} ms, "
        f"fingerprint median {result['fingerprint_ms_median']} ms"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fidelity", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--out", type=Path, default=None, help="write the JSON results here")
    args = parser.parse_args(argv)
    try:
        result = run(args.corpus)
    except CorpusMissing as err:
        print(f"fidelity benchmark skipped: {err}")
        return 0
    result["command"] = " ".join(["python -m bench.fidelity", *(argv or sys.argv[1:])])
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
