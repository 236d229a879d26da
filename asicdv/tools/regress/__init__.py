"""Named regressions: `regressions/<name>.yaml` -> builds -> runs -> results, failure buckets, report.

A regression file selects runs from the blocks' own test lists (`tb/<block>/block.yaml`):

    description: what this regression is for
    seed: 2026                  # optional master seed (default: a fresh one, printed)
    include: [smoke.yaml]       # other regression files, relative to this one
    defaults: {timeout_s: 600}  # entry fields applied to this file's entries
    entries:
      - block: kpu
        tests: all              # all | smoke | [names]   (block: all = every block, tests all|smoke)
        variants: all           # all | [names]
        parameters: {ROWS: 4, COLS: 4}
        reseeds: 3              # or seeds: [1, 2, 3]; default: the test's reseeds in block.yaml
        timeout_s: 900
        waves: false            # build with tracing for every run (failures get a waves rerun anyway)
        coverage: false         # Verilator code-coverage builds, merged by asicdv.tools.code_coverage
        replay: false           # hypothesis replays the examples saved by earlier failures first
        simulator: verilator
        module: tb.sim_fixtures # only for framework tests: run tests from another cocotb module

Every run seed is derived from the master seed, so `--seed N` replays a whole regression. Results go to
OUT (default `results/regress/<name>`): `plan.json`, `results.jsonl` (appended as each run ends, the
last line per run wins), `runs/<run id>/`, `hypothesis/` (failing examples), `summary.json`,
`junit.xml`, `report.html`; with coverage runs, `test-reach.json` (per-test lines, for `--coverage-from`).


The package, in the order a regression goes through it:
- `config`: the regression file schema, loading, validation and the plan (RunSpec);
- `results`: results.jsonl (ResultStore), failure signatures;
- `executors`: one run (execute) on local threads or a Dask cluster;
- `progress`: the live progress line;
- `engine`: the run itself (Regression, RegressionOptions, StopRequest);
- `summary`: summary.json (merged coverage, comparison, failure buckets);
- `cli`: `asicdv regress`.
"""

from asicdv.tools import simulator as sim
from asicdv.tools.regress.cli import command, register
from asicdv.tools.regress.config import (
    ENTRY_PROPERTIES,
    NOT_REGRESSIONS,
    SCHEMA,
    SEED_LIMIT,
    RunSpec,
    build_accepts,
    check_entry,
    derive_seed,
    load,
    matches,
    plan,
    resolve,
)
from asicdv.tools.regress.engine import Regression, RegressionOptions, StopRequest, reproduce_line
from asicdv.tools.regress.executors import DaskExecutor, LocalExecutor, execute, hypothesis_env
from asicdv.tools.regress.progress import Progress
from asicdv.tools.regress.results import ResultStore, signature
from asicdv.tools.regress.summary import buckets, compare, merge_code_coverage, merge_functional_coverage, summarize

__all__ = [
    "ENTRY_PROPERTIES",
    "build_accepts",
    "reproduce_line",
    "NOT_REGRESSIONS",
    "SCHEMA",
    "SEED_LIMIT",
    "DaskExecutor",
    "LocalExecutor",
    "Progress",
    "Regression",
    "RegressionOptions",
    "ResultStore",
    "RunSpec",
    "StopRequest",
    "buckets",
    "check_entry",
    "command",
    "compare",
    "derive_seed",
    "execute",
    "hypothesis_env",
    "load",
    "matches",
    "merge_code_coverage",
    "merge_functional_coverage",
    "plan",
    "register",
    "resolve",
    "signature",
    "sim",
    "summarize",
]
