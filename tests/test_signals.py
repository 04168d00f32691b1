"""Stop signals the code they land in swallows are not lost (flows/signals.py).

The whole-process behaviour (a real demo run stopped by SIGTERM or Ctrl-C)
is tested in test_crash.py; these tests pin the two ways a signal's exception
goes missing, each made here for real with `os.kill` on this process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pytest

from flows.common import open_run
from flows.settings import Settings
from flows.signals import (
    Terminated,
    exit_code,
    handle_stop_signals,
    reset_in_worker,
    stop_if_signalled,
    stop_requested,
)


def _deliver(signum: int) -> None:
    """Send `signum` to this process and give Python the moment it needs to
    run the handler (between two bytecodes of the main thread)."""
    os.kill(os.getpid(), signum)
    for _ in range(100):
        time.sleep(0.001)


def test_a_swallowed_ctrl_c_stops_the_next_flow_before_it_opens(tmp_path):
    """Prefect's engine swallows a KeyboardInterrupt that lands while it closes
    a flow run; the next flow the command starts must not run."""
    settings = Settings(data_dir=tmp_path / "data")
    with handle_stop_signals():
        with contextlib.suppress(KeyboardInterrupt):  # swallowed, as the engine does
            _deliver(signal.SIGINT)
        with pytest.raises(KeyboardInterrupt), open_run(settings, "process", {}):
            pytest.fail("a flow opened after Ctrl-C")
    assert not settings.database.exists()  # nothing was opened, no run recorded
    assert exit_code() == 130


def test_a_sigterm_another_handler_took_is_still_known():
    """Prefect installs its own SIGTERM handler during a flow run; when its
    exception is lost (inside a DuckDB query it becomes "Query interrupted"),
    the wakeup pipe still tells which signal ended the command."""
    with handle_stop_signals():
        ours = signal.signal(signal.SIGTERM, lambda *_: None)  # stands for Prefect's
        try:
            _deliver(signal.SIGTERM)
        finally:
            signal.signal(signal.SIGTERM, ours)
        with pytest.raises(Terminated) as stopped:
            stop_if_signalled()
    assert stopped.value.code == 143
    assert exit_code(RuntimeError("Query interrupted")) == 143


def test_without_a_signal_nothing_is_raised_and_handlers_come_back():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    with handle_stop_signals():
        stop_if_signalled()
        assert exit_code(RuntimeError("a bug")) is None
        assert signal.getsignal(signal.SIGTERM) is not before[signal.SIGTERM]
    assert {s: signal.getsignal(s) for s in before} == before
    assert signal.set_wakeup_fd(-1) == -1  # the wakeup pipe is unset again


def test_a_signal_the_process_ignores_stays_ignored():
    """Started under nohup, SIGHUP is ignored; the command must not undo that."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with handle_stop_signals():
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            _deliver(signal.SIGHUP)
            stop_if_signalled()  # the pipe saw nothing: no handler trapped it
    finally:
        signal.signal(signal.SIGHUP, previous)


def _terminate_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)


def test_a_signal_only_a_worker_gets_is_not_the_commands():
    """A forked worker inherits the wakeup pipe; without `reset_in_worker`, a
    SIGTERM the pool sends its workers would read as the command's own."""
    with handle_stop_signals():
        with (
            ProcessPoolExecutor(max_workers=1, initializer=reset_in_worker) as pool,
            pytest.raises(BrokenProcessPool),  # the worker died of the signal
        ):
            pool.submit(_terminate_self).result(timeout=60)
        assert not stop_requested()
