"""The README's SQL examples run against the demo warehouse; its commands exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from flows.cli import build_parser
from warehouse.db import open_warehouse

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SQL_BLOCKS = re.findall(r"```sql\n(.*?)```", README, re.S)


def test_readme_has_sql_examples():
    assert len(SQL_BLOCKS) >= 4


@pytest.mark.e2e
@pytest.mark.parametrize("sql", SQL_BLOCKS, ids=[f"sql{i}" for i in range(len(SQL_BLOCKS))])
def test_readme_sql_runs_on_the_demo(demo_run, sql):
    con = open_warehouse(demo_run["settings"].database, read_only=True)
    try:
        rows = con.execute(sql).fetchall()
    finally:
        con.close()
    if "-- may be empty" not in sql:
        assert rows, f"README example returned no rows on the demo warehouse:\n{sql}"


def test_every_clausetrail_command_in_the_readme_parses():
    parser = build_parser()
    commands = re.findall(r"^(?:\.venv/bin/)?clausetrail (.+)$", README, re.M)
    assert commands
    for line in commands:
        argv = shlex.split(line)
        if "|" in line or "[" in line:
            continue  # usage patterns in the command table
        parser.parse_args(argv)


def _subcommands(parser) -> dict:
    return next(a for a in parser._actions if a.dest == "command").choices


def test_every_command_and_flag_in_the_readme_tables_exists():
    """Usage patterns (`clausetrail run [--from ...] [--no-live]`) in the
    tables and the prose: each subcommand exists and takes each flag named."""
    parser = build_parser()
    subcommands = _subcommands(parser)
    usages = []
    for row in re.findall(r"^\| (`clausetrail [^|]*?`(?: / `[^`]+`)*) ", README, re.M):
        usages += [
            u if u.startswith("clausetrail ") else f"clausetrail {u}"
            for u in re.findall(r"`([^`]+)`", row)
        ]
    usages += re.findall(r"`(clausetrail [^`]+)`", README)
    assert len(usages) >= 15
    for usage in usages:
        words = [w for w in usage.split()[1:] if not w.startswith("-")]
        name = words[0] if words and words[0] in subcommands else None
        assert name or usage.split()[1].startswith("-"), usage
        known = set(parser._option_string_actions)
        if name:
            known |= set(subcommands[name]._option_string_actions)
        for flag in re.findall(r"(?<![\w-])--[a-z][\w-]*", usage):
            assert flag in known, f"{usage}: {flag}"


def test_make_targets_named_in_the_readme_exist():
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    for target in set(re.findall(r"^make (\w+)", README, re.M)):
        assert re.search(rf"^{target}:", makefile, re.M), target


@pytest.mark.e2e
def test_the_demo_command_builds_the_warehouse_and_prints_the_timeline(
    prefect_harness, tmp_path, capsys
):
    from flows.cli import main

    assert main(["--data-dir", str(tmp_path), "demo", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "D-00001 Lumen Privacy Policy — one row per version" in out
    assert "D-00002 Lumen Terms of Service — one row per version" in out
    assert (tmp_path / "clausetrail.duckdb").is_file()
    assert (tmp_path / "export" / "manifest.json").is_file()
