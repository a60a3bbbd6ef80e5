"""Shared fixtures: the real ICE archive from ../shared/data, built once per session."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from g287 import config, ingest, store


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; a test that needs it fails clearly when it is missing."""
    try:
        return config.shared_data_dir()
    except config.MissingSharedData as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def ice_sheets(shared_data: Path) -> Path:
    """The archive of ICE sheets (``ice-sheets/sheets_*/``)."""
    path = shared_data / "ice-sheets"
    if not path.is_dir():
        pytest.fail(f"{path} is missing: the tests read ICE's real sheets from there", pytrace=False)
    return path


def sheet(ice_sheets: Path, capture: str, name: str) -> Path:
    """Path of one real sheet in the archive, failing clearly if it is absent."""
    path = ice_sheets / capture / name
    if not path.is_file():
        pytest.fail(f"{path} is missing from the shared archive", pytrace=False)
    return path


# Storage by version: numbers given to versions, identities and publications, whose
# content the views sheet_rows, row_issues and row_identities show row by row.
STORAGE_TABLES = ("publication_keys", "publication_rows", "row_versions", "version_issues", "identity_listings",
                  "identities")


def table_digests(conn: sqlite3.Connection) -> dict[str, str]:
    """A digest of every table's and view's rows: what a failed write must leave exactly as it was."""
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")]
    return {t: hashlib.sha256(json.dumps(sorted(repr(tuple(r)) for r in conn.execute(f'SELECT * FROM "{t}"')))
                              .encode()).hexdigest() for t in tables}


def build_history(factory: pytest.TempPathFactory, name: str, paths: list[Path]) -> Path:
    """A history ingested from ``paths`` into a fresh session folder; no file may fail."""
    path = factory.mktemp(name) / "g287.sqlite"
    conn = store.connect(path)
    report = ingest.ingest_paths(conn, paths)
    conn.close()
    assert not report.failed, report.failed
    return path


@pytest.fixture(scope="session")
def history_path(tmp_path_factory: pytest.TempPathFactory, ice_sheets: Path) -> Path:
    """A database built from the whole shared archive (read-only for tests)."""
    return build_history(tmp_path_factory, "history", [ice_sheets])


@pytest.fixture(scope="session")
def history_db(history_path: Path) -> sqlite3.Connection:
    """A read-only connection to the archive-built history."""
    conn = store.connect(history_path, readonly=True)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def historical_data(shared_data: Path) -> Path:
    """The transcribed 2010–2017 web rosters (``historical/``)."""
    path = shared_data / "historical"
    if not (path / "pre2018-roster-long.csv").is_file():
        pytest.fail(f"{path / 'pre2018-roster-long.csv'} is missing: the tests read the web-roster "
                    "transcription from there", pytrace=False)
    return path


@pytest.fixture(scope="session")
def long_history_path(tmp_path_factory: pytest.TempPathFactory, ice_sheets: Path, historical_data: Path) -> Path:
    """ICE's 2025 sheets and the 2010–2017 web rosters together (what `make history` built
    before the 2021–2026 archives joined it), once per session: the unseen stretch August
    2017 – May 2025 and the edges of what was seen are tested here; the claims examples run on
    :func:`make_history_path`."""
    return build_history(tmp_path_factory, "long", [ice_sheets, historical_data])


@pytest.fixture(scope="session")
def long_history_db(long_history_path: Path) -> sqlite3.Connection:
    """A read-only connection to the sheets-and-rosters build."""
    conn = store.connect(long_history_path, readonly=True)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def make_history_path(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """Exactly what `make history` builds: every archive of ``config.HISTORY_ARCHIVES`` (the
    list the Makefile reads), once per session (≈ 40 s of CPU). The claims examples and their
    tests run on it, so a new source can never silently change old answers. A missing archive
    fails the test, never skips it."""
    folders = [shared_data / name for name in config.HISTORY_ARCHIVES]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: `make history` ingests {', '.join(config.HISTORY_ARCHIVES)} "
                    f"from {shared_data}, and the claims examples are tested on that build", pytrace=False)
    return build_history(tmp_path_factory, "make-history", folders)


@pytest.fixture(scope="session")
def make_history_db(make_history_path: Path) -> sqlite3.Connection:
    """A read-only connection to the `make history` build (every archive)."""
    conn = store.connect(make_history_path, readonly=True)
    yield conn
    conn.close()
