"""SHA-256 core verification environment: what is specific to sha256_core.

The BFM owns the two streams (`in`, `out`); the driver turns a message into padded,
chained blocks; a passive monitor pairs every accepted (chain, block) with the digest
that came out; two scoreboards check each block against models.sha256.compress and
each message against an independent reference (hashlib or the NIST vector's MD).
"""

from __future__ import annotations

import hashlib
from collections import deque

from pyuvm import uvm_analysis_port, uvm_sequence_item

from asicdv.testbench import clocking
from asicdv.testbench.bfm import Bfm
from asicdv.testbench.scoreboard import BatchedScoreboard
from asicdv.testbench.uvm import BfmComponent, BlockEnv, BlockTest, CoverageComponent, ItemDriver, ScoreboardComponent
from models import sha256 as model
from tb.sha256 import coverage


def state_to_int(state: model.State) -> int:
    return int.from_bytes(model.state_to_bytes(state), "big")


class Sha256Bfm(Bfm):
    """Signal-level access to sha256_core: send blocks, receive digests, reset."""

    def __init__(self, dut, rng=None, stalls: bool = False):
        super().__init__(dut, rng, stalls)
        self.blocks_in = self.add_source("in", self.pauses())
        self.digests = self.add_sink("out", self.pauses())

    def send_nowait(self, chain: model.State, block: bytes) -> None:
        self.blocks_in.send_nowait({"chain": state_to_int(chain), "block": int.from_bytes(block, "big")})

    async def recv(self) -> model.State:
        beat = await self.digests.recv()
        return model.bytes_to_state(beat["digest"].to_bytes(32, "big"))

    async def compress_all(self, chains: list[int], blocks: list[int]) -> list[int]:
        """Independent compressions back to back, as port values (chain and digest: word 0 in the
        MSBs, as `state_to_int`; block: the 64 bytes big-endian); the digests in order."""
        self.blocks_in.send_all_nowait([{"chain": c, "block": b} for c, b in zip(chains, blocks, strict=True)])
        await self.blocks_in.wait_idle()  # every block accepted; the digests are (nearly) all out
        return [(await self.digests.recv())["digest"] for _ in chains]

    async def hash(self, message: bytes) -> bytes:
        """Pad and chain a whole message through the core."""
        state = model.IV
        for block in model.blocks(message):
            self.send_nowait(state, block)
            state = await self.recv()
        return model.state_to_bytes(state)

    async def hash_all(self, messages: list[bytes]) -> list[bytes]:
        """Many messages back to back, open loop: a block after a message's first is chained from
        models.sha256's state after the blocks before it, not from the core's digest, so every
        block is queued at once. The block scoreboard compares each of the core's digests with the
        model, so a wrong one fails there; the digests of the messages' last blocks are returned."""
        message_blocks = [model.blocks(message) for message in messages]
        chains = [[model.IV] for _ in messages]
        for depth in range(1, max(map(len, message_blocks), default=0)):
            longer = [i for i, blocks in enumerate(message_blocks) if len(blocks) > depth]
            states = model.compress_many(
                [chains[i][-1] for i in longer], [message_blocks[i][depth - 1] for i in longer]
            )
            for i, state in zip(longer, states, strict=True):
                chains[i].append(state)
        chain_ports, block_ports, last = [], [], []  # `last`: each message's last block
        for blocks, message_chains in zip(message_blocks, chains, strict=True):
            chain_ports += [state_to_int(chain) for chain in message_chains]
            block_ports += [int.from_bytes(block, "big") for block in blocks]
            last.append(len(block_ports) - 1)
        digests = await self.compress_all(chain_ports, block_ports)
        return [digests[i].to_bytes(32, "big") for i in last]


class HashItem(uvm_sequence_item):
    """One message to hash; `expected` is an independent reference digest."""

    def __init__(self, name: str, message: bytes, expected: bytes | None = None):
        super().__init__(name)
        self.message = message
        self.expected = expected if expected is not None else hashlib.sha256(message).digest()
        self.digest: bytes | None = None

    def __str__(self) -> str:
        return f"{self.get_name()}: {len(self.message)} bytes {self.message[:16].hex()}..."


class HashBatch(uvm_sequence_item):
    """Messages hashed back to back, open loop (Sha256Bfm.hash_all); the driver publishes each
    of its items as if driven alone."""

    def __init__(self, name: str, items: list[HashItem]):
        super().__init__(name)
        self.items = items


class Sha256Driver(ItemDriver):
    async def drive(self, item: HashItem | HashBatch) -> None:
        if isinstance(item, HashBatch):
            digests = await self.bfm.hash_all([one.message for one in item.items])
            for one, digest in zip(item.items, digests, strict=True):
                one.digest = digest
        else:
            item.digest = await self.bfm.hash(item.message)

    def publish(self, item: HashItem | HashBatch) -> None:
        for one in item.items if isinstance(item, HashBatch) else [item]:
            self.ap.write(one)


class BlockMonitor(BfmComponent):
    """Passive: pairs each accepted (chain, block) with the next digest out."""

    def build_phase(self):
        super().build_phase()
        self.ap = uvm_analysis_port("ap", self)
        self.pending: deque = deque()
        self.accept_cycles: list[int] = []
        self.digest_cycle: int | None = None
        self.bfm.reset_listeners.append(self.pending.clear)
        self.bfm.add_monitor("in").subscribers.append(self.accepted)
        self.bfm.add_monitor("out").subscribers.append(self.digest_out)

    def accepted(self, beat) -> None:
        self.accept_cycles.append(clocking.cycles_now())
        if self.digest_cycle is not None:
            coverage.sample_accept(self.accept_cycles[-1] - self.digest_cycle)
        self.pending.append((beat["chain"], beat["block"]))

    def digest_out(self, beat) -> None:
        self.digest_cycle = clocking.cycles_now()
        if self.accept_cycles and self.accept_cycles[-1] == self.digest_cycle:
            coverage.sample_accept(0)  # the next block moved on the same edge, and was delivered first
        chain, block = self.pending.popleft() if self.pending else (None, None)  # None: a digest with no input
        self.ap.write((chain, block, beat["digest"]))


def expected_digests(inputs: list[tuple[int, int]]) -> list[int]:
    """models.sha256's compressions of (chain, block) port values, as digest port values."""
    chains = [model.bytes_to_state(chain.to_bytes(32, "big")) for chain, _ in inputs]
    states = model.compress_many(chains, [block.to_bytes(64, "big") for _, block in inputs])
    return [state_to_int(state) for state in states]


def port_values(inputs: tuple[int, int]) -> dict[str, int]:
    chain, block = inputs
    return {"chain": chain, "block": block}


class BlockScoreboard(ScoreboardComponent):
    """Every compression the DUT did vs models.sha256.compress (in batches: compress_many)."""

    def build_phase(self):
        super().build_phase()
        self.board = BatchedScoreboard(self.get_full_name(), expected_digests, context=port_values)

    def write(self, transaction):
        chain, block, digest = transaction
        if chain is None:
            self.board.observe(digest)  # a digest with no input: unexpected
        else:
            self.board.observe_from((chain, block), digest)


class MessageScoreboard(ScoreboardComponent):
    """Every message digest vs the independent reference in the item."""

    def write(self, item: HashItem):
        self.board.expect(item.expected, context=item.message if len(item.message) <= 64 else None)
        self.board.observe(item.digest)


class MessageCoverage(CoverageComponent):
    """Every message's length classes (the monitor samples the accept timing)."""

    def write(self, item: HashItem):
        coverage.sample_message(item.message)


class Sha256Env(BlockEnv):
    driver_class = Sha256Driver
    components = {
        "monitor": BlockMonitor,
        "block_sb": BlockScoreboard,
        "message_sb": MessageScoreboard,
        "coverage": MessageCoverage,
    }
    connections = (("driver.ap", "message_sb"), ("monitor.ap", "block_sb"), ("driver.ap", "coverage"))


class Sha256BaseTest(BlockTest):
    """Subclasses give `messages()` (message, expected digest) pairs or override `stimulus()`."""

    bfm_class = Sha256Bfm
    env_class = Sha256Env

    async def stimulus(self):
        """The messages back to back as one open-loop batch (Sha256Bfm.hash_all)."""
        items = [HashItem(f"msg{i}", message, expected) for i, (message, expected) in enumerate(self.messages())]
        await self.send(HashBatch("messages", items))

    def messages(self):
        raise NotImplementedError
