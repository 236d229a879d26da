"""SHA-256 core verification environment: BFM and pyuvm components.

The BFM owns the signal-level loops (two valid/ready streams); the pyuvm
driver turns a message into padded, chained blocks; a passive monitor pairs
every accepted (chain, block) with the digest that came out; two scoreboards
check each block against models.sha256.compress and each message against an
independent reference (hashlib or the NIST vector's MD).
"""

from __future__ import annotations

import hashlib
import random
from collections import deque

import cocotb
from cocotb.simtime import get_sim_time
from pyuvm import (
    ConfigDB,
    uvm_analysis_port,
    uvm_component,
    uvm_driver,
    uvm_env,
    uvm_sequence_item,
    uvm_sequencer,
    uvm_subscriber,
)

from asicdv import clocking
from asicdv.bfm import Bfm
from asicdv.scoreboard import Scoreboard
from asicdv.stream import StreamSink, StreamSource, no_pauses, random_pauses, transfer
from asicdv.uvm import BlockTest, ItemsSeq
from models import sha256 as model


def state_to_int(state: model.State) -> int:
    return int.from_bytes(model.state_to_bytes(state), "big")


class Sha256Bfm(Bfm):
    """Signal-level access to sha256_core: send blocks, receive digests, reset."""

    def __init__(self, dut, rng: random.Random | None = None, stalls: bool = False):
        super().__init__(dut)
        pauses_in = random_pauses(rng) if stalls else no_pauses()
        pauses_out = random_pauses(rng) if stalls else no_pauses()
        period = clocking.PERIOD_NS
        self.source = StreamSource(
            dut.clk, dut.in_valid, dut.in_ready, {"chain": dut.in_chain, "block": dut.in_block}, period, pauses_in
        )
        self.sink = StreamSink(dut.clk, dut.out_valid, dut.out_ready, {"digest": dut.out_digest}, period, pauses_out)

    def send_nowait(self, chain: model.State, block: bytes) -> None:
        self.source.send_nowait({"chain": state_to_int(chain), "block": int.from_bytes(block, "big")})

    async def recv(self) -> model.State:
        beat = await self.sink.recv()
        return model.bytes_to_state(beat["digest"].to_bytes(32, "big"))

    async def compress(self, chain: model.State, block: bytes) -> model.State:
        self.send_nowait(chain, block)
        return await self.recv()

    async def hash(self, message: bytes) -> bytes:
        """Pad and chain a whole message through the core."""
        state = model.IV
        for block in model.blocks(message):
            state = await self.compress(state, block)
        return model.state_to_bytes(state)


class HashItem(uvm_sequence_item):
    """One message to hash; `expected` is an independent reference digest."""

    def __init__(self, name: str, message: bytes, expected: bytes | None = None):
        super().__init__(name)
        self.message = message
        self.expected = expected if expected is not None else hashlib.sha256(message).digest()
        self.digest: bytes | None = None

    def __str__(self) -> str:
        return f"{self.get_name()}: {len(self.message)} bytes {self.message[:16].hex()}..."


class Sha256Driver(uvm_driver):
    def build_phase(self):
        self.bfm: Sha256Bfm = ConfigDB().get(self, "", "BFM")
        self.ap = uvm_analysis_port("ap", self)

    async def run_phase(self):
        while True:
            item = await self.seq_item_port.get_next_item()
            item.digest = await self.bfm.hash(item.message)
            self.ap.write(item)
            self.seq_item_port.item_done()


class BlockMonitor(uvm_component):
    """Passive: pairs each accepted (chain, block) with the next digest out."""

    def build_phase(self):
        self.bfm: Sha256Bfm = ConfigDB().get(self, "", "BFM")
        self.ap = uvm_analysis_port("ap", self)
        self.pending: deque = deque()
        self.accept_times: list[int] = []
        self.bfm.reset_listeners.append(self.pending.clear)

    async def run_phase(self):
        dut = self.bfm.dut
        cocotb.start_soon(self._inputs(dut))
        while True:
            digest = await transfer(dut.clk, dut.out_valid, dut.out_ready, lambda: int(dut.out_digest.value))
            if not self.pending:
                self.ap.write((None, None, digest))  # a digest with no input: the scoreboard flags it
            else:
                chain, block = self.pending.popleft()
                self.ap.write((chain, block, digest))

    async def _inputs(self, dut):
        while True:
            beat = await transfer(dut.clk, dut.in_valid, dut.in_ready, lambda: (int(dut.in_chain.value), int(dut.in_block.value)))
            self.accept_times.append(get_sim_time("ns"))
            self.pending.append(beat)


class BlockScoreboard(uvm_subscriber):
    """Every compression the DUT did vs models.sha256.compress."""

    def build_phase(self):
        self.board = Scoreboard("sha256 block")

    def write(self, transaction):
        chain, block, digest = transaction
        if chain is None:
            self.board.observe(digest)
            return
        chain_state = model.bytes_to_state(chain.to_bytes(32, "big"))
        expected = state_to_int(model.compress(chain_state, block.to_bytes(64, "big")))
        self.board.expect(expected, context={"chain": chain, "block": block})
        self.board.observe(digest)


class MessageScoreboard(uvm_subscriber):
    """Every message digest vs the independent reference in the item."""

    def build_phase(self):
        self.board = Scoreboard("sha256 message")

    def write(self, item: HashItem):
        self.board.expect(item.expected, context=item.message if len(item.message) <= 64 else None)
        self.board.observe(item.digest)


class Sha256Env(uvm_env):
    def build_phase(self):
        self.sequencer = uvm_sequencer("sequencer", self)
        self.driver = Sha256Driver("driver", self)
        self.monitor = BlockMonitor("monitor", self)
        self.block_sb = BlockScoreboard("block_sb", self)
        self.message_sb = MessageScoreboard("message_sb", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.sequencer.seq_item_export)
        self.driver.ap.connect(self.message_sb.analysis_export)
        self.monitor.ap.connect(self.block_sb.analysis_export)

    def check(self) -> None:
        """Raise on the first mismatch of either scoreboard."""
        self.message_sb.board.check()
        self.block_sb.board.check()


class Sha256BaseTest(BlockTest):
    """Subclasses give `messages()` (message, expected digest) pairs or override `stimulus()`."""

    bfm_class = Sha256Bfm
    env_class = Sha256Env

    async def send(self, *items: HashItem) -> None:
        await ItemsSeq("items", list(items)).start(self.env.sequencer)

    async def stimulus(self):
        items = [HashItem(f"msg{i}", message, expected) for i, (message, expected) in enumerate(self.messages())]
        await self.send(*items)

    def messages(self):
        raise NotImplementedError
