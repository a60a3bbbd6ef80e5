"""The command line starts light: a command loads only its own stage's libraries."""

from __future__ import annotations

import json
import subprocess
import sys

from g287 import cli

# Libraries of charts, HTTP, Parquet, the web stack and exports: none is needed to read a status.
HEAVY = ("matplotlib", "httpx", "pyarrow", "fastapi", "uvicorn", "jinja2", "frictionless",
         "xlsxwriter", "yaml", "pandas", "numpy", "openpyxl", "python_calamine")
# Asked for JSON, the commonest read commands start without the command-line framework or the fold.
FRAMEWORK = ("typer", "click", "rich", "pydantic", "rapidfuzz", "g287.history", "g287.identity.lineage")

PROGRAM = """
import json, sys
sys.argv = ["g287", "status", "--json", "--db", sys.argv[1]]
from g287.cli import main
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
print(json.dumps(sorted(m for m in sys.argv[2].split(",") if m in sys.modules)), file=sys.stderr)
"""


def test_status_imports_no_heavy_library(history_path):
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(history_path), ",".join(HEAVY + FRAMEWORK)],
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["participating"]["agreements"] > 0
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


def _g287(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "g287", *args], capture_output=True, text=True)


def test_the_fast_path_answers_as_the_full_command_line(history_path, monkeypatch):
    """``status``, ``changes`` and ``agency`` in JSON, answered without Typer, give the same
    output, warnings, error lines and exit codes as through Typer (``--debug`` before the
    command sends them there)."""
    from g287.cli import plain

    db = str(history_path)
    for args in (["status", "--json"], ["status", "--json", "--as-of", "2025-06-01"],
                 ["status", "--json", "--as-of=2001-01-01"], ["changes", "--json", "--state", "FL"],
                 ["changes", "--json", "--kind", "nope"], ["agency", "--json", "palm beach"],
                 ["changes", "--json", "--kind", "agreement_removed", "--status", "confirmed"],
                 ["agency", "no such agency anywhere", "--json"], ["changes", "--json", "--state", "ZZ"]):
        assert plain.fast([*args, "--db", db]) is not None or args[0] not in plain.FAST_OPTIONS, args
        fast, full = _g287(*args, "--db", db), _g287("--debug", *args, "--db", db)
        assert (fast.returncode, fast.stdout, fast.stderr) == (full.returncode, full.stdout, full.stderr), args
    for args in (["status"], ["status", "--json", "--as-of", "06/01/2025"], ["changes", "--json", "--csv"],
                 ["status", "--json", "--help"], ["agency", "--json"], ["status", "--json", "--db"]):
        assert plain.fast(args) is None, args


def test_every_command_is_mapped_to_the_module_that_registers_it():
    found = {}
    for module in cli.MODULES:
        app = cli.build((module,))
        names = [c.name or c.callback.__name__ for c in app.registered_commands]
        names += [g.name for g in app.registered_groups]
        found |= dict.fromkeys(names, module)
    assert found == cli.COMMANDS
