"""Outputs that are complete or absent, and never someone else's.

Every file or folder g287 writes for a user (a static site, a release, an export, a map,
a report, the review decisions) goes through this module, for two promises:

* **Complete or absent.** The output is built beside its target under a hidden name and
  renamed into place once whole. A folder is swapped in with one ``renameat2`` exchange
  (Linux), so the previous output stays complete and servable until the new one replaces
  it; a SIGKILL at any moment leaves the old output or the new one, and the next run
  clears what the killed one left (only hidden folders that carry g287's marker).
* **Never someone else's.** A folder g287 made holds a marker, ``.g287-output.json``, with
  g287's version, the kind of output and every file's SHA-256. A folder is replaced only
  when it is empty or exactly what its marker lists; a file g287 wrote alone is recorded
  (name and SHA-256) in ``.g287-files.json`` beside it and replaced only while it still
  has the recorded bytes. Anything else, a user's web root, a notes file, a file edited
  since, is refused with one line naming it and left untouched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import glob
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from g287 import __version__
from g287.errors import BadInput, G287Error

T = TypeVar("T")

MARKER = ".g287-output.json"
FILES = ".g287-files.json"
_STAGING = ".g287-staging"   # .<name>.g287-staging-<pid>: a folder being built
_OLD = ".g287-old"           # .<name>.g287-old: the previous folder, while renameat2 is missing
_RENAME_EXCHANGE = 2
_KEEP_HASHES = 2             # a file's record keeps its last two contents (crash between steps)


class OutputRefused(BadInput):
    """The output's target is something g287 did not make (or that was changed since)."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a g287 output folder holds, as its marker records it."""

    kind: str                  # site | release | export-csv | export-parquet
    version: str               # g287's version that wrote it
    files: dict[str, str]      # relative POSIX path -> SHA-256


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _entries(folder: Path) -> tuple[dict[str, Path], set[str]]:
    """Regular files (relative POSIX path -> path) and every other entry (symbolic links,
    devices, sockets) under ``folder``; the marker itself is left out."""
    files: dict[str, Path] = {}
    other: set[str] = set()
    for root, dirs, names in os.walk(folder):
        base = Path(root)
        for name in [*names, *(d for d in dirs if (base / d).is_symlink())]:
            path = base / name
            rel = path.relative_to(folder).as_posix()
            if rel == MARKER:
                continue
            if stat.S_ISREG(path.lstat().st_mode):
                files[rel] = path
            else:
                other.add(rel)
    return files, other


def manifest(folder: Path, kind: str) -> Manifest:
    """The manifest of a folder as it is now."""
    files, other = _entries(folder)
    if other:
        raise G287Error(f"{folder}: holds entries that are not regular files: {', '.join(sorted(other)[:3])}")
    return Manifest(kind, __version__, {rel: sha256_file(path) for rel, path in sorted(files.items())})


def read_marker(folder: Path) -> Manifest | None:
    """The marker of a folder g287 made, or None when there is none (or it is not ours)."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        return Manifest(str(data["kind"]), str(data["version"]),
                        {str(k): str(v) for k, v in dict(data["files"]).items()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_marker(folder: Path, found: Manifest) -> None:
    text = json.dumps({"g287": "output", "kind": found.kind, "version": found.version,
                       "files": found.files}, indent=1, sort_keys=True)
    write_bytes(folder / MARKER, (text + "\n").encode(), owned=False)


def check_folder(target: Path, kind: str,
                 legacy: Callable[[Path], dict[str, str] | None] | None = None) -> Manifest | None:
    """The manifest of the g287 ``kind`` output at ``target``; None when there is none yet
    (absent or an empty folder). Anything else raises :class:`OutputRefused`: a file, a
    folder without g287's marker, or one with files added or changed since g287 wrote it.
    ``legacy`` reads the file list of an output made before markers existed (a release's
    ``SHA256SUMS``)."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise OutputRefused(f"{target}: exists and is not a folder g287 made; choose another output folder")
    if not target.exists() or not any(target.iterdir()):
        return None
    found = read_marker(target)
    if found is None and legacy is not None and (listed := legacy(target)) is not None:
        found = Manifest(kind, "", listed)
    if found is None:
        raise OutputRefused(f"{target}: not a folder g287 made (no {MARKER}); g287 replaces only its own "
                            "output: move the folder away or choose another output folder")
    if found.kind != kind:
        raise OutputRefused(f"{target}: holds a g287 {found.kind}, not a {kind}; choose another output folder")
    files, other = _entries(target)
    extra = sorted(other | (files.keys() - found.files.keys()))
    if extra:
        raise OutputRefused(f"{target}: holds files g287 did not write ({', '.join(extra[:3])}"
                            f"{', …' if len(extra) > 3 else ''}); move them away or choose another output folder")
    for rel, path in sorted(files.items()):
        if sha256_file(path) != found.files[rel]:
            raise OutputRefused(f"{target}: {rel} was changed since g287 wrote it; "
                                "move the folder away or choose another output folder")
    return found


def _is_staging(path: Path, target: Path) -> bool:
    return path.name.startswith(f".{target.name}{_STAGING}-") or path.name == f".{target.name}{_OLD}"


def recover(target: Path) -> None:
    """Clear what a killed write of ``target`` left beside it: put the previous folder back
    if a fallback swap was cut between its two renames, and remove unfinished builds (hidden
    folders with g287's marker nobody holds). A build still running is left alone."""
    old = target.with_name(f".{target.name}{_OLD}")
    if not target.exists() and read_marker(old) is not None:
        os.rename(old, target)
    if not target.parent.is_dir():
        return
    for path in target.parent.iterdir():
        if not _is_staging(path, target) or not path.is_dir() or path.is_symlink():
            continue
        if _running(path.name.rsplit("-", 1)[-1]):
            continue  # its builder runs (the marker's lock lapses while the final one is written)
        marker = path / MARKER
        if not marker.exists():
            if any(path.iterdir()):
                continue  # not ours: never delete it
            path.rmdir()
            continue
        with marker.open("rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another g287 is building it now
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _staging_folder(target: Path) -> Iterator[Path]:
    """A fresh hidden folder beside ``target``, locked while this process builds in it."""
    staging = target.with_name(f".{target.name}{_STAGING}-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    handle: IO[bytes] = (staging / MARKER).open("wb")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(b'{"g287": "staging"}\n')
        handle.flush()
        yield staging
    finally:
        handle.close()


def write_folder(target: Path, kind: str, fill: Callable[[Path, Path | None], T], *,
                 legacy: Callable[[Path], dict[str, str] | None] | None = None) -> T:
    """Build the output folder ``target`` with ``fill(staging, previous)`` and swap it in.

    ``fill`` writes the complete output into ``staging`` (an empty folder beside
    ``target``); ``previous`` is the current output when it is a verified g287 ``kind``
    output (for reusing unchanged files), else None. The target is refused before
    anything is written unless it is absent, empty or g287's own; on any failure the
    staging folder is removed and the previous output is untouched."""
    target = Path(os.path.abspath(target))
    recover(target)
    previous = check_folder(target, kind, legacy)
    with _staging_folder(target) as staging:
        try:
            result = fill(staging, target if previous is not None else None)
            made = manifest(staging, kind)
            if previous is not None or target.exists():
                check_folder(target, kind, legacy)  # still ours after the build
            _write_marker(staging, made)
            _swap(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    if staging.exists():
        shutil.rmtree(staging, ignore_errors=True)  # the previous output, swapped out
    return result


def _renameat2(source: Path, target: Path, flags: int) -> bool:
    """Linux renameat2; False when this system or file system lacks it."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    call = getattr(libc, "renameat2", None)
    if call is None:
        return False
    at_fdcwd = -100
    if call(at_fdcwd, os.fsencode(source), at_fdcwd, os.fsencode(target), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(target))


def _swap(staging: Path, target: Path) -> None:
    """Put ``staging`` at ``target``; the previous folder (if any) ends at ``staging``."""
    if not target.exists():
        os.rename(staging, target)
        return
    if not any(target.iterdir()):
        os.rename(staging, target)  # over an empty folder: nothing of value is replaced
        return
    if _renameat2(staging, target, _RENAME_EXCHANGE):
        return
    old = target.with_name(f".{target.name}{_OLD}")
    os.rename(target, old)      # killed between the renames: recover() puts it back
    os.rename(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _records(folder: Path) -> dict[str, list[str]]:
    try:
        data = json.loads((folder / FILES).read_text(encoding="utf-8"))
        return {str(k): [str(h) for h in v] for k, v in dict(data).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _record(folder: Path, name: str, digest: str) -> None:
    with _folder_lock(folder):
        records = _records(folder)
        records[name] = [digest, *(h for h in records.get(name, []) if h != digest)][:_KEEP_HASHES]
        records = {k: v for k, v in records.items() if (folder / k).exists() or k == name}
        text = json.dumps(records, indent=1, sort_keys=True) + "\n"
        write_bytes(folder / FILES, text.encode(), owned=False)


def check_file(target: Path) -> None:
    """Refuse to replace a file g287 did not write (or that was changed since); absent
    targets pass."""
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise OutputRefused(f"{target}: exists and is not a file g287 wrote; choose another output")
    if not target.exists():
        return
    if sha256_file(target) not in _records(target.parent).get(target.name, []):
        raise OutputRefused(f"{target}: exists and was not written by g287 (or was changed since); "
                            "g287 replaces only its own output: move it away or choose another name")


def _running(pid: str) -> bool:
    """Whether the process named by a staging or temporary file's suffix still runs (this
    one does not count: what it left from an earlier call is stale)."""
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clear_parts(target: Path) -> None:
    """Remove temporary files a killed process left for ``target`` (its id no longer runs)."""
    for part in target.parent.glob(f".{glob.escape(target.name)}.g287-part-*"):
        if not _running(part.name.rsplit("-", 1)[-1]):
            part.unlink(missing_ok=True)


@contextmanager
def staged_files(targets: list[Path]) -> Iterator[dict[Path, Path]]:
    """Temporary paths beside each target, renamed over the targets when the block ends
    without an error (each file whole, each refused unless g287 wrote it), removed when
    it fails."""
    targets = [Path(os.path.abspath(t)) for t in targets]
    for target in targets:
        check_file(target)
        target.parent.mkdir(parents=True, exist_ok=True)
    temps = {t: t.with_name(f".{t.name}.g287-part-{os.getpid()}") for t in targets}
    for target in targets:
        _clear_parts(target)
    try:
        yield temps
        for target, temp in temps.items():
            if not temp.is_file():
                raise G287Error(f"{target}: nothing was written")
            _fsync(temp)
            check_file(target)
            digest = sha256_file(temp)
            _record(target.parent, target.name, digest)  # first: a crash leaves a known file
            os.replace(temp, target)
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)


def write_bytes(target: Path, content: bytes, *, owned: bool = True,
                verify: Callable[[Path], None] | None = None) -> Path:
    """Write one file whole (temporary name, fsync, rename). ``owned``: refuse to replace
    a file g287 did not write, and record this one; False for files whose old content
    the caller has read and carried over (the decisions file) and for g287's records.
    ``verify`` reads the written temporary file back before it replaces the target."""
    if owned:
        with staged_files([target]) as temps:
            temps[Path(os.path.abspath(target))].write_bytes(content)
        return target
    temp = target.with_name(f".{target.name}.g287-part-{os.getpid()}")
    try:
        with temp.open("wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if verify is not None:
            verify(temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target
