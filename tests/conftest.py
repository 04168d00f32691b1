"""Shared fixtures. Prefect runs against a temporary home, quietly, offline."""

from __future__ import annotations

import os
import random
import signal
import tempfile
from pathlib import Path

import pytest

# A temporary PREFECT_HOME unless one is set. An xdist worker inherits the
# environment of the pytest process that started it, home included: the
# marker tells that home from one the caller set, and the worker makes its own.
_OWN_HOME = "CLAUSETRAIL_TESTS_PREFECT_HOME"
_home = os.environ.get("PREFECT_HOME")
if _home is None or _home == os.environ.get(_OWN_HOME):
    os.environ["PREFECT_HOME"] = os.environ[_OWN_HOME] = tempfile.mkdtemp(
        prefix="clausetrail-prefect-"
    )
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")

ROOT = Path(__file__).resolve().parent.parent

# A suite started in the background of a non-interactive shell (`(make test &)`,
# some CI runners) inherits SIGINT ignored, and the command line rightly keeps
# an ignored signal ignored (as under nohup): the Ctrl-C tests would then see
# no Ctrl-C at all. The tests stand for a command started from a terminal, so
# the signal is made live again here; the processes the tests start inherit
# the default (a caught signal is reset at exec).
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _own_random_for_websocket_pings() -> None:
    """Prefect's events client pings its websocket from a background thread,
    and websockets draws the ping payload from the global `random`. When that
    lands while Hypothesis generates an example, Hypothesis warns that a
    strategy used `random` (HypothesisDeprecationWarning). The payload needs
    no shared state, so websockets gets a generator of its own."""
    try:
        from websockets.asyncio import connection
    except ImportError:  # another websockets layout: the warning may come back, nothing breaks
        return
    if getattr(connection, "random", None) is random:
        connection.random = random.Random()  # type: ignore[assignment]


_own_random_for_websocket_pings()


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (it costs seconds to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def migrated_prefect_home(prefect_harness, tmp_path) -> Path:
    """A PREFECT_HOME whose database is migrated already, for a command run in
    a subprocess that starts a Prefect server of its own (a fresh database
    costs that server about 7 s of migrations). It is a copy of the harness
    server's database, made with SQLite's backup API, which is safe while
    that server runs."""
    import sqlite3
    from contextlib import closing

    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    source = PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split(":///", 1)[1]
    home = tmp_path / "prefect-home"
    home.mkdir()
    with (
        closing(sqlite3.connect(source)) as database,
        closing(sqlite3.connect(home / "prefect.db")) as copy,
    ):
        database.backup(copy)
    return home


def is_local_server(process) -> bool:  # a psutil.Process
    """Whether `process` is a Prefect server `flows.prefect_api` started.

    A process that ended since it was listed (serve's scheduled runs come
    and go) is not: the server lives as long as the command."""
    import psutil

    try:
        command = process.cmdline()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    return command[1:3] == ["-m", "flows.prefect_api"] and "--factory" in command


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def demo_run(prefect_harness, tmp_path_factory):
    """The demo: the real flows against the local archive, run twice.

    Returns the settings, the archive (with its request log of the second
    run) and both runs' summaries.
    """
    from flows.demo_site import demo_captures, demo_live_pages, demo_settings
    from flows.local_archive import LocalArchive
    from flows.track import track

    data_dir = tmp_path_factory.mktemp("demo")
    with LocalArchive(demo_captures(), demo_live_pages()) as archive:
        settings = demo_settings(data_dir, archive, workers=1, progress=False)
        first = track(settings)
        first_log = list(archive.requests)
        archive.clear_log()
        second = track(settings)
        second_log = list(archive.requests)
    return {
        "settings": settings,
        "first": first,
        "second": second,
        "first_log": first_log,
        "second_log": second_log,
    }


@pytest.fixture
def hold_database():
    """Start a process that holds a DuckDB file for writing until its stdin is
    closed (or the test ends); returns the `subprocess.Popen`."""
    import subprocess
    import sys

    started: list[subprocess.Popen] = []

    def start(path: Path) -> subprocess.Popen:
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
                "print('ok', flush=True); sys.stdin.read()",
                str(path),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(holder)
        assert holder.stdout.readline().strip() == "ok"
        return holder

    yield start
    for holder in started:
        holder.kill()
        holder.wait()
        for stream in (holder.stdin, holder.stdout):
            stream.close()
