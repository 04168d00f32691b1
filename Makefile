# The two commands: `make run` (or `make demo`, offline) and `make test`.
# Each creates .venv and installs the project first if needed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CORPUS ?= ../shared/corpus
# pywb cannot share the project's environment (it pins redis==2.10.6, which
# Prefect's pydocket refuses): the tests start a real pywb from a venv of its own
PYWB_VENV  := .venv-pywb
PYWB_STAMP := $(PYWB_VENV)/.installed-stamp
PYWB_PIN   := pywb==2.10.0

.PHONY: run demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(PYWB_STAMP):
	$(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/python -m pip install --quiet '$(PYWB_PIN)'
	touch $(PYWB_STAMP)

run: $(STAMP)  ## track the default registry (needs the internet)
	$(BIN)/clausetrail run

demo: $(STAMP)  ## the same flows, offline, on the bundled local archive
	$(BIN)/clausetrail demo

test: $(STAMP) $(PYWB_STAMP)  ## lint, then the whole test suite (with a real pywb)
	$(BIN)/ruff check flows transforms warehouse tests bench
	CLAUSETRAIL_TEST_PYWB_BIN=$(CURDIR)/$(PYWB_VENV)/bin $(BIN)/python -m pytest

lint: $(STAMP)  ## ruff and the layer-import test
	$(BIN)/ruff check flows transforms warehouse tests bench
	$(BIN)/python -m pytest -q tests/test_layers.py

bench: $(STAMP)  ## benchmarks on the real corpus (CORPUS=path to use another)
	$(BIN)/python -m bench.run --corpus $(CORPUS)

clean:
	rm -rf $(VENV) $(PYWB_VENV) data/demo .pytest_cache
