# The README's commands. Everything installs into .venv from PyPI; nothing is expected on the machine but python3.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.deps-stamp
# aws-sam-cli pins its own boto3: it gets a virtual environment of its own (template checks, sam build, deploy).
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.deps-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
PYTEST_ARGS ?=
LINT_PATHS := functions tests scripts $(wildcard bench)
BENCH_SIZES ?= all
BENCH_STORES ?= local,s3
BENCH_REPS ?=

.PHONY: run test lint fmt typecheck pytest deps sam-deps venvs infra-check requirements generated bench browser screenshot clean package

deps: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[monitor,dev]'
	touch $@

sam-deps: $(SAM_STAMP)

$(SAM_STAMP): infra/requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements-sam.txt
	touch $@

# Both environments at once: the installs are mostly waiting on the network.
venvs:
	$(MAKE) --no-print-directory -j2 $(STAMP) $(SAM_STAMP)

## run: a real monitor pass on the embedded local default, over a generated sample inbox
run: $(STAMP)
	$(BIN)/failstreak demo --dir demo

## test: every check — lint, types, tests with a coverage floor (the template checks in tests/infra included)
test: venvs lint typecheck pytest package

## package: build the sdist, and the wheel from it (what `pip install failstreak` gets), and check them with twine
# The wheel is built from the unpacked sdist, never from the checkout, so nothing a former build left in build/ gets in.
PACKAGE_DIR := build/package
package: $(STAMP)
	rm -rf $(PACKAGE_DIR)
	$(BIN)/python -m build --outdir $(PACKAGE_DIR) . > /dev/null
	$(BIN)/twine check --strict $(PACKAGE_DIR)/*

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/python scripts/complexity.py functions

fmt: $(STAMP)
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy

## browser: Debian's chromium, for the run-history page's browser test (installed only when it is absent)
CHROMIUM ?= /usr/bin/chromium
browser: $(CHROMIUM)

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

## screenshot: docs/page-demo.png, the README's picture of the run-history page of the demo estate
screenshot: $(STAMP) $(CHROMIUM)
	FAILSTREAK_CHROMIUM=$(CHROMIUM) $(BIN)/python scripts/page_screenshot.py

# The property tests draw the same examples on every run of the gate; HYPOTHESIS_PROFILE=explore draws new ones.
HYPOTHESIS_PROFILE ?= gate
pytest: $(STAMP) $(SAM_STAMP) $(CHROMIUM)
	FAILSTREAK_CHROMIUM=$(CHROMIUM) HYPOTHESIS_PROFILE=$(HYPOTHESIS_PROFILE) $(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

## infra-check: only the template checks — cfn-lint, sam validate (plain and --lint), sam build, the moto stack
infra-check: $(STAMP) $(SAM_STAMP)
	$(BIN)/pytest --no-cov tests/infra

## requirements: rewrite functions/requirements.txt (what sam build installs) from pyproject.toml
requirements:
	$(PYTHON) scripts/gen_requirements.py

## generated: the committed shell completions and config JSON Schema, from the parser and the config model
generated: $(STAMP)
	$(BIN)/failstreak completion bash > completions/failstreak.bash
	$(BIN)/failstreak completion zsh > completions/_failstreak
	$(BIN)/failstreak schema > infra/failstreak.schema.json

## bench: workloads of 1k/10k/100k jobs, a whole pass vs the floor, local and S3 (moto), then the peak memory of a
## pass at the inbox bounds (bench/memory.py), the backtest over a month of 1,000 jobs (bench/backtest.py); writes
## docs/performance.md
## (BENCH_SIZES=small for a quick run; BENCH_STORES=local to skip S3; BENCH_REPS=N to override repetitions)
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[monitor,dev,bench]'
	touch $@

bench: $(STAMP) $(BENCH_STAMP)
	BENCH_SIZES=$(BENCH_SIZES) BENCH_STORES=$(BENCH_STORES) BENCH_REPS=$(BENCH_REPS) $(BIN)/python -m bench.run
	$(BIN)/python -m bench.memory
	$(BIN)/python -m bench.backtest
	$(BIN)/python -m bench.page

clean:
	rm -rf $(VENV) .venv-* .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage demo bench/out
