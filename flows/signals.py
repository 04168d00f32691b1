"""Ctrl-C and SIGTERM for the command line: stop, keep what was committed.

`handle_stop_signals` makes either signal an exception in the main thread
(KeyboardInterrupt for SIGINT, `Terminated` for SIGTERM and SIGHUP) and
remembers it. Remembering matters because the exception does not always get
out: when a signal lands while Prefect's engine closes a flow run (it joins
its heartbeat thread there), the engine swallows it and the command carried
on to its end and exited 0. `stop_if_signalled`, called where a flow opens
and between the items of a long loop, raises it again, so the next flow or
the next item never starts; `exit_code` says how the command ends.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

received: list[int] = []  # the signals caught while `handle_stop_signals` is active
_wakeup: list[int] = []  # the read end of the wakeup pipe, while one is set


class Terminated(SystemExit):
    """SIGTERM (or SIGHUP), raised as an exit so that the interpreter's exit
    handlers run: they stop the Prefect server a write command started
    (killed by the signal's default action, the process would leave it
    running)."""


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(128 + signum)


def _caught(signum: int, _frame: object) -> None:
    received.append(signum)
    _raise_for(signum)


def _collect() -> None:
    """Add the stop signals the wakeup pipe saw to `received`.

    Python writes the number of every signal it traps to the wakeup fd,
    whichever Python handler then runs. That is how a SIGTERM that Prefect's
    own handler took is known here even when Prefect never saw its
    exception: raised inside a DuckDB query, it comes out as "Query
    interrupted".
    """
    if not _wakeup:
        return
    try:
        data = os.read(_wakeup[0], 512)
    except BlockingIOError:
        return
    received.extend(signum for signum in data if signum in STOPS)


def _noted(signum: int, _frame: object) -> None:
    received.append(signum)


def stop_requested() -> bool:
    """Whether a stop signal was caught."""
    _collect()
    return bool(received)


def stop_if_signalled() -> None:
    """Raise again for a stop signal caught earlier whose exception was lost."""
    _collect()
    if received:
        _raise_for(received[-1])


def exit_code(err: BaseException | None = None) -> int | None:
    """128 + the signal when the command is ending because of one, else None.

    `err` is the exception the command ended with, if any: ours; Prefect's
    TerminationSignal when SIGTERM lands in its engine outside the part that
    hands it back to us; or whatever the exception became on its way up
    (DuckDB turns an exception raised during a query into "Query
    interrupted"), once the handler has run.
    """
    _collect()
    prefect_exceptions = sys.modules.get("prefect.exceptions")
    if isinstance(err, Terminated):
        return int(err.code or 143)
    if prefect_exceptions is not None and isinstance(err, prefect_exceptions.TerminationSignal):
        return 128 + int(err.signal)
    if isinstance(err, KeyboardInterrupt):
        return 128 + signal.SIGINT
    if received:
        return 128 + received[-1]
    return None


def reset_in_worker() -> None:
    """A forked worker's start: the command's stop handling is not its own.

    It inherits the wakeup pipe, so a signal only the worker got (the pool
    terminating its workers after one died) would read as a stop of the
    whole command. Ctrl-C still reaches the workers (they are in the
    terminal's process group) and ends them with KeyboardInterrupt, as
    Python's default does.
    """
    signal.set_wakeup_fd(-1)
    for signum in STOPS:
        if signal.getsignal(signum) is _caught:  # an ignored signal stays ignored
            default = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
            signal.signal(signum, default)


@contextmanager
def handle_stop_signals(*, exiting_after: bool = False) -> Iterator[None]:
    """Catch SIGINT, SIGTERM and SIGHUP for the block (main thread only; a
    signal the process was started ignoring stays ignored).

    In a flow run Prefect turns SIGTERM into its TerminationSignal, then
    restores this handler and sends the signal again. With `exiting_after`
    (the command line, which exits when the block ends), a stop signal that
    comes after one was caught is only noted from the end of the block on:
    raised there, past every handler, it turned an orderly exit 130 into a
    death by SIGINT (-2, seen once in a test run).
    """
    previous: dict[int, object] = {}
    received.clear()
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    previous_fd: int | None = None
    try:
        previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        _wakeup.append(read_end)
        for signum in STOPS:
            previous[signum] = signal.signal(signum, _caught)
            if previous[signum] == signal.SIG_IGN:  # e.g. SIGHUP under nohup: stays ignored
                signal.signal(signum, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals are not ours to handle
        pass
    try:
        yield
    finally:
        _collect()
        _wakeup.clear()
        if previous_fd is not None:
            signal.set_wakeup_fd(previous_fd)
        os.close(read_end)
        os.close(write_end)
        stopping = exiting_after and bool(received)
        for signum, handler in previous.items():
            signal.signal(signum, _noted if stopping else handler)  # type: ignore[arg-type]
