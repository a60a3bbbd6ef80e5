"""The command line starts light: a command loads only its own stage's libraries."""

from __future__ import annotations

import json
import subprocess
import sys

from g287 import cli

# Libraries of charts, HTTP, Parquet, the web stack and exports: none is needed to read a status.
HEAVY = ("matplotlib", "httpx", "pyarrow", "fastapi", "uvicorn", "jinja2", "frictionless",
         "xlsxwriter", "yaml", "pandas", "numpy", "openpyxl", "python_calamine")

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
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(history_path), ",".join(HEAVY)],
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["participating"]["agreements"] > 0
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


def test_every_command_is_mapped_to_the_module_that_registers_it():
    found = {}
    for module in cli.MODULES:
        app = cli.build((module,))
        names = [c.name or c.callback.__name__ for c in app.registered_commands]
        names += [g.name for g in app.registered_groups]
        found |= dict.fromkeys(names, module)
    assert found == cli.COMMANDS
