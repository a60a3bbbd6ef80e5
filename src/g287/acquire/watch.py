"""Repeated fetches on a schedule, one watcher at a time, stopping cleanly on a signal."""

from __future__ import annotations

import fcntl
import re
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class WatchLocked(RuntimeError):
    """Another watcher holds the archive's lock."""


def parse_duration(text: str) -> float:
    """``30m``, ``6h``, ``1d`` or ``45s`` as seconds."""
    match = _DURATION.match(text.strip().lower())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration; write e.g. 30m, 6h or 1d")
    return float(match.group(1)) * _SECONDS[match.group(2)]


@contextmanager
def exclusive_lock(archive: Path) -> Iterator[Path]:
    """Hold ``archive/.g287-watch.lock`` for the whole watch; fail at once if taken."""
    archive.mkdir(parents=True, exist_ok=True)
    path = archive / ".g287-watch.lock"
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise WatchLocked(f"{path}: another g287 watch is running on this archive") from exc
        try:
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def watch(run_once: Callable[[threading.Event], None], every: float, archive: Path,
          log: Callable[[str], None], max_runs: int | None = None) -> int:
    """Run ``run_once`` now and then every ``every`` seconds until SIGTERM/SIGINT.

    Runs never overlap: the next one starts after the previous one ended. A signal
    sets the event handed to ``run_once`` (which stops at its next safe point, never
    inside a transaction) and ends the loop. Returns the number of runs.
    """
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log(f"received {signal.Signals(signum).name}; stopping after the current run")
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    runs = 0
    try:
        with exclusive_lock(archive):
            while not stop.is_set():
                runs += 1
                try:
                    run_once(stop)
                except Exception as exc:  # a failed run is logged; the watch goes on
                    log(f"run {runs} failed: {exc}")
                if max_runs is not None and runs >= max_runs:
                    break
                stop.wait(every)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return runs
