# The two commands of the README. Each installs what it needs on first use.
# `make test`: ruff, mypy --strict, the layering contract (import-linter, see pyproject.toml), pytest.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint

run: $(VENV)/.installed
	$(BIN)/newsletter run

test: $(VENV)/.installed /usr/bin/chromium
	$(BIN)/ruff check newsletter tests benchmarks scripts scheduler.py
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Browser tests drive Debian's Chromium (never a downloaded browser).
/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
