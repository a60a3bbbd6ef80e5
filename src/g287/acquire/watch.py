"""Repeated fetches on a schedule, one watcher at a time, stopping cleanly on a signal."""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from g287.acquire.files import ArchiveBusy, archive_lock
from g287.errors import BadInput

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class WatchLocked(ArchiveBusy):
    """Another watcher holds the archive's watch lock."""


class WatchAborted(Exception):
    """A second signal arrived during a run: the run is abandoned (it stores nothing)."""


def parse_duration(text: str) -> float:
    """``30m``, ``6h``, ``1d`` or ``45s`` as seconds."""
    match = _DURATION.match(text.strip().lower())
    if not match or float(match.group(1)) <= 0:
        raise BadInput(f"{text!r} is not a duration; write e.g. 30m, 6h or 1d")
    return float(match.group(1)) * _SECONDS[match.group(2)]


@contextmanager
def exclusive_lock(archive: Path) -> Iterator[Path]:
    """Hold ``archive/.g287-watch.lock`` for the whole watch; fail at once if it is taken."""
    with archive_lock(archive, "g287-watch", what="g287 watch", busy=WatchLocked) as path:
        yield path


def watch(run_once: Callable[[threading.Event], None], every: float, archive: Path,
          log: Callable[[str], None], max_runs: int | None = None, started: str | None = None) -> int:
    """Run ``run_once`` now and then every ``every`` seconds until SIGTERM/SIGINT.

    Runs never overlap: the next starts ``every`` seconds after the previous ended.
    A first signal sets the event handed to ``run_once`` (which stops at its next safe
    point) and ends the watch after the run; a second signal during a run aborts it
    (its writes are undone by the fetch's own cleanup). ``started`` is logged once the
    lock is held. Returns the number of runs.
    """
    stop = threading.Event()
    running = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.is_set() and running.is_set():
            log(f"received {name} again; aborting the current run")
            raise WatchAborted(name)
        log(f"received {name}; " + ("stopping after the current run" if running.is_set() else "stopping"))
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    runs = 0
    try:
        with exclusive_lock(archive):
            if started:
                log(started)
            runs = _loop(run_once, every, log, max_runs, stop, running)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log(f"watch ended after {runs} run(s)")
    return runs


def _loop(run_once: Callable[[threading.Event], None], every: float, log: Callable[[str], None],
          max_runs: int | None, stop: threading.Event, running: threading.Event) -> int:
    runs = 0
    try:
        while not stop.is_set():
            runs += 1
            running.set()
            try:
                run_once(stop)
            except WatchAborted:
                raise
            except Exception as exc:  # a failed run is logged; the watch goes on
                log(f"run {runs} failed: {exc}")
            finally:
                running.clear()
            if max_runs is not None and runs >= max_runs:
                break
            if not stop.is_set():
                log(f"next run in {every:g} s")
            stop.wait(every)
    except WatchAborted:
        log(f"run {runs} aborted")
    return runs
