"""Where g287 finds the shared archive and its database.

Paths come from the environment first so that CI, tests and users can point
elsewhere without code changes; the defaults suit a checkout that sits beside
``shared/`` as in this project's workplace.
"""

from __future__ import annotations

import gzip
import os
from importlib import resources
from pathlib import Path

from g287.errors import MissingData

DATA_ENV = "G287_DATA_DIR"
DB_ENV = "G287_DB"
DEFAULT_DB = "g287.sqlite"

_REPO_ROOT = Path(__file__).resolve().parents[2]

# The archives of the shared data folder that `make history` ingests, in order: the one list
# the Makefile and the tests' `make history` build both read (so a new source joins both).
HISTORY_ARCHIVES = ("ice-sheets", "sheets-2025-2026", "wayback-2021-2025", "historical")


class MissingSharedData(MissingData):
    """The shared reference data is not where g287 was told to look."""


def shared_data_dir() -> Path:
    """Return the shared data folder (``$G287_DATA_DIR`` or ``../shared/data``)."""
    configured = os.environ.get(DATA_ENV)
    candidates = [Path(configured)] if configured else [
        _REPO_ROOT.parent / "shared" / "data",
        Path.cwd().parent / "shared" / "data",
    ]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise MissingSharedData(
        f"shared data not found at {', '.join(str(c) for c in candidates)}; "
        f"set {DATA_ENV} to the folder that holds ice-sheets/ and reference/"
    )


def shared_path(*parts: str) -> Path:
    """Return a path inside the shared data folder, failing clearly if it is absent."""
    path = shared_data_dir().joinpath(*parts)
    if not path.exists():
        raise MissingSharedData(f"{path} is missing from the shared data folder")
    return path


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the history database path: the argument, ``$G287_DB``, or ``./g287.sqlite``."""
    return Path(explicit or os.environ.get(DB_ENV) or DEFAULT_DB)


def reference_location(name: str) -> Path | str:
    """Where a reference file is read from: ``$G287_DATA_DIR/reference/<name>`` when that
    file exists (newer files dropped there win), else ``"package"``."""
    configured = os.environ.get(DATA_ENV)
    if configured and (override := Path(configured) / "reference" / name).is_file():
        return override
    return "package"


def reference_text(name: str) -> str:
    """Return a reference file's text from :func:`reference_location`; the package holds
    gzip-compressed copies so a plain ``pip install`` can draw maps."""
    location = reference_location(name)
    if isinstance(location, Path):
        return location.read_text(encoding="utf-8")
    shipped = resources.files("g287").joinpath("data", "reference", f"{name}.gz")
    if not shipped.is_file():
        raise MissingSharedData(f"reference file {name} is neither in ${DATA_ENV}/reference nor in the package")
    return gzip.decompress(shipped.read_bytes()).decode("utf-8")
