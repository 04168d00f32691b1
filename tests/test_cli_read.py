"""Read commands open DuckDB read-only and never import Prefect."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

PROBE = """
import json, sys
from flows.cli import main
codes = [main(["--data-dir", sys.argv[1], *argv]) for argv in json.loads(sys.argv[2])]
print(json.dumps({"codes": codes, "prefect": sorted(m for m in sys.modules if m == "prefect")}))
"""


def test_read_commands_never_start_prefect(demo_run):
    commands = [
        ["sql", "SELECT count(*) FROM versions", "--format", "json"],
        ["status"],
        ["history", "D-00001"],
        ["clause", "P-000001"],
        ["diff", "D-00001", "--from", "2022-01-01", "--to", "2024-01-01"],
    ]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(demo_run["settings"].data_dir), json.dumps(commands)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"codes": [0, 0, 0, 0, 0], "prefect": []}


def test_sql_refuses_to_write(demo_run, capsys):
    from flows.cli import main

    code = main(["--data-dir", str(demo_run["settings"].data_dir), "sql", "DELETE FROM versions"])
    assert code == 2
    assert "read-only" in capsys.readouterr().err
