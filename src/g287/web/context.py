"""Per-request database access and answers cached per state of the history.

Every request reads one snapshot: one read-only connection inside one read
transaction, shared by everything that answers it (SQLite in WAL mode lets readers go
on while ``g287 ingest`` writes, and a reader's transaction never sees half of an
ingest, nor the sheets of two different ingests). Answers that take more than a few milliseconds
are cached under a key that changes whenever a publication or capture is added, so
they are never stale.

The cache is bounded in bytes, whatever clients ask (every date of a map is a key):
at most ``$G287_CACHE_MB`` (default 64) MB of answers per worker process, least
recently used first out; one answer larger than a quarter of that is not kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sqlite3
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar

from g287 import store

T = TypeVar("T")
CACHE_ENV = "G287_CACHE_MB"
DEFAULT_CACHE_MB = 64
_snapshot: ContextVar[sqlite3.Connection | None] = ContextVar("g287_snapshot", default=None)


def cache_budget() -> int:
    """Bytes of answers one worker process may keep (``$G287_CACHE_MB``, default 64)."""
    try:
        megabytes = float(os.environ.get(CACHE_ENV, DEFAULT_CACHE_MB))
    except ValueError:
        megabytes = DEFAULT_CACHE_MB
    return max(0, int(megabytes * 1024 * 1024))


def size_of(value: object, limit: int) -> int:
    """The memory an answer holds (its objects, counted once each), counted until it
    passes ``limit``: text and bytes by length, containers and dataclasses by content."""
    total, seen, todo = 0, set(), [value]
    while todo and total <= limit:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, str | bytes | bytearray | int | float | bool) or item is None:
            continue
        if isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            todo.extend(item)
        elif dataclasses.is_dataclass(item):
            todo.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif hasattr(item, "__dict__"):
            todo.append(vars(item))
    return total


class History:
    """The history database behind one web app."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._cache: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self._cached_bytes = 0
        self.budget = cache_budget()
        self._lock = threading.Lock()
        self._version: tuple[tuple, tuple[str, str | None]] | None = None
        self._files_watched = (str(self.path), f"{self.path}-wal")

    def _files(self) -> tuple:
        """Size and modification time of the database and its WAL: any commit changes them."""
        out: list[tuple[int, int] | None] = []
        for path in self._files_watched:
            try:
                stat = os.stat(path)
                out.append((stat.st_size, stat.st_mtime_ns))
            except FileNotFoundError:
                out.append(None)
        return tuple(out)

    def current(self) -> tuple[str, str | None]:
        """``version`` of the history now, read again only when its files changed."""
        files = self._files()
        known = self._version
        if known is not None and known[0] == files:
            return known[1]
        conn = store.connect(self.path, readonly=True)  # the newest state, not a request's snapshot
        try:
            value = self.version(conn)
        finally:
            conn.close()
        self._version = (files, value)
        return value

    def peek(self, key: tuple) -> object | None:
        """A cached answer for the history as it is now, or None (never computes)."""
        with self._lock:
            found = self._cache.get((self.current()[0], *key))
            return None if found is None else found[0]

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """The request's snapshot when one is open (:meth:`snapshot`), else a new one."""
        shared = _snapshot.get()
        if shared is not None:
            yield shared
            return
        conn = store.connect(self.path, readonly=True)
        try:
            conn.execute("BEGIN")  # every statement on this connection reads the same state
            yield conn
        finally:
            conn.close()

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction that every :meth:`connect` inside the block shares."""
        with self.connect() as conn:
            token = _snapshot.set(conn)
            try:
                yield conn
            finally:
                _snapshot.reset(token)

    @staticmethod
    def version(conn: sqlite3.Connection) -> tuple[str, str | None]:
        """(ETag, Last-Modified time) of the history's current state."""
        row = conn.execute(
            "SELECT COUNT(*), MAX(first_captured), (SELECT COUNT(*) FROM captures),"
            " (SELECT value FROM meta WHERE key = 'fold') FROM publications").fetchone()
        digest = hashlib.sha256("|".join(str(v) for v in row).encode()).hexdigest()[:20]
        return f'"{digest}"', row[1]

    def cached(self, conn: sqlite3.Connection, key: tuple, compute: Callable[[], T]) -> T:
        """``compute()`` once per state of the history (as ``conn`` sees it) and key, kept
        while the cache's byte budget allows (least recently used answers leave first)."""
        full = (self.version(conn)[0], *key)
        with self._lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                return self._cache[full][0]  # type: ignore[return-value]
        value = compute()
        size = size_of(value, self.budget // 4)
        if size > self.budget // 4:
            return value
        with self._lock:
            if full in self._cache:
                return value
            while self._cache and self._cached_bytes + size > self.budget:
                self._cached_bytes -= self._cache.popitem(last=False)[1][1]
            self._cache[full] = (value, size)
            self._cached_bytes += size
        return value

    @property
    def cached_bytes(self) -> int:
        """Bytes of answers held now (never more than ``budget``)."""
        return self._cached_bytes


class OneSnapshot:
    """ASGI middleware: each HTTP request is answered from one snapshot of the history."""

    def __init__(self, app: Callable, history: History) -> None:
        self.app = app
        self.history = history

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self.history.snapshot():
            await self.app(scope, receive, send)
