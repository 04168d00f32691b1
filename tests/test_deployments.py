"""prefect.yaml and `clausetrail serve` declare importable, single-run deployments."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml
from conftest import is_local_server
from prefect import Flow

from flows.serve import SCHEDULED_LOCK_WAIT, SCHEDULES, deployments
from flows.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_prefect_yaml_entrypoints_import_as_flows_with_one_run_at_a_time():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    names = set()
    for deployment in spec["deployments"]:
        path, _, attr = deployment["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, attr)
        assert isinstance(flow, Flow), deployment["entrypoint"]
        assert Path(path).stem == flow.name  # one flow per file, named as deployed
        assert deployment["concurrency_limit"] == 1
        # a run that finds the file held by another deployment's run waits for it
        env = deployment["work_pool"]["job_variables"]["env"]
        assert float(env["CLAUSETRAIL_LOCK_WAIT_SECONDS"]) == SCHEDULED_LOCK_WAIT
        assert deployment["schedules"][0]["timezone"] == "UTC"
        names.add(deployment["name"])
    assert names == set(SCHEDULES)
    assert {"daily-capture", "daily-process", "weekly-backfill"} <= names


def test_serve_builds_the_same_schedules(tmp_path):
    settings = Settings(data_dir=tmp_path)
    built = deployments(settings)
    assert {d.name for d in built} == set(SCHEDULES)
    spec = {
        d["name"]: d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    }
    for deployment in built:
        assert deployment.concurrency_limit == 1
        crons = [s.schedule.cron for s in deployment.schedules]
        assert crons == [spec[deployment.name]["schedules"][0]["cron"]]
        assert deployment.parameters["settings"]["data_dir"] == str(tmp_path)
        assert deployment.parameters["settings"]["lock_wait_seconds"] == SCHEDULED_LOCK_WAIT
    # a wait the settings name is kept
    mine = deployments(Settings(data_dir=tmp_path, lock_wait_seconds=5))
    assert {d.parameters["settings"]["lock_wait_seconds"] for d in mine} == {5}


def test_settings_come_from_the_environment_and_the_cli_wins(tmp_path):
    env = {
        "CLAUSETRAIL_DATA_DIR": str(tmp_path),
        "CLAUSETRAIL_WORKERS": "3",
        "CLAUSETRAIL_WAYBACK_BASE": "http://127.0.0.1:9",
    }
    settings = Settings.from_env(env, workers=1)
    assert settings.data_dir == tmp_path
    assert settings.workers == 1
    assert settings.wayback_base == "http://127.0.0.1:9"
    assert settings.database == tmp_path / "clausetrail.duckdb"


def test_serve_on_its_own_makes_the_scheduled_runs_and_stops_on_ctrl_c(
    tmp_path, migrated_prefect_home
):
    """`clausetrail serve` without a Prefect server starts its own with the
    scheduler, so every served schedule gets runs (Prefect's ephemeral server
    runs no scheduler: served deployments there never ran); Ctrl-C ends it
    with 130 and stops that server."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import threading
    import time

    import httpx
    import psutil

    env = {**os.environ, "PREFECT_HOME": str(migrated_prefect_home), "TMPDIR": str(tmp_path)}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "--data-dir", str(tmp_path / "data"), "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # Prefect prints its start message to stdout
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        url = None
        deadline = time.monotonic() + 90  # bounds for a hang, not speed checks
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            found = re.search(r"Prefect API: (\S+)", "".join(lines))  # the first line says
            url = found.group(1) if found else None
        assert url, "serve did not say which Prefect API it uses: " + "".join(lines)[-2000:]
        server = [c for c in psutil.Process(proc.pid).children() if is_local_server(c)]
        scheduled: dict[str, int] = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and set(scheduled) != set(SCHEDULES):
            time.sleep(0.5)
            names = {
                d["id"]: d["name"] for d in httpx.post(f"{url}/deployments/filter", json={}).json()
            }
            runs = httpx.post(
                f"{url}/flow_runs/filter",
                json={"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}},
            ).json()
            scheduled = {}
            for run in runs:
                if run["deployment_id"] in names:
                    name = names[run["deployment_id"]]
                    scheduled[name] = scheduled.get(name, 0) + 1
        os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=60)
        reader.join(timeout=10)
        err = "".join(lines)
        psutil.wait_procs(server, timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert set(scheduled) == set(SCHEDULES), scheduled
    assert code == 130, err[-2000:]
    assert server and not any(p.is_running() and p.status() != "zombie" for p in server)
    # its own lines, not Prefect's start message with a link to a UI it does not run
    assert f"PREFECT_API_URL={url} prefect deployment run" in err and "Prefect UI" not in err
    assert all(f"/{name}  (cron " in err for name in SCHEDULES), err[-2000:]
    # the server's log is kept after serve ends, and serve said where it is
    log = re.search(r"its log: (\S+)", " ".join(err.split()))
    assert log and Path(log.group(1)).parent == tmp_path and Path(log.group(1)).is_file(), err
