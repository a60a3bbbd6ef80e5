# g287 set-up. `make history` builds the history from the shared archive (ICE's sheets and
# the transcribed 2010-2017 web rosters) and prints the
# program's status; `make test` runs the whole test suite (the command CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= ../shared/data
DB ?= var/g287.sqlite

.PHONY: history test browser ocr bench lint wheel-smoke

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The archives `make history` ingests: g287.config.HISTORY_ARCHIVES, the one list the tests'
# `make history` build (tests/conftest.py) reads too.
ARCHIVES = $(shell $(BIN)/python -c 'from g287.config import HISTORY_ARCHIVES; print(*HISTORY_ARCHIVES)')

history: $(BIN)/.installed
	@test -n "$(ARCHIVES)" || { echo "g287.config.HISTORY_ARCHIVES could not be read" >&2; exit 1; }
	$(BIN)/g287 ingest $(addprefix $(DATA)/,$(ARCHIVES)) --db $(DB)
	$(BIN)/g287 status --db $(DB)

# Browser tests drive Debian's Chromium (installed when the machine lacks it) and check pages
# with axe-core (from the npm registry, into tests/_node/).
AXE := tests/_node/node_modules/axe-core/axe.min.js
browser: $(AXE)
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

$(AXE):
	npm install --silent --no-audit --no-fund --prefix tests/_node axe-core@4

# MOA scans are read by Debian's Tesseract; install it when the machine lacks it.
ocr:
	@command -v tesseract >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr >/dev/null; }

test: $(BIN)/.installed browser ocr
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest
	$(MAKE) wheel-smoke

# A plain (not editable) install from a built wheel in a fresh virtualenv, as users get it.
wheel-smoke: $(BIN)/.installed
	DATA=$(DATA) BIN=$(BIN) .ci/wheel-smoke

bench: $(BIN)/.installed ocr
	$(BIN)/python bench/bench_history.py
	$(BIN)/python bench/bench_moa.py

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
