"""End-to-end processing speed and memory on a real corpus.

    python -m bench.speed --corpus ../shared/corpus [--out FILE.json] [--no-profile]

The corpus (laid out like ../shared/corpus) is imported as captures
(`flows.importer`) into a fresh data folder under a temporary directory, then
the `process` flow (extract -> version -> segment -> align -> load) is timed:

- with 1 worker and with 2 workers (`Settings.workers`: processes for
  extraction and builds), each run on its own fresh warehouse: snapshots
  per second = imported snapshots / seconds of the run. Each worker count
  is run `REPEATS` times (`--repeats`); the median run is reported, and
  every run's figure is kept (`snapshots_per_s_each`);
- an immediate re-run with nothing new, on the median run's warehouse, as a
  share of that run (`rerun_ratio`): the median of `RERUNS` re-runs (one
  takes about 0.1 s and varies by +-15 %), every one kept (`rerun_s_each`);
- peak memory: the resident memory of this process plus every child process
  it starts (the workers), sampled every 50 ms, as the sum of their
  proportional set sizes (PSS: a page shared by a forked worker and its
  parent is counted once); the plain RSS sum, which counts shared pages once
  per process, is kept as `peak_rss_sum_mb`. The Prefect server, started
  once before any timing, is left out. Sampling reads every process's
  smaps and cost the parent about 2 CPU seconds a run, so memory is taken
  in one more run per worker count, of the same work, that is not timed;
  the timed runs are not observed;
- on an archive-like history: the corpus with N noise copies after every
  HTML snapshot (a new build id in an attribute of `<html>`, 1..N seconds
  later: the HTML changed, the text did not), N from `documents.jsonl` (the
  full source archive holds 38,333 snapshots for 3,204 versions, so N = 11;
  the sample in the manifest is mostly change points). Timed once with the
  last worker count (`noisy`); it shows what the fingerprint skip buys;
- memory as the corpus grows: a third warehouse is filled in steps (25 %,
  50 %, 100 % of the snapshots in capture order, processed after each step)
  and the resident set after each step is recorded.

The flow is called as `process.fn(settings)`, which skips the flow run's own
Prefect bookkeeping; the tasks inside it still report to a Prefect API
(an ephemeral local server), so that server is started once, before timing
(`prefect_startup_s`), and the per-task API calls are part of the figures.
With profiling on, one more 1-worker run under cProfile says where the time
goes, by stage (`profile_s`; cProfile slows the run, so shares matter, not
seconds).

A missing corpus prints a message and exits 0.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import math
import os
import pstats
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

FRACTIONS = (0.25, 0.5, 1.0)
REPEATS = 5  # runs per worker count; the median one is reported
RERUNS = 5  # immediate re-runs; the median one is reported
RERUN_TARGET = 0.02
SNAPSHOTS_PER_S_TARGET = 100.0
FLAT_MEMORY_TOLERANCE = 1.25  # RSS after the whole corpus / after its first quarter


class CorpusAbsent(Exception):
    """No corpus at the given path (no manifest.jsonl)."""


def prefect_env(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Quiet, local Prefect settings; call before Prefect is first imported."""
    if "PREFECT_HOME" not in environ:
        environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="clausetrail-bench-prefect-")
    environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    environ.setdefault("DO_NOT_TRACK", "1")


# ---------------------------------------------------------------- memory


def _mb(n: float) -> float:
    return round(n / 2**20, 1)


def tree_memory(exclude: Iterable[int] = ()) -> tuple[int, int]:
    """Memory of this process and its children, minus `exclude` and their trees.

    Returns (PSS sum, RSS sum) in bytes. PSS splits each shared page among
    the processes that map it, so its sum counts every page once: the
    physical memory the tree holds. The RSS sum counts pages that forked
    workers share with their parent once per process: an upper bound.
    """
    me = psutil.Process()
    skipped: set[int] = set(exclude)
    pss = rss = 0
    for proc in [me, *me.children(recursive=True)]:
        try:
            if proc.pid in skipped or proc.ppid() in skipped:
                skipped.add(proc.pid)
                continue
            info = proc.memory_full_info()
        except psutil.Error:  # a worker that just exited
            continue
        rss += info.rss
        pss += getattr(info, "pss", info.rss)
    return pss, rss


def tree_rss(exclude: Iterable[int] = ()) -> int:
    """Resident memory of this process tree, shared pages counted once (PSS sum)."""
    return tree_memory(exclude)[0]


class RssSampler:
    """Samples `tree_rss` in a thread; `peak` is the highest sample."""

    def __init__(self, exclude: Iterable[int] = (), interval: float = 0.05):
        self.exclude = tuple(exclude)
        self.interval = interval
        self.peak = 0  # PSS sum
        self.peak_rss_sum = 0  # RSS sum (upper bound)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        pss, rss = tree_memory(self.exclude)
        self.peak = max(self.peak, pss)
        self.peak_rss_sum = max(self.peak_rss_sum, rss)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


# ---------------------------------------------------------------- prefect


def start_prefect() -> tuple[float, tuple[int, ...]]:
    """Run one trivial task so the Prefect API is up before timing.

    Returns the seconds it took and the ids of the processes it left running
    (the ephemeral server), which memory figures leave out.
    """
    from prefect import task

    @task(name="bench-warm-up")
    def warm_up() -> int:
        return 1

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    started = time.perf_counter()
    warm_up()
    elapsed = time.perf_counter() - started
    after = {p.pid for p in psutil.Process().children(recursive=True)}
    return round(elapsed, 2), tuple(sorted(after - before))


# ---------------------------------------------------------------- profile

# (file suffix, function) -> stage; cumulative seconds are summed per stage
STAGES: dict[tuple[str, str], str] = {
    ("transforms/extract.py", "fingerprint_and_extract"): "read (fingerprint + extract)",
    ("transforms/extract.py", "_fingerprint"): "fingerprint",
    ("transforms/extract.py", "_main_text"): "extract",
    ("transforms/extract.py", "_extract_pdf"): "extract: PDF",
    ("transforms/versions.py", "screen_pages"): "version",
    ("transforms/versions.py", "combine_pages"): "version",
    ("transforms/versions.py", "build_versions"): "version",
    ("transforms/clauses.py", "split_clauses"): "segment",
    ("transforms/lineage.py", "trace_with_ledger"): "segment+align (ids, changes)",
    ("transforms/align.py", "align_clauses"): "align",
    ("transforms/diff.py", "diff_words"): "word diff",
    ("warehouse/load.py", "record_extractions"): "load",
    ("warehouse/load.py", "replace_documents"): "load",
    ("warehouse/load.py", "pending_extractions"): "warehouse reads",
    ("warehouse/load.py", "page_captures"): "warehouse reads",
    ("warehouse/load.py", "capture_states"): "warehouse reads",
    ("warehouse/load.py", "known_fingerprints"): "warehouse reads",
    ("warehouse/load.py", "load_texts"): "warehouse reads",
    ("warehouse/rawstore.py", "get"): "raw store reads",
}


def stage_seconds(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative seconds per stage, and the Prefect task engine's own share."""
    out: dict[str, float] = {}
    task_total = task_body = 0.0
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        path = filename.replace(os.sep, "/")
        for (suffix, function), stage in STAGES.items():
            if name == function and path.endswith(suffix):
                out[stage] = out.get(stage, 0.0) + cumulative
        if path.endswith("prefect/task_engine.py") and name == "run_task_sync":
            task_total += cumulative
        if path.endswith("prefect/task_engine.py") and name == "call_task_fn":
            task_body += cumulative
    out["prefect task engine (outside task bodies)"] = task_total - task_body
    return {k: round(v, 2) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}


# ---------------------------------------------------------------- runs


def _settings(data_dir: Path, workers: int):  # type: ignore[no-untyped-def]
    from flows.settings import Settings

    return Settings(data_dir=data_dir, workers=workers, progress=False)


def _import(settings, corpus: Path, limit: int | None = None):  # type: ignore[no-untyped-def]
    from flows.importer import import_corpus

    started = time.perf_counter()
    result = import_corpus(settings, corpus, limit=limit)
    return (
        result,
        time.perf_counter() - started,
        settings.model_copy(update={"sources": result.registry}),
    )


def _process(settings) -> tuple[dict[str, int], float]:  # type: ignore[no-untyped-def]
    from flows.process import process

    started = time.perf_counter()
    counts = process.fn(settings)
    return counts, time.perf_counter() - started


def archive_noise_copies(corpus: Path) -> int:
    """Noise snapshots per text-changing one in the corpus's full source history.

    `documents.jsonl` counts, per document, every snapshot the source archive
    holds and every version: their ratio over all documents, minus one. The
    sample in `manifest.jsonl` over-represents change points; a real history
    is mostly noise. 0 when the counts are missing.
    """
    path = Path(corpus) / "documents.jsonl"
    if not path.is_file():
        return 0
    snapshots = versions = 0
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            snapshots += int(row.get("snapshot_commits_total") or 0)
            versions += int(row.get("versions_total") or 0)
    return max(0, round(snapshots / versions) - 1) if versions else 0


def noisy_corpus(corpus: Path, folder: Path, copies: int) -> tuple[int, int]:
    """A copy of the corpus with `copies` noise snapshots after every HTML snapshot.

    Each noise snapshot is the snapshot's bytes with a new build id in an
    attribute of its `<html>` element (what archives are full of: nonces,
    build hashes), captured 1, 2, ... seconds after it, so the visible text
    is the snapshot's and nothing but the HTML changed. A copy that would
    fall on or after the page's next snapshot, or on another row's (URL,
    time), is left out. PDFs get no copies.
    Written in the corpus layout (manifest.jsonl and files) under `folder`;
    returns (snapshots, of which noise).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        json.loads(line)
        for line in (corpus / "manifest.jsonl").read_text("utf-8").splitlines()
        if line.strip()
    ]

    def when(row: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(row["capture_time"].replace("Z", "+00:00"))

    # a copy stays before the next snapshot of the same page (or it would
    # bring an old text back) and never takes another row's (URL, time)
    taken = {(r.get("fetch_url"), when(r)) for r in rows if r.get("kind") == "snapshot"}
    pages: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("kind") == "snapshot":
            key = (r["collection"], r["service"], r["terms_type"], r.get("source_slug") or "")
            pages.setdefault(key, []).append(r)
    following: dict[str, datetime | None] = {}
    for page in pages.values():
        page.sort(key=when)
        for here, after in zip(page, [*page[1:], None], strict=True):
            following[here["path"]] = when(after) if after is not None else None
    out: list[dict[str, Any]] = []
    snapshots = noise = 0
    for row in rows:
        out.append(row)
        if row.get("kind") != "snapshot":
            continue
        source = corpus / row["path"]
        target = folder / row["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        body = source.read_bytes()
        target.write_bytes(body)
        snapshots += 1
        if row.get("is_pdf") or not row["path"].endswith(".html"):
            continue
        at, limit = when(row), following[row["path"]]
        stem = row["path"][: -len(".html")]
        for k in range(1, copies + 1):
            at_k = at + timedelta(seconds=k)
            if (limit is not None and at_k >= limit) or (row.get("fetch_url"), at_k) in taken:
                continue
            taken.add((row.get("fetch_url"), at_k))
            build = hashlib.sha256(f"{row['path']}|{k}".encode()).hexdigest()[:16]
            churned = body.replace(b"<html", f'<html data-build="{build}"'.encode(), 1)
            path = f"{stem}.noise{k}.html"
            (folder / path).write_bytes(churned)
            out.append(
                {
                    **row,
                    "path": path,
                    "capture_time": at_k.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "sha256": hashlib.sha256(churned).hexdigest(),
                    "bytes": len(churned),
                    "role": "noise",
                    "paired_versions": [],
                }
            )
            snapshots += 1
            noise += 1
    (folder / "manifest.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), "utf-8"
    )
    return snapshots, noise


def measure_noisy(corpus: Path, folder: Path, workers: int, copies: int) -> dict[str, Any]:
    """End-to-end speed on the corpus mixed with archive-like noise (see `noisy_corpus`)."""
    shutil.rmtree(folder, ignore_errors=True)
    snapshots, noise = noisy_corpus(corpus, folder / "corpus", copies)
    imported, import_s, settings = _import(_settings(folder / "data", workers), folder / "corpus")
    counts, seconds = _process(settings)
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "noise_copies_per_snapshot": copies,
        "snapshots": snapshots,
        "noise_snapshots": noise,
        # a copy whose (URL, time) another row already has is one capture
        "captures": imported.captures_added,
        "workers": workers,
        "import_s": round(import_s, 3),
        "process_s": round(seconds, 3),
        "snapshots_per_s": round(imported.captures_added / seconds, 2),
        "counts": counts,
    }


def measure_speed(
    corpus: Path,
    *,
    workers: tuple[int, ...] = (1, 2),
    fractions: tuple[float, ...] = FRACTIONS,
    profile: bool = True,
    work_dir: Path | None = None,
    noise_copies: int | None = None,
    repeats: int = REPEATS,
) -> dict[str, Any]:
    """Import and process the corpus; returns the figures (see module docstring)."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    corpus = Path(corpus)
    if not (corpus / "manifest.jsonl").is_file():
        raise CorpusAbsent(f"no corpus at {corpus} (missing manifest.jsonl)")
    prefect_env()
    startup_s, server_pids = start_prefect()
    own_dir = work_dir is None
    base = Path(tempfile.mkdtemp(prefix="clausetrail-speed-")) if own_dir else Path(work_dir)
    result: dict[str, Any] = {
        "corpus": str(corpus),
        "prefect_startup_s": startup_s,
        "called_as": "process.fn(settings) (tasks report to an ephemeral Prefect API)",
        "runs": {},
    }
    try:
        peaks = []
        for n in workers:
            tries = []
            for attempt in range(repeats):
                folder = base / f"workers-{n}-{attempt}"
                shutil.rmtree(folder, ignore_errors=True)
                imported, import_s, settings = _import(_settings(folder, n), corpus)
                # timed unobserved: sampling smaps every 50 ms cost the parent
                # about 2 CPU s per run, a fifth of the wall time on 2 cores
                counts, seconds = _process(settings)
                tries.append((seconds, attempt, settings, imported, import_s, counts))
            # the median run stands for the worker count (runs here vary by
            # +-15 %); every run's figure is kept
            tries.sort(key=lambda t: (t[0], t[1]))
            seconds, _attempt, settings, imported, import_s, counts = tries[len(tries) // 2]
            # memory: one more run of the same work, sampled, not timed
            sampled = base / f"workers-{n}-memory"
            shutil.rmtree(sampled, ignore_errors=True)
            _i, _s, memory_settings = _import(_settings(sampled, n), corpus)
            with RssSampler(server_pids) as rss:
                _process(memory_settings)
            shutil.rmtree(sampled, ignore_errors=True)
            peaks.append(rss.peak)
            run = {
                "workers": n,
                "snapshots": imported.snapshots,
                "documents": imported.documents,
                "import_s": round(import_s, 3),
                "process_s": round(seconds, 3),
                "snapshots_per_s": round(imported.snapshots / seconds, 2),
                "repeats": repeats,
                "snapshots_per_s_each": sorted(round(imported.snapshots / t[0], 2) for t in tries),
                "peak_rss_mb": _mb(rss.peak),
                "peak_rss_sum_mb": _mb(rss.peak_rss_sum),
                "counts": counts,
            }
            if n == workers[-1]:
                reruns = [_process(settings) for _ in range(RERUNS)]
                rerun_counts = reruns[0][0]
                each = sorted(seconds for _counts, seconds in reruns)
                rerun_s = each[len(each) // 2]
                run["rerun_s"] = round(rerun_s, 3)
                run["rerun_s_each"] = [round(t, 3) for t in each]
                run["rerun_counts"] = rerun_counts
                # what each re-run rebuilt and extracted: nothing, when the flow is right
                run["rerun_work_each"] = [
                    c.get("documents_rebuilt", 0) + c.get("extracted", 0) for c, _s in reruns
                ]
                result["rerun_ratio"] = round(rerun_s / seconds, 4)
            result["runs"][str(n)] = run
            result[f"snapshots_per_s_{n}_worker{'s' if n > 1 else ''}"] = run["snapshots_per_s"]
        result["snapshots"] = result["runs"][str(workers[0])]["snapshots"]
        result["peak_rss_mb"] = _mb(max(peaks))
        copies = archive_noise_copies(corpus) if noise_copies is None else noise_copies
        if copies:
            result["noisy"] = measure_noisy(corpus, base / "noisy", workers[-1], copies)
            result[f"noisy_snapshots_per_s_{workers[-1]}_workers"] = result["noisy"][
                "snapshots_per_s"
            ]
        result["memory"] = grow(corpus, base / "growing", workers[-1], fractions, server_pids)
        rss_after = [step["rss_after_mb"] for step in result["memory"]]
        result["memory_growth"] = round(rss_after[-1] / rss_after[0], 3)
        result["memory_flat"] = result["memory_growth"] <= FLAT_MEMORY_TOLERANCE
        if profile:
            result["profile_s"] = profile_run(corpus, base / "profiled")
    finally:
        if own_dir:
            shutil.rmtree(base, ignore_errors=True)
    result["targets"] = {
        "snapshots_per_s_2_workers >= 100": result.get("snapshots_per_s_2_workers", 0)
        >= SNAPSHOTS_PER_S_TARGET,
        "rerun_ratio <= 0.02": result.get("rerun_ratio", 1) <= RERUN_TARGET,
        "memory flat": result["memory_flat"],
    }
    return result


def grow(
    corpus: Path,
    folder: Path,
    workers: int,
    fractions: tuple[float, ...],
    exclude: tuple[int, ...],
) -> list[dict[str, Any]]:
    """Import the corpus in steps, processing after each; the memory after each step."""
    from flows.importer import plan_import, read_manifest

    shutil.rmtree(folder, ignore_errors=True)
    total = len(plan_import(read_manifest(corpus))[2])
    steps = []
    for fraction in fractions:
        limit = math.ceil(total * fraction)
        imported, _s, settings = _import(_settings(folder, workers), corpus, limit=limit)
        with RssSampler(exclude) as rss:
            _counts, seconds = _process(settings)
        steps.append(
            {
                "fraction": fraction,
                "snapshots": imported.snapshots,
                "process_s": round(seconds, 3),
                "rss_after_mb": _mb(tree_rss(exclude)),
                "peak_rss_mb": _mb(rss.peak),
            }
        )
    return steps


def _profiled(settings) -> dict[str, float]:  # type: ignore[no-untyped-def]
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    try:
        _process(settings)
    finally:
        profiler.disable()
    out = {"total (profiled)": round(time.perf_counter() - started, 2)}
    out.update(stage_seconds(pstats.Stats(profiler)))
    return out


def profile_run(corpus: Path, folder: Path) -> dict[str, dict[str, float]]:
    """A 1-worker run and its immediate re-run under cProfile: seconds per stage."""
    shutil.rmtree(folder, ignore_errors=True)
    _imported, _s, settings = _import(_settings(folder, 1), corpus)
    first = _profiled(settings)
    return {"first": first, "rerun": _profiled(settings)}


def render(result: dict[str, Any]) -> str:
    lines = [f"corpus: {result['corpus']} ({result['snapshots']} snapshots)"]
    lines.append(f"Prefect API start-up (not timed): {result['prefect_startup_s']} s")
    for run in result["runs"].values():
        lines.append(
            f"  {run['workers']} worker(s): {run['process_s']:.2f} s, "
            f"{run['snapshots_per_s']} snapshots/s (median of "
            f"{', '.join(map(str, run.get('snapshots_per_s_each', [])))}), "
            f"peak RSS {run['peak_rss_mb']} MB"
        )
        if "rerun_s" in run:
            lines.append(
                f"  immediate re-run: {run['rerun_s']:.2f} s = {result['rerun_ratio']:.1%} of the first"
            )
    if "noisy" in result:
        noisy = result["noisy"]
        lines.append(
            f"  with {noisy['noise_copies_per_snapshot']} noise copies per snapshot "
            f"({noisy['captures']} captures, {noisy['workers']} workers): "
            f"{noisy['process_s']:.2f} s, {noisy['snapshots_per_s']} snapshots/s, "
            f"{noisy['counts'].get('versions')} versions"
        )
    for step in result["memory"]:
        lines.append(
            f"  after {step['fraction']:.0%} ({step['snapshots']} snapshots): "
            f"RSS {step['rss_after_mb']} MB (peak {step['peak_rss_mb']} MB)"
        )
    for which, stages in result.get("profile_s", {}).items():
        lines.append(f"  where the time goes, {which} run (1 worker, cProfile, cumulative s):")
        for stage, seconds in stages.items():
            lines.append(f"    {stage:<44}{seconds:>8}")
    for name, ok in result["targets"].items():
        lines.append(f"  target {name}: {'met' if ok else 'MISSED'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.speed", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--out", type=Path, default=None, help="write the JSON results here")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    parser.add_argument(
        "--repeats", type=int, default=REPEATS, help="runs per worker count (median reported)"
    )
    args = parser.parse_args(argv)
    try:
        result = measure_speed(args.corpus, profile=not args.no_profile, repeats=args.repeats)
    except CorpusAbsent as err:
        print(f"speed benchmark skipped: {err}")
        return 0
    result["command"] = " ".join(
        ["python -m bench.speed", *(argv if argv is not None else sys.argv[1:])]
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
