"""pyuvm pieces every block's environment shares."""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import RisingEdge
from pyuvm import ConfigDB, uvm_sequence, uvm_subscriber, uvm_test


class ItemsSeq(uvm_sequence):
    """Sends the given sequence items in order; body returns when the driver has done them all."""

    def __init__(self, name: str, items: list):
        super().__init__(name)
        self.items = items

    async def body(self):
        for item in self.items:
            await self.start_item(item)
            await self.finish_item(item)


class Forward(uvm_subscriber):
    """One analysis input of a component that has several: forwards each write to a method."""

    def __init__(self, name: str, parent, method):
        super().__init__(name, parent)
        self.method = method

    def write(self, transaction):
        self.method(transaction)


class BlockTest(uvm_test):
    """Base of every block's tests: builds `bfm_class` around cocotb.top and `env_class`,
    resets, runs `stimulus()`, then raises on the first scoreboard mismatch (`env.check()`)
    and logs the coverage bins the env counted (`env.coverage()`, if it has one).

    The test's random.Random (`self.rng`) is seeded from the run's seed; `stalls = True`
    asks the BFM for random back-pressure.
    """

    bfm_class: type
    env_class: type
    stalls = False

    def build_phase(self):
        self.rng = random.Random(cocotb.RANDOM_SEED)
        self.bfm = self.bfm_class(cocotb.top, self.rng, stalls=self.stalls)
        ConfigDB().set(None, "*", "BFM", self.bfm)
        self.env = self.env_class("env", self)

    async def run_phase(self):
        self.raise_objection()
        try:
            await self.bfm.reset()
            await self.stimulus()
            await RisingEdge(cocotb.top.clk)  # let monitors report the last transfer
            self.env.check()
            if hasattr(self.env, "coverage"):
                self.logger.info("coverage: %s", dict(sorted(self.env.coverage().items())))
        finally:
            self.drop_objection()

    async def stimulus(self):
        raise NotImplementedError
