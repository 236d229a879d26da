"""pytest plugin (registered by the `pytest11` entry point `asicdv`): every block file
(`block.yaml`) pytest is given or finds becomes one pytest item per (variant, test[, reseed]),
each a run on its cached build, forked from the build's simulator server (as a regression's
runs are: see asicdv.tools.run_server). The block's project is found from the block file's own
folder upwards.

Options (`asicdv test` and the Makefile's TEST=, SEED=, VARIANT=, WAVES=1 pass through them):
  --test NAME      run only this test (unknown names are an error, not an empty run)
  --seed N         use this seed for every selected test
  --variant NAME   run only this variant (parameter set) of each block
  --waves          build with tracing; each run writes dump.fst (dump.vcd without lz4.h)
  --param N=V      override a Verilog parameter (ROWS=, COLS= of the kpu)
  --regress        nightly mode: fresh random seeds, every test's reseed count,
                   tests marked smoke: false included

Without --seed a test's seed is fixed (derived from its name) so `make test` is
reproducible run to run; --regress draws new random seeds. Every seed is printed.
"""

from __future__ import annotations

import json
import random
import zlib
from pathlib import Path

import pytest

from asicdv import UserError
from asicdv import project as projects
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import Block, all_blocks, load_block


def pytest_addoption(parser):
    group = parser.getgroup("asicdv")
    group.addoption("--test", default=None, help="run only this test of the block")
    group.addoption("--seed", type=int, default=None, help="seed for every selected test")
    group.addoption("--variant", default=None, help="run only this variant of the block")
    group.addoption("--waves", action="store_true", help="dump a waveform (FST, or VCD without lz4.h) per run")
    group.addoption(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a Verilog parameter of the block (e.g. ROWS=4); repeatable",
    )
    group.addoption("--regress", action="store_true", help="random seeds, all reseeds, nightly tests too")
    group.addoption("--simulator", default="verilator", choices=sim.SIMULATORS, help="verilator, or icarus (4-state)")
    group.addoption(
        "--coverage", action="store_true", help="Verilator code coverage build; each run writes coverage.dat"
    )


def pytest_collect_file(file_path: Path, parent):
    if file_path.name == "block.yaml":
        return BlockFile.from_parent(parent, path=file_path)
    return None


def parse_overrides(items: list[str]) -> dict[str, int]:
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            overrides[name.strip()] = int(value, 0)
        except ValueError:
            raise UserError(f"--param {item!r}: expected NAME=INTEGER") from None
        if not sep or not name.strip():
            raise UserError(f"--param {item!r}: expected NAME=INTEGER")
    return overrides


class BlockFile(pytest.File):
    def collect(self):
        project = projects.locate(projects.find(self.path.parent))
        try:  # a run of another project's block files leaves this process's own project alone
            projects.locate()
        except UserError:
            projects.use(project)
        block = load_block(self.path, project)
        block = all_blocks(project).get(block.name, block)  # with the sources of the blocks it uses
        opts = self.config.option
        overrides = parse_overrides(opts.param)
        tests = [block.test(opts.test)] if opts.test else list(block.tests)
        variants = [opts.variant] if opts.variant else list(block.variants)
        for variant in variants:
            block.variant(variant)
        if not opts.regress and not opts.test:
            tests = [t for t in tests if t.smoke]
        sysrand = random.SystemRandom()
        for variant in variants:
            for spec in tests:
                runs = spec.reseeds if opts.regress and opts.seed is None else 1
                for index in range(runs):
                    if opts.seed is not None:
                        seed = opts.seed
                    elif opts.regress:
                        seed = sysrand.randrange(1, 2**31)
                    else:
                        seed = zlib.crc32(f"{block.name}:{variant}:{spec.name}".encode()) & 0x7FFFFFFF
                    name = f"{variant}::{spec.name}" + (f"[{index}]" if runs > 1 else "")
                    yield SimItem.from_parent(
                        self, name=name, block=block, variant=variant, test=spec.name, seed=seed, overrides=overrides
                    )

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, UserError):
            return f"error: {excinfo.value}"
        return super().repr_failure(excinfo)


class SimFailure(Exception):
    pass


class SimItem(pytest.Item):
    def __init__(self, *, block: Block, variant: str, test: str, seed: int, overrides: dict[str, int], **kwargs):
        super().__init__(**kwargs)
        self.block, self.variant, self.test, self.seed = block, variant, test, seed
        self.overrides = overrides
        self.user_properties.append(("seed", seed))

    def runtest(self):
        waves = self.config.option.waves
        try:
            opts = self.config.option
            build = sim.build(
                self.block,
                self.variant,
                waves=waves,
                overrides=self.overrides,
                coverage=opts.coverage,
                simulator=opts.simulator,
            )
        except (sim.BuildError, UserError) as exc:  # a broken build or a missing simulator
            raise SimFailure(str(exc)) from None
        result = sim.run(build, self.test, self.seed)
        self.user_properties.append(("log", str(result.log)))
        if result.waves:
            self.user_properties.append(("waves", str(result.waves)))
        if not result.passed:
            raise SimFailure(self._failure_text(result))

    def _failure_text(self, result: sim.RunResult) -> str:
        command = sim.reproduce_command(
            self.block,
            self.test,
            self.seed,
            self.variant,
            self.overrides,
            waves=self.config.option.waves,
            simulator=self.config.option.simulator,
            coverage=self.config.option.coverage,
        )
        return "\n".join(
            [
                f"{self.block.name}[{self.variant}] {self.test} FAILED with seed {self.seed}",
                result.message,
                f"reproduce: {command}" + ("" if self.config.option.waves else "   (add --waves for a waveform)"),
                f"log:       {result.log}",
                *([f"waves:     {result.waves}"] if result.waves else []),
            ]
        )

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, SimFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.block.name}[{self.variant}] {self.test} seed={self.seed}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One line per simulation run: outcome, seed, wall time (workers report via xdist)."""
    rows = []
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        props = dict(report.user_properties)
        if "seed" in props and report.when == "call":
            waves = f"  waves: {props['waves']}" if "waves" in props else ""
            rows.append((report.nodeid, report.outcome, props["seed"], report.duration, waves))
    if not rows:
        return
    terminalreporter.section("asicdv simulation runs")
    for nodeid, outcome, seed, duration, waves in sorted(rows):
        terminalreporter.write_line(f"{outcome.upper():6} seed={seed:<11} {duration:7.1f}s  {nodeid}{waves}")
    if config.option.regress:
        out = Path("results") / "regress.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(
            json.dumps(
                [{"test": n, "outcome": o, "seed": s, "seconds": round(d, 2)} for n, o, s, d, _ in rows], indent=1
            )
        )
        terminalreporter.write_line(f"results written to {out}")


def pytest_collection_modifyitems(config, items):
    """With --test NAME only that simulation test runs, not the block's plain pytest tests."""
    if config.option.test:
        keep = [item for item in items if isinstance(item, SimItem)]
        config.hook.pytest_deselected(items=[item for item in items if not isinstance(item, SimItem)])
        items[:] = keep
