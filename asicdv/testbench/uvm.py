"""pyuvm pieces every block's environment shares: the plumbing, so a block's env.py
holds only what is specific to the block.

- `BfmComponent`: a component that finds the test's BFM (ConfigDB "BFM") in build_phase.
- `ItemDriver`: gets each sequence item, `await self.drive(item)`, publishes it on `ap`.
- `BeatMonitor`: passive; publishes every beat of the stream `prefix` (converted by `convert`).
- `ScoreboardComponent`: a subscriber holding a `Scoreboard` (`board`).
- `CoverageComponent`: a subscriber that samples functional coverage (scoreboards only check).
- `AnalysisInput`: one of several analysis inputs of a component, each forwarding to a method.
- `BlockEnv`: builds the sequencer, `driver_class` and the `components`, wires the `connections`.
  Every component is built through pyuvm's factory (`.create()`), so a test can swap one
  for a subclass with `uvm_factory().set_type_override_by_type(Original, Replacement)`.
- `test`: pyuvm.test's decorator (a uvm_test class as a cocotb test), without its cost.
- `BlockTest`: builds BFM and env, resets, runs `stimulus()`, then checks every Scoreboard
  under the env and every stream's protocol checker by itself; `check_property` runs a
  hypothesis property with each example judged on its own.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import sys
import types
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import cocotb
import pyuvm._utility_classes as pyuvm_objections
from cocotb.triggers import RisingEdge
from pyuvm import (
    ConfigDB,
    uvm_analysis_port,
    uvm_component,
    uvm_driver,
    uvm_env,
    uvm_root,
    uvm_sequence,
    uvm_sequencer,
    uvm_subscriber,
    uvm_test,
)

from asicdv.testbench import functional_coverage as coverage
from asicdv.testbench.scoreboard import Scoreboard

if TYPE_CHECKING:
    from asicdv.testbench.properties import PropertyStats


class _CallerFrames:
    """What pyuvm's raise_objection reads from `inspect`: `stack()[level].frame`, the raiser's
    frame. inspect.stack() also reads the source of every frame on the stack (measured: 44 ms of
    every test's run phase); this walks the frames only."""

    class _Frame(NamedTuple):
        frame: types.FrameType

    @classmethod
    def stack(cls, context: int = 1) -> list[_Frame]:
        frames, frame = [], sys._getframe(1)
        while frame is not None:
            frames.append(cls._Frame(frame))
            frame = frame.f_back
        return frames


pyuvm_objections.inspect = _CallerFrames


class ItemsSeq(uvm_sequence):
    """Sends the given sequence items in order; body returns when the driver has done them all."""

    def __init__(self, name: str, items: list):
        super().__init__(name)
        self.items = items

    async def body(self):
        for item in self.items:
            await self.start_item(item)
            await self.finish_item(item)


class BfmComponent(uvm_component):
    """Finds the test's BFM in build_phase (subclasses call super().build_phase())."""

    def build_phase(self):
        self.bfm = ConfigDB().get(self, "", "BFM")


class ItemDriver(uvm_driver):
    """Drives each item with `drive(item)` (the block's), then publishes it on `ap`."""

    def build_phase(self):
        self.bfm = ConfigDB().get(self, "", "BFM")
        self.ap = uvm_analysis_port("ap", self)

    async def run_phase(self):
        while True:
            item = await self.seq_item_port.get_next_item()
            await self.drive(item)
            self.publish(item)
            self.seq_item_port.item_done()

    async def drive(self, item) -> None:
        raise NotImplementedError

    def publish(self, item) -> None:
        """What the env's subscribers get of a driven item (a block's batch item gives its parts)."""
        self.ap.write(item)


class BeatMonitor(BfmComponent):
    """Passive: every beat moving on stream `prefix`, as `convert(beat)`, on `ap`."""

    prefix: str

    def build_phase(self):
        super().build_phase()
        self.ap = uvm_analysis_port("ap", self)
        self.bfm.add_monitor(self.prefix).subscribers.append(lambda beat: self.ap.write(self.convert(beat)))

    def convert(self, beat: dict[str, int]) -> Any:
        return beat


class ScoreboardComponent(uvm_subscriber):
    """A subscriber with a Scoreboard named after the component (and the BFM, for what it counts)."""

    def build_phase(self):
        self.board = Scoreboard(self.get_full_name())
        self.bfm = ConfigDB().get(self, "", "BFM")


class CoverageComponent(uvm_subscriber):
    """A subscriber that samples the block's functional coverage from what it is connected to
    (`write`); wired in BlockEnv's `connections` like a scoreboard, and kept out of scoreboards."""

    def build_phase(self):
        self.bfm = ConfigDB().get(self, "", "BFM")


class AnalysisInput(uvm_subscriber):
    """One analysis input of a component that has several: forwards each write to a method
    (connect to it as "component.input")."""

    def __init__(self, name: str, parent, method):
        super().__init__(name, parent)
        self.method = method

    def write(self, transaction):
        self.method(transaction)


class BlockEnv(uvm_env):
    """A block's env as data: the sequencer and `driver_class`, then `components` (attribute
    name -> class, built in order) and `connections` (("component.port", "component[.input]")
    pairs: an analysis port to a subscriber's export), wired by the framework. Everything is
    built with `.create()`, so factory overrides apply."""

    driver_class: type
    components: dict[str, type] = {}
    connections: tuple[tuple[str, str], ...] = ()

    def build_phase(self):
        self.sequencer = uvm_sequencer.create("sequencer", self)
        self.driver = self.driver_class.create("driver", self)
        for name, component in self.components.items():
            setattr(self, name, component.create(name, self))

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.sequencer.seq_item_export)
        for port, target in self.connections:
            self._resolve(port).connect(self._resolve(target).analysis_export)

    def _resolve(self, path: str):
        obj = self
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj


def _components(root: uvm_component) -> Iterator[uvm_component]:
    yield root
    for child in root.get_children():
        yield from _components(child)


class BlockTest(uvm_test):
    """Base of every block's tests: builds `bfm_class` around cocotb.top and `env_class`,
    resets, runs `stimulus()`, then raises on the first error of any scoreboard under the
    env or any stream protocol checker (`check()`), and logs the env's coverage if it has one.

    The test's random.Random (`self.rng`) is seeded from the run's seed; `stalls = True`
    asks the BFM for random back-pressure.
    """

    bfm_class: type
    env_class: type
    stalls = False
    # Properties steer toward functional coverage bins not hit yet (hypothesis.target on the
    # number of new bins an example hit); ASICDV_STEER=0 turns it off (to measure its effect).
    steer_coverage = os.environ.get("ASICDV_STEER", "1") != "0"

    def build_phase(self):
        self.rng = random.Random(cocotb.RANDOM_SEED)
        self.bfm = self.bfm_class(cocotb.top, self.rng, stalls=self.stalls)
        ConfigDB().set(None, "*", "BFM", self.bfm)
        self.env = self.env_class.create("env", self)

    def scoreboards(self) -> list[Scoreboard]:
        return self.env_scoreboards() + self.bfm.protocol_boards()

    def env_scoreboards(self) -> list[Scoreboard]:
        """Every Scoreboard held by a component under the env (not the protocol checkers')."""
        return [v for c in _components(self.env) for v in vars(c).values() if isinstance(v, Scoreboard)]

    def check(self) -> None:
        """Raise on the first scoreboard error, or an expected transaction that never came."""
        for board in self.scoreboards():
            board.check()

    async def send(self, *items) -> list:
        """Run sequence items through the env's sequencer and driver; return them."""
        await ItemsSeq("items", list(items)).start(self.env.sequencer)
        return list(items)

    async def check_property(
        self, strategy, drive: Callable[[Any], Awaitable[None]], *, examples: int, describe=repr, label=None, stratum=""
    ) -> PropertyStats:
        """Hypothesis property through the DUT, each example judged on its own: the boards are
        cleared before it and checked after it; a failed example is followed by a reset."""

        new_bins = [0]
        curve: list[int] = []  # bins hit after each passing example
        env_boards = self.env_scoreboards()  # built once: the walk of the component tree is not per example

        async def one(example) -> None:
            # The example's own pauses: a replay while shrinking stalls where the first run did.
            self.bfm.reseed_pauses(int.from_bytes(hashlib.sha256(describe(example).encode()).digest()[:8], "little"))
            for board in env_boards + self.bfm.protocol_boards():  # polled: what the engines saw is cleared too
                board.clear()
            before = coverage.hit_count()
            await drive(example)
            boards = env_boards + self.bfm.protocol_boards()  # polled first: a native stall is this example's bin
            hit = coverage.hit_count()
            new_bins[0] = hit - before
            for board in boards:  # as check(): the first error raises
                board.check()
            curve.append(hit)

        from asicdv.testbench import properties as hypo  # hypothesis costs ~0.5 s of start-up: only tests that use it

        stats = await hypo.check_property(
            strategy,
            one,
            max_examples=examples,
            recover=self.bfm.reset,
            describe=describe,
            label=label,
            name=type(self).__name__ + (f" [{stratum}]" if stratum else ""),
            score=(lambda: new_bins[0]) if self.steer_coverage else None,
        )
        if curve:
            final = curve[-1]
            steps = [f"{n}@{i + 1}" for i, n in enumerate(curve) if i == 0 or n > curve[i - 1]]
            self.logger.info(
                "coverage closure: %d bins hit after %d examples (steering %s); bins@example %s",
                final,
                curve.index(final) + 1,
                "on" if self.steer_coverage else "off",
                " ".join(steps),
            )
        return stats

    async def run_phase(self):
        self.raise_objection()
        try:
            await self.bfm.reset()
            await self.stimulus()
            await RisingEdge(self.bfm.clk)  # let monitors report the last transfer
            self.check()
            self.report_coverage()
        finally:
            self.drop_objection()

    async def stimulus(self):
        raise NotImplementedError

    def report_coverage(self) -> None:
        """Write this run's functional coverage (coverage.json/.xml in the run directory) and log it."""
        points = coverage.write(Path.cwd())
        if points is None:
            return
        hit, total = coverage.summary(points)
        missing = coverage.holes(points)
        self.logger.info(
            "functional coverage: %d of %d bins (%.0f%%) in this run; holes: %s",
            hit,
            total,
            100 * hit / total,
            ", ".join(missing) or "none",
        )


def test(
    timeout_time: float | None = None,
    timeout_unit: str = "step",
    expect_fail: bool = False,
    expect_error: tuple = (),
    skip: bool = False,
    stage: int = 0,
    keep_singletons: bool = False,
    keep_set: set | None = None,
):
    """`@pyuvm.test(...)`, same arguments and the same cocotb test (named after the class), but the
    test is put in the caller's module from the caller's frame: pyuvm finds that module with
    inspect.stack(), which reads the source of every frame on the stack, 10-50 ms a test. A
    batched run imports the project's test modules afresh, so that was up to 0.3 s of every run."""

    def decorator(cls):
        @cocotb.test(
            timeout_time=timeout_time,
            timeout_unit=timeout_unit,
            expect_fail=expect_fail,
            expect_error=expect_error,
            skip=skip,
            stage=stage,
            name=cls.__name__,
        )
        @functools.wraps(cls)
        async def test_obj(_):
            await uvm_root().run_test(cls, keep_singletons=keep_singletons, keep_set=keep_set or set())

        sys._getframe(1).f_globals[f"__{cls.__name__}"] = test_obj  # where cocotb's discovery looks
        return cls

    return decorator
