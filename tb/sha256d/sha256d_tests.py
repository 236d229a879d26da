"""SHA-256d miner tests; every test runs on both variants (VARIANT=iterative|pipelined)."""

from __future__ import annotations

import pyuvm
from cocotb.triggers import Timer
from hypothesis import strategies as st

from asicdv import DATA, clocking
from asicdv.hypo import check_property
from models import bitcoin
from tb.sha256d.env import MinerBaseTest

HEADERS = DATA / "bitcoin" / "mainnet_headers_0_9999.txt"
GENESIS_HASH = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
SIM_LIMIT = {"timeout_time": 200, "timeout_unit": "ms"}  # a hung core fails, not hangs


def real_headers():
    if not HEADERS.exists():
        raise FileNotFoundError(f"real Bitcoin headers not found at {HEADERS}")
    return bitcoin.load_headers(HEADERS)


def easy_target(rng, hit_one_in: int) -> int:
    """A target hit with probability about 1/hit_one_in."""
    return ((1 << 256) // hit_one_in) - 1 - rng.getrandbits(200)


def random_job(rng, *, count: int, midstates: int = 1, start: int | None = None, hit_one_in: int = 4, job_id: int = 1):
    start = rng.getrandbits(32) if start is None else start
    return bitcoin.Job(
        midstates=tuple(tuple(rng.getrandbits(32) for _ in range(8)) for _ in range(midstates)),
        tail=bytes(rng.getrandbits(8) for _ in range(12)),
        nonce_start=start, nonce_end=min(start + count - 1, 0xFFFFFFFF),
        target=easy_target(rng, hit_one_in), job_id=job_id,
    )  # fmt: skip


@pyuvm.test(**SIM_LIMIT)
class RealHeadersTest(MinerBaseTest):
    """Real blocks: a window around the real nonce, real nbits target: the real nonce is found
    and its hash is the real block hash (genesis and four more)."""

    async def stimulus(self):
        headers = real_headers()
        for height in (0, 1, 170, 5000, 9999):
            header = bitcoin.BlockHeader.parse(headers[height])
            start = max(0, header.nonce - self.rng.randint(0, 40))
            job = bitcoin.job_from_header(headers[height], start, min(start + 47, 0xFFFFFFFF), job_id=height & 0xFF)
            await self.run_jobs(job)
            mid = job.midstates[0]
            assert bitcoin.hash_from_midstate(mid, job.tail, header.nonce) == bitcoin.sha256d(headers[height])
            assert bitcoin.search(job)[0].nonce == header.nonce, f"height {height}: real nonce not a hit"
        assert bitcoin.block_hash_hex(headers[0]) == GENESIS_HASH


def _job(midstates, tail, start, count, hit_bits, job_id):
    start = min(start, 2**32 - count)
    return bitcoin.Job(tuple(midstates), tail, start, start + count - 1, (1 << (256 - hit_bits)) - 1, job_id)


# Shrinkable jobs: fewer midstates, fewer nonces, easier targets, zero words.
JOBS = st.builds(
    _job,
    midstates=st.lists(st.tuples(*[st.integers(0, 2**32 - 1)] * 8), min_size=1, max_size=4),
    tail=st.binary(min_size=12, max_size=12),
    start=st.integers(0, 2**32 - 1),
    count=st.integers(1, 24),
    hit_bits=st.integers(0, 4),  # a nonce hits with probability 2**-hit_bits
    job_id=st.integers(0, 255),
)


@pyuvm.test(**SIM_LIMIT)
class RandomJobsTest(MinerBaseTest):
    """Hypothesis: random midstates/tails/ranges, easy targets (several hits), exact hit list."""

    async def one_job(self, job):
        await self.run_jobs(job)
        self.env.check()

    async def stimulus(self):
        await check_property(JOBS, self.one_job, max_examples=20, recover=self.bfm.reset, name="RandomJobsTest")


@pyuvm.test(**SIM_LIMIT)
class TargetBoundaryTest(MinerBaseTest):
    """hash == target is a hit, target = hash - 1 is not (one nonce, one midstate)."""

    async def stimulus(self):
        for _ in range(4):
            job = random_job(self.rng, count=1)
            hash_int = bitcoin.job_hash_int(job, 0, job.nonce_start)
            on = bitcoin.Job(job.midstates, job.tail, job.nonce_start, job.nonce_end, hash_int, job_id=2)
            below = bitcoin.Job(job.midstates, job.tail, job.nonce_start, job.nonce_end, hash_int - 1, job_id=3)
            assert len(bitcoin.search(on)) == 1 and not bitcoin.search(below)
            await self.run_jobs(on, below)


@pyuvm.test(**SIM_LIMIT)
class NonceEdgesTest(MinerBaseTest):
    """Ranges of one nonce, across 0x7FFFFFFF, ending at 0xFFFFFFFF (no wrap), and an empty range."""

    def jobs(self):
        edges = [(5, 5), (0, 0), (0x7FFFFFF8, 0x80000007), (0xFFFFFFF0, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (9, 8)]
        jobs = []
        for job_id, (start, end) in enumerate(edges):
            job = random_job(self.rng, count=1, midstates=2, hit_one_in=2, job_id=job_id)
            jobs.append(bitcoin.Job(job.midstates, job.tail, start, end, job.target, job_id))
        return jobs


@pyuvm.test(**SIM_LIMIT)
class MidstateCountTest(MinerBaseTest):
    """1..4 midstates from version rolling of a real header, easy target."""

    def jobs(self):
        header = real_headers()[self.rng.randrange(10000)]
        versions = bitcoin.rolled_versions(bitcoin.BlockHeader.parse(header).version)
        return [
            bitcoin.job_from_header(header, 1000, 1011, target=easy_target(self.rng, 3), job_id=n, versions=versions[:n])
            for n in (1, 2, 3, 4)
        ]


@pyuvm.test(**SIM_LIMIT)
class BackPressureTest(MinerBaseTest):
    """The reader stalls at random while most nonces hit: the FIFO fills, nothing is lost."""

    stalls = True

    def jobs(self):
        return [random_job(self.rng, count=40, midstates=self.rng.randint(1, 4), hit_one_in=1, job_id=i) for i in range(3)]


@pyuvm.test(**SIM_LIMIT)
class NewJobAbortsTest(MinerBaseTest):
    """A new job while one runs aborts it: the old job's hits are a prefix of its full list,
    with its own id; the new job's hits are exact."""

    async def stimulus(self):
        old = random_job(self.rng, count=400, midstates=2, hit_one_in=2, job_id=0xA0)
        new = random_job(self.rng, count=30, midstates=1, hit_one_in=2, job_id=0xB1)
        await self.bfm.load(old)
        await Timer(clocking.PERIOD_NS * self.rng.randint(150, 1500), "ns")
        await self.run_jobs(new)
        others = self.env.collector.others
        assert others == bitcoin.search(old)[: len(others)], "aborted job's hits are not a prefix of its hit list"
        self.logger.info("aborted job reported %d hits before the abort", len(others))


@pyuvm.test(**SIM_LIMIT)
class ResetMidJobTest(MinerBaseTest):
    """Reset in the middle of a job, then a job with exact hits and nothing stale."""

    async def stimulus(self):
        old = random_job(self.rng, count=300, midstates=1, hit_one_in=2, job_id=0xC0)
        await self.bfm.load(old)
        await Timer(clocking.PERIOD_NS * self.rng.randint(10, 1000), "ns")
        await self.bfm.reset()  # the collector forgets the old job's hits (a reset listener)
        await self.run_jobs(random_job(self.rng, count=20, hit_one_in=2, job_id=0xC1))
        assert not self.env.collector.others, f"stale hits after reset: {self.env.collector.others[:3]}"
