"""SHA-256 core tests: pyuvm tests, each a few lines over Sha256BaseTest.

Names here are the TEST= names (and must match tb/sha256/block.yaml).
"""

from __future__ import annotations

import hashlib

from cocotb.triggers import Timer
from hypothesis import strategies as st

from asicdv import project
from asicdv.testbench import clocking, uvm
from models import sha256 as model
from tb.sha256.env import HashBatch, HashItem, Sha256BaseTest

NIST = project.current().data("nist")


def nist_vectors(name: str):
    path = NIST / name
    if not path.exists():
        raise FileNotFoundError(f"NIST vectors not found at {path} (expected ../shared/data beside the repo)")
    return [(v.message, v.digest) for v in model.parse_cavp(path.read_text(), str(path))]


def monte_carlo_checkpoints(limit: int | None):
    path = NIST / "SHA256Monte.rsp"
    if not path.exists():
        raise FileNotFoundError(f"NIST Monte Carlo vectors not found at {path}")
    seed, checkpoints = None, []
    for line in path.read_text().splitlines():
        key, _, value = (part.strip() for part in line.partition("="))
        if key == "Seed":
            seed = bytes.fromhex(value)
        elif key == "MD":
            checkpoints.append(bytes.fromhex(value))
    return seed, checkpoints[:limit]


@uvm.test()
class FipsExamplesTest(Sha256BaseTest):
    """FIPS 180-4 examples (one block, two blocks) with their published digests."""

    def messages(self):
        return [
            (b"abc", bytes.fromhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")),
            (
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                bytes.fromhex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            ),
            (b"", bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")),
        ]


@uvm.test()
class NistShortMsgTest(Sha256BaseTest):
    """All 65 NIST SHAVS ShortMsg vectors (0..64 bytes)."""

    def messages(self):
        return nist_vectors("SHA256ShortMsg.rsp")


@uvm.test()
class NistLongMsgTest(Sha256BaseTest):
    """All 64 NIST SHAVS LongMsg vectors (163..6400 bytes, up to 101 chained blocks)."""

    def messages(self):
        return nist_vectors("SHA256LongMsg.rsp")


def monte_carlo_messages(seed: bytes) -> list[tuple[bytes, bytes]]:
    """One checkpoint of SHAVS's Monte Carlo chain, (message, digest) by hashlib: 1000 messages,
    each the three digests before it."""
    md, chain = [seed, seed, seed], []
    for _ in range(1000):
        message = md[-3] + md[-2] + md[-1]
        md = [md[-2], md[-1], hashlib.sha256(message).digest()]
        chain.append((message, md[-1]))
    return chain


@uvm.test()
class NistMonteSmokeTest(Sha256BaseTest):
    """NIST Monte Carlo test, first `checkpoints` of 100 (each 1000 chained hashes). Each
    checkpoint's 1000 messages come from hashlib's chain and go through the core back to back
    (open loop: HashBatch); each digest of the core's is compared with hashlib's (and every
    compression with the model), and each checkpoint's last digest with NIST's MD."""

    checkpoints: int | None = 3

    async def stimulus(self):
        seed, expected = monte_carlo_checkpoints(self.checkpoints)
        for count, checkpoint in enumerate(expected):
            chain = monte_carlo_messages(seed)
            items = [HashItem(f"mct{count}.{i}", message, digest) for i, (message, digest) in enumerate(chain)]
            await self.send(HashBatch(f"mct{count}", items))
            assert items[-1].digest == checkpoint, (
                f"Monte Carlo COUNT {count}: MD {items[-1].digest.hex()} != NIST {checkpoint.hex()}"
            )
            seed = checkpoint
        self.logger.info("Monte Carlo: %d checkpoints (%d hashes) match NIST", len(expected), 1000 * len(expected))


@uvm.test()
class NistMonteFullTest(NistMonteSmokeTest):
    """The whole NIST Monte Carlo test: 100 checkpoints, 100,000 hashes (nightly)."""

    checkpoints = None


# Lengths at the padding boundaries of 1..4 blocks: 55/56 (the length field no longer fits),
# 63/64 (a full block), and the same + 64, + 128, + 192.
BOUNDARY_LENGTHS = sorted({n + 64 * b for b in range(4) for n in (0, 1, 55, 56, 63)} - {0} | {0, 247})
MAX_LENGTH = 4 * 64 - 9  # the longest message that pads to 4 blocks


def messages(max_length: int = MAX_LENGTH) -> st.SearchStrategy[bytes]:
    """Half the lengths at a padding boundary, half uniform over 1..4 blocks; bytes random.
    Lengths shrink toward 0, bytes toward zeros, so a failure shrinks to the shortest failing length."""
    boundaries = [n for n in BOUNDARY_LENGTHS if n <= max_length]
    length = st.one_of(st.sampled_from(boundaries), st.integers(0, max_length))
    return length.flatmap(lambda n: st.binary(min_size=n, max_size=n))


def length_class(message: bytes) -> str:
    blocks = len(model.blocks(message))
    return f"{blocks} block{'s' if blocks > 1 else ''}{' (boundary)' if len(message) in BOUNDARY_LENGTHS else ''}"


def describe_message(message: bytes) -> str:
    shown = message.hex() if len(message) <= 64 else message[:32].hex() + "..."
    return f"message {shown or '(empty)'} ({len(message)} bytes)"


@uvm.test()
class RandomMessagesTest(Sha256BaseTest):
    """Hypothesis: messages of 0..247 bytes (1..4 blocks, half at padding boundaries) vs hashlib,
    all in one simulation; each example judged on its own."""

    examples = 150

    async def hash_one(self, message: bytes) -> None:
        await self.send(HashItem("prop", message))

    async def stimulus(self):
        await self.check_property(
            messages(), self.hash_one, examples=self.examples, describe=describe_message, label=length_class
        )


@uvm.test()
class BackPressureTest(RandomMessagesTest):
    """Random idle cycles on the input stream and random out_ready stalls."""

    stalls = True
    examples = 60


@uvm.test()
class BackToBackTest(Sha256BaseTest):
    """Independent blocks queued back to back: one accepted every 66 cycles, no idle cycle."""

    blocks = 24

    async def stimulus(self):
        blocks = [bytes(self.rng.getrandbits(8) for _ in range(64)) for _ in range(self.blocks)]
        for block in blocks:
            self.bfm.send_nowait(model.IV, block)
        for _ in blocks:
            await self.bfm.recv()  # the block scoreboard checks every digest
        cycles = self.env.monitor.accept_cycles
        gaps = {b - a for a, b in zip(cycles, cycles[1:], strict=False)}
        assert gaps == {66}, (
            f"blocks were accepted {sorted(gaps)} cycles apart; expected exactly 66 (65 latency + handover)"
        )


@uvm.test()
class ResetMidBlockTest(Sha256BaseTest):
    """Reset while a block is in the rounds, then a correct hash and no stale digest."""

    async def stimulus(self):
        self.bfm.send_nowait(model.IV, bytes(range(64)))
        await Timer(clocking.PERIOD_NS * self.rng.randint(2, 64), "ns")
        await self.bfm.reset()
        message = bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(0, 150)))
        await self.send(HashItem("after_reset", message))
        await Timer(clocking.PERIOD_NS * 100, "ns")  # a stale digest would show up here
        assert self.bfm.digests.empty(), "the core produced a digest after reset for the aborted block"
