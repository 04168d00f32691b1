"""kill -9 at several points of a run, then a re-run: the warehouse ends
identical to an uninterrupted run's.

The run is a real subprocess (`tests/crash_driver.py`: the backfill and
process flows on the demo site) against a LocalArchive served by this test
process. The driver stops at a named kill point, writes a ready file and
waits; the test kills it with SIGKILL, runs the driver again to completion,
and compares every table's content columns with the uninterrupted run's
(`crash_driver.VOLATILE_COLUMNS` lists the columns left out: run ids and
fetch/processing times).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import duckdb
import psutil
import pytest
from conftest import is_local_server
from crash_driver import table_digests

from flows.demo_site import demo_captures, write_demo_registry
from flows.local_archive import LocalArchive
from warehouse.rawstore import RawStore

pytestmark = [pytest.mark.faults, pytest.mark.slow]

DRIVER = Path(__file__).resolve().parent / "crash_driver.py"

# (kill point, at which passage); each is a different moment of the run
KILL_POINTS = [
    ("download", 3),  # bodies stored, their batch not committed
    ("blob", 5),  # a blob half written: temporary file on disk, not renamed
    ("cursor", 2),  # a batch committed, the page's cursor not yet moved
    ("extract", 1),  # inside the extraction transaction, before COMMIT
    ("version", 2),  # inside a version replace (old rows deleted), before COMMIT
]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRASH_")}
    env.update(extra)
    return env


def _run(data_dir: Path, sources: Path, base: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(DRIVER), str(data_dir), str(sources), base],
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _run_and_kill(data_dir: Path, sources: Path, base: str, point: str, at: int) -> str:
    ready = data_dir.parent / f"ready-{point}"
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), str(data_dir), str(sources), base],
        env=_env(
            CRASH_KILL_POINT=point,
            CRASH_KILL_AT=str(at),
            CRASH_READY_FILE=str(ready),
            CRASH_BATCH="2",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"driver ended before kill point {point}#{at}: {out}\n{err}")
            if time.monotonic() > deadline:
                pytest.fail(f"kill point {point}#{at} never reached")
            time.sleep(0.02)
        started = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # nothing the killed run started lives on (pool workers see their parent
    # go; a Prefect server it had started would serve on, orphaned, for good)
    _gone, alive = psutil.wait_procs(started, timeout=30)
    left = []
    for child in alive:
        with suppress(psutil.NoSuchProcess):
            left.append(" ".join(child.cmdline()[:6]))
            child.kill()
    assert not left, f"the killed run left processes behind: {left}"
    return ready.read_text()


def _assert_sound(data_dir: Path) -> None:
    """No partial or altered blob, no orphan or duplicate row."""
    raw = RawStore(data_dir / "raw")
    assert not list(raw.partial_dir.glob(".partial-*")), "a partial blob remains"
    for sha in raw:
        body = raw.path_for(sha).read_bytes()
        assert hashlib.sha256(body).hexdigest() == sha, f"blob {sha} does not hash to its name"
    con = duckdb.connect(str(data_dir / "clausetrail.duckdb"), read_only=True)
    try:
        checks = {
            "capture without its blob": "SELECT raw_sha256 FROM captures WHERE raw_sha256 IS NOT NULL",
        }
        held = set(raw)
        for (sha,) in con.execute(checks["capture without its blob"]).fetchall():
            assert sha in held, f"capture points to missing blob {sha}"
        orphans = {
            "version_captures -> versions": "SELECT count(*) FROM version_captures vc "
            "WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.version_id = vc.version_id)",
            "version_captures -> captures": "SELECT count(*) FROM version_captures vc "
            "WHERE NOT EXISTS (SELECT 1 FROM captures c WHERE c.capture_id = vc.capture_id)",
            "versions without captures": "SELECT count(*) FROM versions v WHERE NOT EXISTS "
            "(SELECT 1 FROM version_captures vc WHERE vc.version_id = v.version_id)",
            "versions -> texts": "SELECT count(*) FROM versions v WHERE NOT EXISTS "
            "(SELECT 1 FROM texts t WHERE t.text_sha256 = v.text_sha256)",
            "clause_versions -> versions": "SELECT count(*) FROM clause_versions cv "
            "WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.version_id = cv.version_id)",
            "clause_versions -> clauses": "SELECT count(*) FROM clause_versions cv "
            "WHERE NOT EXISTS (SELECT 1 FROM clauses c WHERE c.clause_id = cv.clause_id)",
            "changes -> versions": "SELECT count(*) FROM changes ch WHERE NOT EXISTS "
            "(SELECT 1 FROM versions v WHERE v.version_id = ch.to_version_id)",
            "extractions -> captures": "SELECT count(*) FROM extractions e WHERE NOT EXISTS "
            "(SELECT 1 FROM captures c WHERE c.raw_sha256 = e.raw_sha256)",
            "extractions -> texts": "SELECT count(*) FROM extractions e WHERE e.text_sha256 "
            "IS NOT NULL AND NOT EXISTS (SELECT 1 FROM texts t WHERE t.text_sha256 = e.text_sha256)",
            "duplicate observations": "SELECT count(*) FROM (SELECT source, original_url, "
            "captured_at FROM captures GROUP BY ALL HAVING count(*) > 1)",
            "runs left running": "SELECT count(*) FROM runs WHERE status = 'running' "
            "AND finished_at IS NOT NULL",
        }
        for name, sql in orphans.items():
            assert con.execute(sql).fetchone()[0] == 0, name
    finally:
        con.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    sources = write_demo_registry(root / "sources.yaml")
    with LocalArchive(demo_captures()) as archive:
        reference = root / "reference"
        done = _run(reference, sources, archive.base_url)
        assert done.returncode == 0, done.stderr
        yield {
            "root": root,
            "sources": sources,
            "archive": archive,
            "reference": table_digests(reference / "clausetrail.duckdb"),
        }


@pytest.mark.parametrize(("point", "at"), KILL_POINTS, ids=[p for p, _ in KILL_POINTS])
def test_kill_then_rerun_ends_identical_to_an_uninterrupted_run(site, point, at):
    data_dir = site["root"] / f"killed-{point}"
    archive = site["archive"]
    note = _run_and_kill(data_dir, site["sources"], archive.base_url, point, at)
    assert point in note
    if point == "blob":
        partials = list((data_dir / "raw" / "partial").glob(".partial-*"))
        assert partials, "the kill point must leave a half-written blob behind"

    archive.clear_log()
    done = _run(data_dir, site["sources"], archive.base_url)
    assert done.returncode == 0, done.stderr

    assert table_digests(data_dir / "clausetrail.duckdb") == site["reference"]
    _assert_sound(data_dir)
    # the re-run downloads only what the killed run had not committed
    replays = [r.path for r in archive.requests_of("replay")]
    assert len(replays) == len(set(replays)), "a capture was downloaded twice by the re-run"
    if point in ("extract", "version"):
        assert replays == [], "the backfill had finished: nothing to download again"
    else:
        assert 0 < len(replays) < len(demo_captures())
    # the killed run is recorded as running (it never finished); the re-run completed
    con = duckdb.connect(str(data_dir / "clausetrail.duckdb"), read_only=True)
    try:
        statuses = con.execute("SELECT flow, status FROM runs ORDER BY started_at").fetchall()
    finally:
        con.close()
    assert statuses[-2:] == [("backfill", "completed"), ("process", "completed")]
    assert ("backfill", "running") in statuses or ("process", "running") in statuses


def test_a_second_writer_gets_a_clear_error_and_the_file_stays_intact(
    site, prefect_harness, capsys, hold_database
):
    """A flow run (process) while another process holds the DuckDB file for writing."""
    from flows.cli import main

    reference = site["root"] / "reference"
    database = reference / "clausetrail.duckdb"
    holder = hold_database(database)
    code = main(["--data-dir", str(reference), "process", "--sources", str(site["sources"])])
    err = " ".join(capsys.readouterr().err.split())
    holder.kill()
    holder.wait()
    assert code == 2
    assert "Traceback" not in err  # one error paragraph, not Prefect's report of it
    assert f"is open for writing by process {holder.pid}" in err
    assert "one writer at a time" in err
    assert table_digests(database) == site["reference"]


@pytest.mark.faults
@pytest.mark.parametrize(
    ("how", "expected_code", "word"),
    [("SIGTERM to the command", 143, "terminated"), ("Ctrl-C in its terminal", 130, "interrupted")],
)
def test_a_stop_signal_ends_the_run_and_the_prefect_server_it_started(
    tmp_path, migrated_prefect_home, how, expected_code, word
):
    """SIGTERM to a write command (the demo), or SIGINT to its whole process
    group (what Ctrl-C in a terminal sends), ends it with 128 + the signal and
    leaves no process behind: the Prefect server it started is stopped too.
    That server runs in a session of its own, so Ctrl-C does not reach it
    (in the caller's group it died with the run, which then retried it for
    minutes and failed with a connection error)."""
    import signal
    import time

    import psutil

    temp = tmp_path / "tmp"  # where the server's log goes
    temp.mkdir()
    env = {**os.environ, "PREFECT_HOME": str(migrated_prefect_home), "TMPDIR": str(temp)}
    env.pop("PREFECT_API_URL", None)  # its own server, not the test harness's
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "--data-dir", str(tmp_path / "demo"), "demo"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal gives it
    )
    try:
        main = psutil.Process(proc.pid)
        deadline = time.monotonic() + 120
        # wait until the server runs and the demo has begun writing
        while time.monotonic() < deadline and proc.poll() is None:
            servers = [c for c in main.children(recursive=True) if is_local_server(c)]
            if servers and (tmp_path / "demo" / "clausetrail.duckdb").exists():
                break
            time.sleep(0.2)
        assert proc.poll() is None and servers, "the demo ended before it could be stopped"
        assert all(os.getpgid(s.pid) != proc.pid for s in servers), "server in the caller's group"
        logs = list(temp.glob("clausetrail-prefect-server-*.log"))
        assert len(logs) == 1, logs  # its output goes there, not to the terminal
        if expected_code == 143:
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=120)  # a bound for a hang, not a speed check
        err = proc.stderr.read()
        psutil.wait_procs(servers, timeout=30)
        left = [p.pid for p in servers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stderr.close()
    assert left == [], f"the Prefect server outlived the run: {left}"
    assert not logs[0].exists(), "the stopped server's log was left behind"
    # not killed by the signal's default action (-15, -2), not a success, and
    # not an error: a signal that lands inside a DuckDB query surfaces there as
    # "Query interrupted", and the exit code still says which signal it was
    assert code == expected_code, err[-2000:]
    assert f"{word}: what was committed is kept" in " ".join(err.split())
    assert "Traceback" not in err and "connection attempts failed" not in err, err[-2000:]
    assert "Crash detected" not in err, err[-2000:]  # Prefect's line for the same stop


@pytest.mark.faults
def test_the_prefect_server_of_a_killed_command_stops_itself(tmp_path, migrated_prefect_home):
    """SIGKILL (or the out-of-memory killer) runs no exit handler, so the
    command cannot stop the server it started; that server sees its parent
    gone and stops on its own (before, it served on its port for good)."""
    import psutil

    env = {**os.environ, "PREFECT_HOME": str(migrated_prefect_home), "TMPDIR": str(tmp_path)}
    env.pop("PREFECT_API_URL", None)  # a server of its own, as a command without one
    command = (
        "import time; from flows.prefect_api import LocalServer; server = LocalServer(); "
        "server.spawn(); server.wait(120); print(server.process.pid, server.log_path, flush=True); "
        "time.sleep(600)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", command], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        pid, log = proc.stdout.readline().split()  # once it answers its health check
        server = psutil.Process(int(pid))
        assert is_local_server(server) and server.ppid() == proc.pid
        proc.kill()
        proc.wait(timeout=30)
        # a bound for a hang, not a speed check: it looks once a second
        gone, alive = psutil.wait_procs([server], timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    for process in alive:
        process.kill()
    assert gone and not alive, "the server outlived the command that started it"
    assert f"started this Prefect server ({proc.pid}) is gone" in Path(log).read_text()


@pytest.mark.faults
def test_a_local_prefect_server_that_cannot_start_says_why(tmp_path, monkeypatch):
    """The server's own log has the reason; the error quotes its end and
    names the file, which is kept. (Its exit code is the same as for a port
    taken meanwhile, which was retried until the start timeout: 180 s here.)"""
    import tempfile

    from flows.prefect_api import LocalServer, PrefectServerError

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the log goes
    database = tmp_path / "missing" / "prefect.db"  # its folder does not exist
    monkeypatch.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", f"sqlite+aiosqlite:///{database}")
    server = LocalServer()
    server.spawn()
    try:
        with pytest.raises(PrefectServerError) as raised:
            server.wait(timeout=120)  # a bound for a hang, not a speed check
    finally:
        server.stop()
    message = str(raised.value)
    assert "exited with code 3" in message
    assert "unable to open database file" in message  # from the server's log
    assert server.log_path is not None and str(server.log_path) in message
    assert server.log_path.parent == tmp_path and server.log_path.is_file()
