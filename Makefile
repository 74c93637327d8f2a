# cm-toolkit: two commands on a fresh machine with Python 3.11+ and make.
#   make demo   replays the sample MOOC season against the local sandbox
#   make test   runs the whole test suite, the type check (mypy) and the linter (ruff)
# Each bootstraps .venv and installs what it needs the first time (and again when
# pyproject.toml changes).

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test check lint typecheck install clean help

help:
	@echo "make demo   replay the sample season against the local sandbox"
	@echo "make test   run the test suite, the type check and the linter"
	@echo "make lint   ruff"
	@echo "make clean  remove .venv and local state"

$(STAMP): pyproject.toml tests/plugin_example/pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
		echo "cm-toolkit needs Python 3.11 or newer: install it (e.g. apt-get install python3) and run make again." >&2; exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON) and installing cm-toolkit (first run only)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@# the example network plugin the tests prove plugins with (docs/channels.md)
	$(BIN)/python -m pip install --quiet --no-deps -e tests/plugin_example
	@touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cm check
	$(BIN)/cm demo

# pytest on two workers (pytest-xdist), each test file on one worker (its module fixtures run
# once): much of the suite waits on processes, sockets and the database, and the other worker
# uses that time. Files go to the workers in collection order (--no-loadscope-reorder), which
# tests/conftest.py starts with the files that hold a `slow` test: the crash runs (minutes
# each, one file each) run side by side first, and the short files fill in around them. Every
# test keeps its files in tmp_path, its servers on free ports and its PostgreSQL schema to
# itself, so the workers share nothing. The tests marked `alone` (one restarts the PostgreSQL
# server the others use) run afterwards in a process of their own (exit status 5: none
# selected, e.g. under PYTEST_ARGS=tests/web). PYTEST_ARGS='-n 0' runs the first part in one
# process.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m 'not alone' $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m alone $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/python -m mypy
	$(BIN)/ruff check cm_toolkit bench tests

lint: $(STAMP)
	$(BIN)/ruff check cm_toolkit bench tests

clean:
	rm -rf $(VENV) .cm .pytest_cache .mypy_cache
