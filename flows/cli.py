"""The `clausetrail` command.

Write commands (run, demo, capture, backfill, process, export, digest, import,
import-warc, serve) run the Prefect flows in-process. Read commands (sql, status) open the DuckDB file
read-only and never import Prefect, so they answer in about a second.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from flows import signals
from flows.settings import Settings

console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)


def prefect_defaults(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Quiet, offline-friendly Prefect defaults, unless the user set them."""
    environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    environ.setdefault("DO_NOT_TRACK", "1")
    environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _runs_flows(
    command: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """A write command: Prefect's quiet defaults, and a Prefect API for its flow
    runs that a Ctrl-C in the terminal does not take down with them
    (`flows.prefect_api.local_api`)."""

    @functools.wraps(command)
    def wrapper(args: argparse.Namespace) -> int:
        prefect_defaults()
        from flows.prefect_api import local_api

        with local_api():
            return command(args)

    return wrapper


def _settings(args: argparse.Namespace, **extra: object) -> Settings:
    return Settings.from_env(
        data_dir=args.data_dir,
        sources=getattr(args, "sources", None),
        wayback_base=getattr(args, "wayback_base", None),
        workers=getattr(args, "workers", None),
        **extra,
    )


def _print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(str(column))
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    console.print(table)


def _summary(settings: Settings, flows_summary: dict[str, dict] | None = None) -> None:
    from warehouse import queries
    from warehouse.db import open_warehouse

    con = open_warehouse(settings.database, read_only=True)
    try:
        counts = queries.summary(con)
    finally:
        con.close()
    rows = [[name, counts[name]] for name in ("documents", "captures", "versions", "problems")]
    rows.append(["captures not usable (failed or rejected)", counts["unusable_captures"]])
    _print_table(f"clausetrail — {settings.database}", ["what", "count"], rows)
    written = (flows_summary or {}).get("digest")
    if written:
        console.print(
            f"digest: {written['path']} ({written['changes']} clause changes in "
            f"{written['documents']} documents since {written['since'][:16]} UTC)",
            markup=False,
            highlight=False,
        )
    unreachable = (flows_summary or {}).get("backfill", {}).get("unreachable")
    if unreachable:
        err_console.print(f"[yellow]{unreachable}. Check the network and run again.[/yellow]")
    elif flows_summary and flows_summary.get("backfill", {}).get("stopped"):
        err_console.print(
            "[yellow]The archive kept refusing; backfill stopped cleanly. "
            f"Retry after {flows_summary['backfill'].get('retry_after')}.[/yellow]"
        )


def _open_read(settings: Settings):  # type: ignore[no-untyped-def]
    from warehouse.db import open_warehouse

    return open_warehouse(settings.database, read_only=True)


def _day(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "current"  # type: ignore[attr-defined]


def _print_timeline(settings: Settings, document_ids: Sequence[str] | None = None) -> None:
    from warehouse import queries

    con = _open_read(settings)
    try:
        docs = document_ids or [row[0] for row in queries.timeline(con)]
        for document_id in dict.fromkeys(docs):
            document_id, name, _platform = queries.document_row(con, document_id)
            rows = queries.document_timeline(con, document_id)
            _print_table(
                f"{document_id} {name} — one row per version (UTC)",
                [
                    "#",
                    "valid from",
                    "valid to",
                    "stated",
                    "captures",
                    "clauses",
                    "added",
                    "removed",
                    "modified",
                    "moved",
                ],
                [
                    (n, _day(f), _day(t), st, c, cl, a, r, m, mv)
                    for n, _v, f, t, st, c, cl, a, r, m, mv in rows
                ],
            )
    finally:
        con.close()


DIFF_TOKEN = re.compile(r"\[-(.*?)-\]|\{\+(.*?)\+\}", re.S)


def _diff_markup(diff_text: str) -> str:
    """Rich markup for a rendered diff: removed words struck in red, added in green."""
    from rich.markup import escape

    out, last = [], 0
    for match in DIFF_TOKEN.finditer(diff_text):
        out.append(escape(diff_text[last : match.start()]))
        if match[1] is not None:
            out.append(f"[red strike]{escape(match[1])}[/]")
        else:
            out.append(f"[green]{escape(match[2])}[/]")
        last = match.end()
    out.append(escape(diff_text[last:]))
    return "".join(out)


def _print_changes(changes: Sequence[tuple[str, str, str, str]], title: str) -> None:
    """Changes as (kind, clause id, heading, rendered diff)."""
    colours = {"added": "green", "removed": "red", "modified": "yellow", "moved": "cyan"}
    console.rule(title)
    if not changes:
        console.print("no clause changed")
    for kind, clause_id, heading, rendered in changes:
        console.print(f"[{colours.get(kind, 'white')}]{kind:8}[/] [bold]{clause_id}[/] {heading}")
        if console.is_terminal:
            console.print("    " + _diff_markup(rendered), soft_wrap=True)
        else:  # keep the [-removed-]{+added+} marks when piped
            console.print("    " + rendered, soft_wrap=True, markup=False)


# ------------------------------------------------------------------ commands


@_runs_flows
def cmd_run(args: argparse.Namespace) -> int:
    from flows.track import track

    settings = _settings(args)
    summary = track(
        settings, from_=args.from_, to=args.to, live=not args.no_live, wayback=not args.no_wayback
    )
    _summary(settings, summary)
    return 0


@_runs_flows
def cmd_demo(args: argparse.Namespace) -> int:
    from flows.demo_site import demo_captures, demo_live_pages, demo_settings
    from flows.local_archive import LocalArchive
    from flows.track import track

    data_dir = Path(args.data_dir or "data/demo")
    with LocalArchive(demo_captures(), demo_live_pages()) as archive:
        settings = demo_settings(data_dir, archive, workers=args.workers)
        summary = track(settings)
    _summary(settings, summary)
    _print_timeline(settings)
    return 0


@_runs_flows
def cmd_capture(args: argparse.Namespace) -> int:
    from flows.capture import capture

    settings = _settings(args)
    capture(settings)
    _summary(settings)
    return 0


@_runs_flows
def cmd_backfill(args: argparse.Namespace) -> int:
    from flows.backfill import backfill

    settings = _settings(args)
    summary = backfill(settings, from_=args.from_, to=args.to, force=args.force)
    _summary(settings, {"backfill": summary})
    return 0


@_runs_flows
def cmd_process(args: argparse.Namespace) -> int:
    from flows.process import process

    settings = _settings(args)
    process(settings)
    _summary(settings)
    return 0


@_runs_flows
def cmd_export(args: argparse.Namespace) -> int:
    from flows.export import export

    settings = _settings(args)
    result = export(settings, out=args.out)
    _print_table(
        f"Parquet export — {result['out']}", ["table", "rows"], sorted(result["rows"].items())
    )
    console.print(f"manifest: {result['manifest']}")
    return 0


@_runs_flows
def cmd_digest(args: argparse.Namespace) -> int:
    from flows.digest import DigestError, digest

    settings = _settings(args)
    try:
        result = digest(settings, since=args.since, out=args.out)
    except DigestError as err:
        err_console.print(f"[red]error:[/red] {err}")
        return 2
    console.print(result["text"], markup=False, highlight=False, soft_wrap=True)
    console.print(f"digest: {result['path']}", markup=False, highlight=False)
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    from warehouse import queries
    from warehouse.db import open_warehouse

    settings = _settings(args)
    if not args.query.strip():
        err_console.print("[red]error:[/red] the query is empty")
        return 2
    con = open_warehouse(settings.database, read_only=True)
    try:
        # read-only means no file either: COPY ... TO, ATTACH, read_csv and
        # the like could otherwise overwrite a raw blob or the export
        con.execute("SET enable_external_access = false")
        columns, rows = queries.run_query(con, args.query)
    except duckdb.Error as err:
        err_console.print(f"[red]error:[/red] {err}")
        return 2
    finally:
        con.close()
    if args.format == "json":
        console.print_json(
            json.dumps([dict(zip(columns, r, strict=True)) for r in rows], default=str)
        )
    elif args.format == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        _print_table("", columns, rows)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from warehouse import queries
    from warehouse.db import open_warehouse

    settings = _settings(args)
    _summary(settings)
    con = open_warehouse(settings.database, read_only=True)
    try:
        runs = queries.recent_runs(con)
        problems = queries.problem_counts(con)
    finally:
        con.close()
    _print_table("Last runs", ["run", "flow", "started", "finished", "status", "message"], runs)
    _print_table("Problems by kind", ["stage", "reason", "count"], problems)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from warehouse.db import open_warehouse
    from warehouse.rawstore import RawStore
    from warehouse.verify import verify_store

    settings = _settings(args)
    con = open_warehouse(settings.database, read_only=True)
    try:
        report = verify_store(con, RawStore(settings.raw_dir))
    finally:
        con.close()
    rows = [
        ["blobs checked", report.checked],
        ["missing", len(report.missing)],
        ["altered", len(report.altered)],
        ["Wayback digest mismatch", len(report.digest_mismatch)],
        ["in the store but unreferenced", report.unreferenced],
    ]
    _print_table(f"Raw store — {settings.raw_dir}", ["check", "count"], rows)
    for label, shas in (
        ("missing", report.missing),
        ("altered", report.altered),
        ("digest mismatch", report.digest_mismatch),
    ):
        for sha in shas:
            err_console.print(f"[red]{label}:[/red] {sha}")
    return 0 if report.ok else 1


def _document(con, ref: str) -> tuple:  # type: ignore[no-untyped-def]
    from warehouse import queries
    from warehouse.db import WarehouseError

    row = queries.document_row(con, ref)
    if row is None:
        raise WarehouseError(f"no document {ref!r}: give an id like D-00001 or platform/slug")
    return row


def cmd_history(args: argparse.Namespace) -> int:
    from warehouse import queries

    settings = _settings(args)
    con = _open_read(settings)
    try:
        document_id = _document(con, args.document)[0]
        timeline = queries.document_timeline(con, document_id)
    finally:
        con.close()
    _print_timeline(settings, [document_id])
    if args.changes:
        con = _open_read(settings)
        try:
            for _n, version_id, valid_from, *_rest in timeline[1:]:
                rows = queries.version_changes(con, version_id)
                _print_changes(rows, f"{document_id} on {_day(valid_from)} ({version_id})")
        finally:
            con.close()
    return 0


def _version_clauses(con, version_id: str):  # type: ignore[no-untyped-def]
    from transforms.clauses import Clause
    from transforms.lineage import VersionClauses
    from warehouse import queries

    rows = queries.version_clauses(con, version_id)
    return VersionClauses(
        tuple(r[0] for r in rows),
        tuple(Clause(r[1], tuple(r[2]), r[3], r[4], r[5], r[6]) for r in rows),
    )


def cmd_diff(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    import duckdb

    from transforms.lineage import changes_between
    from warehouse import queries
    from warehouse.db import WarehouseError

    settings = _settings(args)
    con = _open_read(settings)
    try:
        document_id, name, _ = _document(con, args.document)
        to = args.to or datetime.now(UTC).isoformat()
        ends = []
        for when in (args.from_, to):
            try:  # checked first: with no version to compare, DuckDB never casts it
                queries.as_time(con, when)
            except duckdb.ConversionException as err:
                raise WarehouseError(
                    f"{when!r} is not a time: give a UTC date or time such as 2023-01-01 "
                    "or 2023-01-01T12:00"
                ) from err
            found = queries.version_at(con, document_id, when)
            if found is None:
                raise WarehouseError(f"{document_id} had no known version at {when}")
            ends.append(found)
        old, new = (_version_clauses(con, version_id) for version_id, _ in ends)
    finally:
        con.close()
    paths = {i: c.heading_path for i, c in zip(old.ids, old.clauses, strict=True)}
    paths.update({i: c.heading_path for i, c in zip(new.ids, new.clauses, strict=True)})
    rows = [
        (c.kind, c.clause_id, " > ".join(paths.get(c.clause_id, ())), c.rendered)
        for c in changes_between(old, new)
    ]
    _print_changes(
        rows,
        f"{document_id} {name}: {ends[0][0]} ({_day(ends[0][1])}) -> {ends[1][0]} ({_day(ends[1][1])})",
    )
    return 0


def cmd_clause(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from warehouse import queries
    from warehouse.db import WarehouseError

    settings = _settings(args)
    con = _open_read(settings)
    try:
        rows = queries.clause_history(con, args.clause_id)
    finally:
        con.close()
    if not rows:
        raise WarehouseError(f"no clause {args.clause_id!r}")
    console.rule(f"{args.clause_id} — one entry per version it appears in or left (UTC)")
    previous = None
    for version_id, valid_from, valid_to, heading, _label, text, change, diff_text, labels in rows:
        where = escape(heading or "")
        tags = f"  [cyan]\\[{', '.join(labels)}][/]" if labels else ""
        console.print(f"[bold]{_day(valid_from)} → {_day(valid_to)}[/] {version_id}  {where}{tags}")
        if change and previous is not None:
            shown = _diff_markup(diff_text) if console.is_terminal else escape(diff_text)
            console.print(f"  [yellow]{change}[/]: " + shown, soft_wrap=True)
        elif previous is None or text != previous:
            console.print("  " + text, soft_wrap=True, markup=False)
        else:
            console.print("  (unchanged)")
        previous = text
    return 0


@_runs_flows
def cmd_rebuild(args: argparse.Namespace) -> int:
    from flows.rebuild import rebuild

    settings = _settings(args)
    result = rebuild(settings, out=args.out, replace=args.replace)
    _print_table(
        f"Rebuild into {result['database']}",
        ["table", "rows before", "rows rebuilt", "only before", "only rebuilt"],
        [
            (t["table"], t["rows_old"], t["rows_new"], t["only_old"], t["only_new"])
            for t in result["tables"]
        ],
    )
    verdict = "identical" if result["identical"] else "DIFFERENT"
    console.print(f"derived tables: {verdict}; replaced: {result['replaced']}")
    return 0 if result["identical"] else 1


@_runs_flows
def cmd_import(args: argparse.Namespace) -> int:
    from flows.importer import CorpusImportError, import_corpus

    settings = _settings(args)
    try:
        result = import_corpus(settings, args.path, selectors=args.selectors)
    except CorpusImportError as err:
        err_console.print(f"[red]error:[/red] {err}")
        return 2
    _print_table(
        f"Imported {args.path}",
        ["what", "count"],
        [
            ["documents", result.documents],
            ["snapshots", result.snapshots],
            ["new captures", result.captures_added],
            ["problems", result.problems],
        ],
    )
    for reason in result.skipped:
        err_console.print(f"[yellow]skipped:[/yellow] {reason}")
    console.print(
        f"next: clausetrail --data-dir {settings.data_dir} process --sources {result.registry}"
    )
    return 0


@_runs_flows
def cmd_import_warc(args: argparse.Namespace) -> int:
    from flows.warc_import import WarcImportError, import_warcs

    settings = _settings(args)
    try:
        counts = import_warcs(settings, args.paths)
    except WarcImportError as err:
        err_console.print(f"[red]error:[/red] {err}")
        return 2
    _print_table(
        "Imported WARC files",
        ["what", "count"],
        [
            ["files", counts.files],
            ["response and revisit records", counts.records],
            ["of them, pages of registry documents", counts.matched],
            ["new captures", counts.captures_added],
            ["problems", counts.problems],
        ],
    )
    if counts.problems:
        err_console.print(
            f"[yellow]{counts.problems} problems recorded (stage 'import'): "
            "see clausetrail status[/yellow]"
        )
    console.print(f"next: clausetrail --data-dir {settings.data_dir} process")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    prefect_defaults()
    from flows.prefect_api import local_api

    settings = _settings(args)
    # the full server: Prefect's ephemeral one runs no scheduler, so served
    # schedules would never make a run
    with local_api(scheduler=True) as server:
        from flows.serve import schedule_lines, serve_all

        if server is not None:
            err_console.print(
                f"Prefect API: {server.api_url} (a local server with its scheduler, stopped "
                f"when serve ends; set PREFECT_API_URL to use another); its log: {server.log_path}",
                soft_wrap=True,  # a path stays on one line
            )
            err_console.print(
                "serving:\n" + "\n".join(schedule_lines(server.api_url)),
                soft_wrap=True,
                markup=False,
            )
        serve_all(settings, announce=server is None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clausetrail",
        description="Clause-level version history of platforms' legal documents.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="data directory (default: $CLAUSETRAIL_DATA_DIR or ./data)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func, help_text: str, registry: bool = True) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        if registry:
            p.add_argument(
                "--sources",
                type=Path,
                default=None,
                help="registry file (default: <data-dir>/sources.yaml if it exists, "
                "else sources.yaml)",
            )
            p.add_argument(
                "--wayback-base",
                default=None,
                help="archive base URL (default: https://web.archive.org)",
            )
            p.add_argument(
                "--workers",
                type=int,
                default=None,
                help="worker processes (extraction, document builds)",
            )
        return p

    p = command(
        "run", cmd_run, "capture live pages, backfill Wayback captures, process, export, digest"
    )
    p.add_argument("--from", dest="from_", default=None, help="Wayback timestamp prefix, e.g. 2023")
    p.add_argument("--to", default=None, help="Wayback timestamp prefix, e.g. 20251231")
    p.add_argument("--no-live", action="store_true", help="skip the live capture")
    p.add_argument("--no-wayback", action="store_true", help="skip the Wayback backfill")
    p = command(
        "demo", cmd_demo, "the same flows, offline, on the bundled local archive", registry=False
    )
    p.add_argument(
        "--workers", type=int, default=None, help="worker processes (extraction, document builds)"
    )
    command("capture", cmd_capture, "fetch the current page of every tracked document")
    p = command("backfill", cmd_backfill, "download every distinct Wayback capture")
    p.add_argument("--from", dest="from_", default=None, help="Wayback timestamp prefix")
    p.add_argument("--to", default=None, help="Wayback timestamp prefix")
    p.add_argument(
        "--force", action="store_true", help="call the archive even before its Retry-After time"
    )
    command("process", cmd_process, "extract text and rebuild versions")
    p = command("export", cmd_export, "write the analyst tables to Parquet with a manifest")
    p.add_argument("--out", default=None, help="output directory (default: <data-dir>/export)")
    p = command("digest", cmd_digest, "the clause changes since the last digest, as Markdown")
    p.add_argument(
        "--since",
        default=None,
        help="start of the window, YYYY-MM-DD[THH:MM] UTC (default: the last digest's end)",
    )
    p.add_argument(
        "--out", default=None, help="file to write (default: <data-dir>/digests/<end>.md)"
    )
    p = command("sql", cmd_sql, "run a query on the warehouse, read-only", registry=False)
    p.add_argument("query")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    command("status", cmd_status, "counts, last runs and problems", registry=False)
    p = command(
        "history", cmd_history, "a document's versions, with clause changes", registry=False
    )
    p.add_argument("document", help="D-00001 or platform/slug")
    p.add_argument("--changes", action="store_true", help="list every clause change too")
    p = command(
        "diff", cmd_diff, "clause-level diff of a document between two times", registry=False
    )
    p.add_argument("document", help="D-00001 or platform/slug")
    p.add_argument("--from", dest="from_", required=True, help="a UTC time, e.g. 2023-01-01")
    p.add_argument("--to", default=None, help="a UTC time (default: now)")
    p = command("clause", cmd_clause, "one clause's full history", registry=False)
    p.add_argument("clause_id", help="e.g. P-000123")
    p = command(
        "rebuild",
        cmd_rebuild,
        "re-derive every table from the raw store into a fresh database and compare",
    )
    p.add_argument(
        "--out",
        default=None,
        help="database file to build (default: <data-dir>/rebuild/clausetrail.duckdb)",
    )
    p.add_argument(
        "--replace", action="store_true", help="swap the rebuilt database in when identical"
    )
    command(
        "verify",
        cmd_verify,
        "re-hash every stored blob; non-zero exit if any is bad",
        registry=False,
    )
    p = command(
        "import",
        cmd_import,
        "import a folder of snapshots laid out like the Open Terms Archive corpus",
    )
    p.add_argument("path", type=Path, help="folder with manifest.jsonl")
    p.add_argument("--selectors", action="store_true", help="keep the declared CSS selectors")
    p = command(
        "import-warc",
        cmd_import_warc,
        "import the registry documents' pages found in WARC files as captures",
    )
    p.add_argument("paths", type=Path, nargs="+", help="WARC files (.warc or .warc.gz)")
    command("serve", cmd_serve, "serve the scheduled deployments (no worker needed)")
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Errors that are bad input or a bad environment, not bugs: the CLI prints
    them as one `error:` paragraph, without a traceback."""
    from flows.prefect_api import PrefectServerError
    from flows.settings import SettingsError
    from transforms.registry import RegistryError
    from warehouse.db import WarehouseError

    return (PrefectServerError, RegistryError, SettingsError, WarehouseError)


# what Prefect's engines log (at ERROR) for a run that a stop signal ended
_STOP_CRASHES = tuple(
    f"Crash detected! Execution was aborted by {what} signal."
    for what in ("an interrupt", "a termination")
)


class _QuietExpected(logging.Filter):
    """Drop Prefect's "Encountered exception" record (and its traceback) for an
    expected error, or for whatever a stop signal raised on its way out (a
    query cut short), and its "Crash detected!" line for a run a stop signal
    ended: `main` prints one paragraph for each case."""

    def __init__(self, expected: tuple[type[BaseException], ...]) -> None:
        super().__init__()
        self.expected = expected

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            stopped = signals.stop_requested()
            return not (stopped and record.getMessage().startswith(_STOP_CRASHES))
        return not (isinstance(exc, self.expected) or signals.stop_requested())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import duckdb

    expected = _expected_errors()
    quiet = _QuietExpected((*expected, duckdb.IOException, OSError))
    loggers = [logging.getLogger(name) for name in ("prefect.flow_runs", "prefect.task_runs")]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        with signals.handle_stop_signals(exiting_after=True):
            code = args.func(args)
            signals.stop_if_signalled()  # a signal whose exception was swallowed on the way
            return code
    except BaseException as err:
        stopped = signals.exit_code(err)
        if stopped is not None:
            word = "interrupted" if stopped == 128 + signal.SIGINT else "terminated"
            err_console.print(
                f"[yellow]{word}:[/yellow] what was committed is kept; "
                "run the same command again to finish"
            )
            return stopped
        if isinstance(err, expected):
            err_console.print(f"[red]error:[/red] {err}")
            return 2
        if isinstance(err, duckdb.IOException):  # a damaged database file, a full disk
            err_console.print(f"[red]error:[/red] the database cannot be used: {err}")
            return 2
        if isinstance(err, OSError):  # a data directory that cannot be written, a full disk
            where = f"{err.filename}: " if err.filename else ""
            err_console.print(f"[red]error:[/red] {where}{err.strerror or err}")
            return 2
        raise
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)


def run() -> None:
    """The `clausetrail` executable: `main`, then the process's exit.

    A command stopped by a signal (exit 130, 143, 129) runs the exit handlers
    (they stop the local Prefect server) and then leaves at once, without the
    interpreter's finalisation: in the test of a Ctrl-C, 1 run in 3 (under
    pytest, with its harness server beside it) died of SIGINT (-2) after
    `main` had handled the signal and printed its line (where exactly is
    not known; docs/reliability.md).
    """
    import atexit

    code = main()
    if code in {128 + signum for signum in signals.STOPS}:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
