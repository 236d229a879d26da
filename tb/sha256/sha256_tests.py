"""SHA-256 core tests: pyuvm tests, each a few lines over Sha256BaseTest.

Names here are the TEST= names (and must match tb/sha256/block.yaml).
"""

from __future__ import annotations

import hashlib

import pyuvm
from cocotb.triggers import Timer
from hypothesis import strategies as st

from asicdv import DATA, clocking
from asicdv.hypo import PropertyFailure, check_property
from models import sha256 as model
from tb.sha256.env import HashItem, Sha256BaseTest

NIST = DATA / "nist"


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


@pyuvm.test()
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


@pyuvm.test()
class NistShortMsgTest(Sha256BaseTest):
    """All 65 NIST SHAVS ShortMsg vectors (0..64 bytes)."""

    def messages(self):
        return nist_vectors("SHA256ShortMsg.rsp")


@pyuvm.test()
class NistLongMsgTest(Sha256BaseTest):
    """All 64 NIST SHAVS LongMsg vectors (163..6400 bytes, up to 101 chained blocks)."""

    def messages(self):
        return nist_vectors("SHA256LongMsg.rsp")


@pyuvm.test()
class NistMonteSmokeTest(Sha256BaseTest):
    """NIST Monte Carlo test, first `checkpoints` of 100 (each 1000 chained hashes)."""

    checkpoints: int | None = 3

    async def stimulus(self):
        seed, expected = monte_carlo_checkpoints(self.checkpoints)
        for count, checkpoint in enumerate(expected):
            md = [seed, seed, seed]
            for i in range(1000):
                item = HashItem(f"mct{count}.{i}", md[-3] + md[-2] + md[-1])
                await self.send(item)
                md = [md[-2], md[-1], item.digest]
            assert md[-1] == checkpoint, f"Monte Carlo COUNT {count}: MD {md[-1].hex()} != NIST {checkpoint.hex()}"
            seed = md[-1]
        self.logger.info("Monte Carlo: %d checkpoints (%d hashes) match NIST", len(expected), 1000 * len(expected))


@pyuvm.test()
class NistMonteFullTest(NistMonteSmokeTest):
    """The whole NIST Monte Carlo test: 100 checkpoints, 100,000 hashes (nightly)."""

    checkpoints = None


@pyuvm.test()
class RandomMessagesTest(Sha256BaseTest):
    """Hypothesis: messages of 0..max_len bytes vs hashlib, all in one simulation."""

    max_len = 200
    examples = 150

    async def hash_one(self, message: bytes) -> None:
        await self.send(HashItem("prop", message))
        self.env.check()  # raise now, so hypothesis can shrink this input

    async def stimulus(self):
        await check_property(
            st.binary(max_size=self.max_len), self.hash_one, max_examples=self.examples,
            recover=self.bfm.reset, describe=lambda m: f"message {m.hex() or '(empty)'} ({len(m)} bytes)",
            name=type(self).__name__,
        )  # fmt: skip


@pyuvm.test()
class BackPressureTest(RandomMessagesTest):
    """Random idle cycles on the input stream and random out_ready stalls."""

    stalls = True
    examples = 60


@pyuvm.test()
class BackToBackTest(Sha256BaseTest):
    """Independent blocks queued back to back: one accepted every 66 cycles, no idle cycle."""

    blocks = 24

    async def stimulus(self):
        blocks = [bytes(self.rng.getrandbits(8) for _ in range(64)) for _ in range(self.blocks)]
        for block in blocks:
            self.bfm.send_nowait(model.IV, block)
        for block in blocks:
            assert model.state_to_bytes(await self.bfm.recv()) == model.state_to_bytes(model.compress(model.IV, block))
        times = self.env.monitor.accept_times
        gaps = {round((b - a) / clocking.PERIOD_NS) for a, b in zip(times, times[1:])}
        assert gaps == {66}, f"blocks were accepted {sorted(gaps)} cycles apart; expected exactly 66 (65 latency + handover)"


@pyuvm.test()
class ResetMidBlockTest(Sha256BaseTest):
    """Reset while a block is in the rounds, then a correct hash and no stale digest."""

    async def stimulus(self):
        self.bfm.send_nowait(model.IV, bytes(range(64)))
        await Timer(clocking.PERIOD_NS * self.rng.randint(2, 64), "ns")
        await self.bfm.reset()
        message = bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(0, 150)))
        await self.send(HashItem("after_reset", message))
        await Timer(clocking.PERIOD_NS * 100, "ns")  # a stale digest would show up here
        assert self.bfm.sink.empty(), "the core produced a digest after reset for the aborted block"


@pyuvm.test()
class ShrinkingDemoTest(Sha256BaseTest):
    """Shows shrinking through the simulation: a deliberately wrong reference
    (drops the last byte of messages of 5+ bytes) must be caught and shrunk to
    the minimal failing input, five zero bytes."""

    async def wrong_check(self, message: bytes) -> None:
        reference = message[:-1] if len(message) >= 5 else message
        digest = await self.bfm.hash(message)
        assert digest == hashlib.sha256(reference).digest(), "digest differs from the (wrong) reference"

    async def stimulus(self):
        try:
            await check_property(st.binary(max_size=120), self.wrong_check, max_examples=200, name="wrong reference")
        except PropertyFailure as failure:
            assert failure.minimal == bytes(5), f"shrunk to {failure.minimal!r}, expected 5 zero bytes"
            self.logger.info("hypothesis shrank the failure to %r, as expected", failure.minimal)
        else:
            raise AssertionError("the deliberately wrong reference was never caught")
