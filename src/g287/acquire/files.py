"""Archive files written whole or not at all, and the locks that keep writers apart."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from g287.errors import Conflict


class ArchiveBusy(Conflict):
    """Another g287 process holds the archive's lock."""


def remove_written(paths: list[Path]) -> None:
    """Undo ``outputs.write_bytes`` for these files, and drop folders they leave empty."""
    for path in paths:
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only succeeds when empty


@contextmanager
def archive_lock(archive: Path, name: str, *, wait: float = 0.0, what: str = "g287",
                 busy: type[ArchiveBusy] = ArchiveBusy) -> Iterator[Path]:
    """Hold ``archive/.<name>.lock`` (fcntl.flock, released by the kernel if we die).

    Waits up to ``wait`` seconds for a holder to finish; then raises ArchiveBusy naming
    the holder's process id, which the lock file records (``busy`` picks the subclass).
    """
    archive.mkdir(parents=True, exist_ok=True)
    path = archive / f".{name}.lock"
    deadline = time.monotonic() + wait
    with path.open("a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise busy(f"{path}: another {what} is running on this archive "
                                      f"(pid {holder})") from exc
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
