# The two commands: `make run` (or `make demo`, offline) and `make test`.
# Each creates .venv and installs the project first if needed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CORPUS ?= ../shared/corpus

.PHONY: run demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## track the default registry (needs the internet)
	$(BIN)/clausetrail run

demo: $(STAMP)  ## the same flows, offline, on the bundled local archive
	$(BIN)/clausetrail demo

test: $(STAMP)  ## lint, then the whole test suite
	$(BIN)/ruff check flows transforms warehouse tests bench
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff and the layer-import test
	$(BIN)/ruff check flows transforms warehouse tests bench
	$(BIN)/python -m pytest -q tests/test_layers.py

bench: $(STAMP)  ## benchmarks on the real corpus (CORPUS=path to use another)
	$(BIN)/python -m bench.run --corpus $(CORPUS)

clean:
	rm -rf $(VENV) data/demo .pytest_cache
