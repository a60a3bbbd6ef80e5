"""g287.outputs: outputs complete or absent, and never someone else's (issue 28)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from g287 import outputs


def _fill(files: dict[str, str]):
    def fill(staging, previous):
        for name, text in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(text)
        return previous
    return fill


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*")
            if p.is_file() and p.name != outputs.MARKER}


def test_a_folder_is_swapped_whole_and_the_previous_one_is_handed_over(tmp_path):
    out = tmp_path / "out"
    assert outputs.write_folder(out, "site", _fill({"a.txt": "1", "b/c.txt": "2"})) is None
    assert outputs.write_folder(out, "site", _fill({"a.txt": "3"})) == out
    assert _tree(out) == {"a.txt": "3"}
    assert outputs.read_marker(out).files.keys() == {"a.txt"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failing_fill_leaves_the_previous_folder_and_nothing_beside_it(tmp_path):
    out = tmp_path / "out"
    outputs.write_folder(out, "site", _fill({"a.txt": "1"}))

    def broken(staging, previous):
        (staging / "half.txt").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        outputs.write_folder(out, "site", broken)
    assert _tree(out) == {"a.txt": "1"} and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_refusals_name_the_folder_and_touch_nothing(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.html").write_text("<h1>my site</h1>")
    with pytest.raises(outputs.OutputRefused, match=f"^{mine}: not a folder g287 made"):
        outputs.write_folder(mine, "site", _fill({"index.html": "g287"}))
    assert _tree(mine) == {"index.html": "<h1>my site</h1>"}
    release = tmp_path / "release"
    outputs.write_folder(release, "release", _fill({"a.csv": "1"}))
    with pytest.raises(outputs.OutputRefused, match="holds a g287 release, not a site"):
        outputs.write_folder(release, "site", _fill({"a": "1"}))
    (tmp_path / "file").write_text("x")
    with pytest.raises(outputs.OutputRefused, match="exists and is not a folder"):
        outputs.write_folder(tmp_path / "file", "site", _fill({}))
    (tmp_path / "link").symlink_to(mine)
    with pytest.raises(outputs.OutputRefused, match="exists and is not a folder"):
        outputs.write_folder(tmp_path / "link", "site", _fill({}))
    assert _tree(mine) == {"index.html": "<h1>my site</h1>"}


def test_a_fallback_swap_killed_between_its_renames_is_put_back(tmp_path):
    """Where renameat2 is missing the swap is two renames; a kill between them leaves the
    previous folder under a hidden name, and the next run restores it first."""
    out = tmp_path / "out"
    outputs.write_folder(out, "site", _fill({"a.txt": "old"}))
    out.rename(tmp_path / ".out.g287-old")
    outputs.recover(out)
    assert _tree(out) == {"a.txt": "old"}


def test_leftovers_of_a_killed_build_are_cleared_but_a_users_look_alike_is_kept(tmp_path):
    out = tmp_path / "out"
    outputs.write_folder(out, "site", _fill({"a.txt": "old"}))
    killed = tmp_path / ".out.g287-staging-999999"
    killed.mkdir()
    (killed / outputs.MARKER).write_text('{"g287": "staging"}')
    (killed / "half.html").write_text("x")
    lookalike = tmp_path / ".out.g287-staging-999998"
    lookalike.mkdir()
    (lookalike / "mine.txt").write_text("mine")
    outputs.write_folder(out, "site", _fill({"a.txt": "new"}))
    assert not killed.exists() and (lookalike / "mine.txt").read_text() == "mine"


def test_a_file_is_replaced_only_while_it_holds_what_g287_wrote(tmp_path):
    target = tmp_path / "map.svg"
    outputs.write_bytes(target, b"<svg>1</svg>")
    outputs.write_bytes(target, b"<svg>2</svg>")
    assert target.read_bytes() == b"<svg>2</svg>"
    target.write_bytes(b"edited")
    with pytest.raises(outputs.OutputRefused, match=f"^{target}: exists and was not written by g287"):
        outputs.write_bytes(target, b"<svg>3</svg>")
    assert target.read_bytes() == b"edited"
    fifo = tmp_path / "pipe.svg"
    os.mkfifo(fifo)
    with pytest.raises(outputs.OutputRefused, match="is not a file g287 wrote"):
        outputs.write_bytes(fifo, b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [outputs.FILES, "map.svg", "pipe.svg"]


def test_sigkill_while_writing_a_file_leaves_the_old_file(tmp_path):
    target = tmp_path / "report.html"
    outputs.write_bytes(target, b"old report")
    script = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from g287 import outputs
        with outputs.staged_files([Path({str(target)!r})]) as temps:
            next(iter(temps.values())).write_bytes(b"half")
            print("writing", flush=True)
            time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert child.stdout.readline() == b"writing\n"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert target.read_bytes() == b"old report"
    outputs.write_bytes(target, b"new report")
    assert target.read_bytes() == b"new report"
    assert sorted(p.name for p in tmp_path.iterdir()) == [outputs.FILES, "report.html"]
