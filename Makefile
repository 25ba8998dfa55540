# The README's commands. Everything installs into .venv from PyPI; nothing is expected on the machine but python3.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.deps-stamp
PYTEST_ARGS ?=
LINT_PATHS := functions tests $(wildcard bench)

.PHONY: run test lint fmt typecheck pytest deps bench clean

deps: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

## run: a real monitor pass on the embedded local default, over a generated sample inbox
run: $(STAMP)
	$(BIN)/failstreak demo --dir demo

## test: every check — lint, types, tests with a coverage floor
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

fmt: $(STAMP)
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .mypy_cache .ruff_cache .coverage demo bench/out
