# asicdv's Makefile fragment (shipped in the asicdv package). A project's Makefile includes it,
# as cocotb's Makefile.sim is included:
#     include $(shell asicdv makefile)
# Targets: help, test, <block> (one per block file of the project), regress, gate, lint, blocks.
# Knobs: TEST= SEED= VARIANT= PARAMS="A=1 B=2" WAVES=1 SIM=icarus COVERAGE=1 (block runs),
#        REGRESSION=<name in regressions/> (default smoke) JOBS=<parallel runs> REGRESS_ARGS= GATE_ARGS=.
ASICDV ?= asicdv

# The project's blocks, as `asicdv blocks` lists them (its `blocks` glob, default tb/*/block.yaml).
BLOCKS := $(shell $(ASICDV) blocks 2>/dev/null)

SIMOPTS := $(if $(TEST),--test $(TEST)) $(if $(SEED),--seed $(SEED)) \
           $(if $(VARIANT),--variant $(VARIANT)) $(if $(filter 1 yes true,$(WAVES)),--waves) \
           $(foreach p,$(PARAMS),--param $(p)) $(if $(SIM),--sim $(SIM)) \
           $(if $(filter 1 yes true,$(COVERAGE)),--coverage)
REGRESSION ?= smoke
JOBS ?= 2

.PHONY: help test regress gate lint blocks $(BLOCKS)

help: ## list the targets and the blocks found
	@grep -hE '^[a-z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@for b in $(BLOCKS); do printf "  make %-10s %s's tests (TEST= SEED= VARIANT= PARAMS=\"A=1 B=2\" WAVES=1)\n" $$b $$b; done

test: ## every block's smoke tests (asicdv test)
	$(ASICDV) test $(SIMOPTS)

$(BLOCKS):
	$(ASICDV) test $@ $(SIMOPTS)

regress: ## a named regression: regressions/REGRESSION.yaml (default smoke; JOBS=2, REGRESS_ARGS=--resume)
	$(ASICDV) regress $(REGRESSION) -j $(JOBS) $(REGRESS_ARGS)

gate: ## judge the last REGRESSION run (by regressions/gates-REGRESSION.yaml if there, else the project gates)
	$(ASICDV) gate $(REGRESSION) $(if $(wildcard regressions/gates-$(REGRESSION).yaml),--config regressions/gates-$(REGRESSION).yaml) $(GATE_ARGS)

lint: ## Verilator --lint-only over every block's RTL
	$(ASICDV) lint

blocks: ## list the project's blocks
	@$(ASICDV) blocks
