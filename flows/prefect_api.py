"""The Prefect API the command line's flow runs report to, when none is set.

Without ``PREFECT_API_URL``, Prefect starts a temporary API server for the
first flow run, as a child process in the caller's process group. Ctrl-C in
a terminal signals the whole foreground group, so that server died together
with the run it served; the run's engine then retried the dead server for one
to five minutes before it failed with a connection traceback (measured on the
demo: 67 s, and over 300 s). `local_api` starts the same server (Prefect's
application factory under uvicorn, as Prefect runs it) in a session of its
own, where no terminal signal reaches it: the interrupted run reports its
state to a server that is still there, the command exits 130 within
seconds, and `local_api` stops the server on the way out. The server is
spawned before Prefect is imported here, so its boot and that import (about
2 s) overlap.

`clausetrail serve` asks for the full server (``scheduler=True``): the
ephemeral flavour runs none of Prefect's background services, the scheduler
among them, so the schedules it served never made a run.

The server writes its own log (its services' errors, among them the
tracebacks of the event flushes a stop cuts short) to a file of its own,
not to the command's terminal: `LocalServer.log_path`. The file is removed
when the server is stopped, except for `serve`'s, and a server that fails
to start has its log's last lines in the error.

The server also watches the process that started it, and stops itself
when that one is gone: a command killed with SIGKILL (or by the kernel's
out-of-memory killer) runs no exit handler, and its server, out of reach of
the terminal, would otherwise be left serving on its port for good.

A server the user configured (``PREFECT_API_URL``, as under
``prefect_test_harness`` or with ``prefect server start``) is used as it is.
"""

from __future__ import annotations

import atexit
import errno
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

log = logging.getLogger("clausetrail")

STARTUP_FAILURE = 3  # uvicorn's exit code when it cannot bind its port or its app fails to start
LOG_TAIL_LINES = 20  # of the server's log, in the error when it fails to start


class PrefectServerError(RuntimeError):
    """The local Prefect server did not come up."""


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServer:
    """A Prefect API server on 127.0.0.1, in its own session.

    With `scheduler`, the full server: its background services, the
    scheduler among them, create the runs of served deployments' schedules.
    Otherwise Prefect's ephemeral flavour, which runs none of them and starts
    faster.
    """

    def __init__(self, *, scheduler: bool = False) -> None:
        self.scheduler = scheduler
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None  # the server's stdout and stderr
        self._log_start = 0
        self.keep_log = scheduler  # a served run's log may be wanted after `serve` ends

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _spawn(self) -> subprocess.Popen[bytes]:
        # no Prefect import here, so that the server boots while the caller
        # imports Prefect (2 s); the server reads the same environment and
        # profile as the caller, and the command line sets no other settings
        prefect_spec = importlib.util.find_spec("prefect")
        if prefect_spec is None or prefect_spec.origin is None:
            raise PrefectServerError("Prefect is not installed")
        self.port = _free_port()
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_FINAL": "1"}
        if not self.scheduler:
            env["PREFECT__SERVER_EPHEMERAL"] = "1"  # Prefect's own flag for this flavour
        env.pop("PREFECT_API_URL", None)
        command = [
            sys.executable,
            "-m",
            "flows.prefect_api",  # uvicorn, and a watch on this process (`_serve`)
            str(os.getpid()),
            "--app-dir",
            str(Path(prefect_spec.origin).parent.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ]
        assert self.log_path is not None, "spawn opens the log"
        self._log_start = self.log_path.stat().st_size  # this attempt's part of the log
        with self.log_path.open("ab") as log:  # the child keeps a descriptor of its own
            return subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # the point: out of the terminal's process group
            )

    def spawn(self) -> None:
        """Start the server process; `wait` for it to answer."""
        handle, name = tempfile.mkstemp(prefix="clausetrail-prefect-server-", suffix=".log")
        os.close(handle)
        self.log_path = Path(name)
        self.process = self._spawn()
        atexit.register(self.stop)  # also on an exit that skips `local_api`'s finally

    def wait(self, timeout: float) -> None:
        """Wait until the server's health check answers."""
        from prefect.client.orchestration import SyncPrefectClient

        assert self.process is not None, "spawn first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code == STARTUP_FAILURE and self._port_was_taken():
                self.process = self._spawn()  # another process took the port meanwhile
                continue
            if code is not None:
                self.keep_log = True
                raise PrefectServerError(
                    f"the local Prefect server exited with code {code}{self._log_tail()}"
                )
            with SyncPrefectClient(self.api_url) as client:
                if client.api_healthcheck() is None:  # None when healthy
                    return
            time.sleep(0.1)
        self.keep_log = True
        self.stop()
        raise PrefectServerError(
            f"the local Prefect server did not answer within {timeout:.0f} s "
            f"(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS sets the wait){self._log_tail()}"
        )

    def _port_was_taken(self) -> bool:
        """Whether the last attempt's log says its port was in use (uvicorn
        exits with the same code when the application fails to start)."""
        assert self.log_path is not None
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            said = log.read().decode("utf-8", errors="replace").lower()
        return os.strerror(errno.EADDRINUSE).lower() in said

    def _log_tail(self) -> str:
        """The last lines of the server's log, and where it is, for an error."""
        if self.log_path is None:
            return ""
        try:
            lines = self.log_path.read_text("utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        tail = "".join(f"\n  {line}" for line in lines[-LOG_TAIL_LINES:])
        return (
            f"; its log, {self.log_path}, ends:{tail}"
            if tail
            else f"; its log {self.log_path} is empty"
        )

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s) and remove its log
        unless `keep_log`; safe to call twice."""
        process, self.process = self.process, None
        atexit.unregister(self.stop)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.log_path is not None and not self.keep_log:
            self.log_path.unlink(missing_ok=True)


def _drain_reporting(timeout: float = 5.0) -> None:
    """Send the logs and events Prefect still queues for the API, while the
    server is up (stopped first, their exit-time flush would print a
    connection error under the command's last line)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=timeout)
        except Exception as err:  # reporting must never fail the command
            log.debug("draining %s: %s", worker.__name__, err)


@contextmanager
def local_api(*, scheduler: bool = False) -> Iterator[LocalServer | None]:
    """A Prefect API for the flow runs inside: the configured one, else a
    local server in its own session for as long as the block runs (with its
    scheduler when `scheduler`: `clausetrail serve`).

    Yields the server it started, or None when one was configured.
    """
    # spawned before Prefect is imported, so that both take their seconds at
    # once; stopped again if Prefect's settings (a profile) name a server
    server = None if os.environ.get("PREFECT_API_URL") else LocalServer(scheduler=scheduler)
    try:
        if server is not None:
            server.spawn()
        from prefect.settings import (
            PREFECT_API_URL,
            PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
            temporary_settings,
        )

        if PREFECT_API_URL.value() or server is None:
            if server is not None:
                server.stop()
            yield None
            return
        server.wait(timeout=float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()))
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            try:
                yield server
            finally:
                _drain_reporting()
    finally:
        if server is not None:
            server.stop()


PARENT_POLL_SECONDS = 1.0


def _watch_parent(parent: int) -> None:
    """Send this process SIGTERM (uvicorn's graceful stop) once `parent`
    is no longer its parent: it died, and this process was handed to init
    or a subreaper."""
    import signal
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        log.warning("the process that started this Prefect server (%d) is gone: stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _serve(argv: list[str]) -> None:
    """`python -m flows.prefect_api PARENT_PID UVICORN_ARGS...`: the server
    process `LocalServer` starts."""
    import uvicorn.main

    _watch_parent(int(argv[0]))
    uvicorn.main.main(argv[1:])


if __name__ == "__main__":
    _serve(sys.argv[1:])
