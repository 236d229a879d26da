"""SHA-256d miner tests; every test runs on both variants (VARIANT=iterative|pipelined)."""

from __future__ import annotations

import dataclasses

from cocotb.triggers import Timer
from hypothesis import strategies as st

from asicdv import project
from asicdv.testbench import clocking, uvm
from models import sha256d as model
from tb.sha256d import coverage
from tb.sha256d.env import MinerBaseTest

HEADERS = project.current().data("bitcoin") / "mainnet_headers_0_9999.txt"
SIM_LIMIT = {"timeout_time": 200, "timeout_unit": "ms"}  # a hung core fails, not hangs


def real_headers():
    if not HEADERS.exists():
        raise FileNotFoundError(f"real Bitcoin headers not found at {HEADERS}")
    return model.load_headers(HEADERS)


def easy_target(rng, hit_one_in: int) -> int:
    """A target hit with probability about 1/hit_one_in."""
    return ((1 << 256) // hit_one_in) - 1 - rng.getrandbits(200)


def random_job(rng, *, count: int, midstates: int = 1, start: int | None = None, hit_one_in: int = 4, job_id: int = 1):
    start = rng.getrandbits(32) if start is None else start
    return model.Job(
        midstates=tuple(tuple(rng.getrandbits(32) for _ in range(8)) for _ in range(midstates)),
        tail=bytes(rng.getrandbits(8) for _ in range(12)),
        nonce_start=start,
        nonce_end=min(start + count - 1, 0xFFFFFFFF),
        target=easy_target(rng, hit_one_in),
        job_id=job_id,
    )


@uvm.test(**SIM_LIMIT)
class RealHeadersTest(MinerBaseTest):
    """Real blocks: a 48-nonce window around the real nonce, real nbits target: the DUT reports
    exactly the model's hits (the real nonce; tests/ checks the model against the real chain)."""

    async def stimulus(self):
        headers = real_headers()
        jobs = []
        for height in (0, 1, 170, 5000, 9999):
            header = model.BlockHeader.parse(headers[height])
            start = max(0, header.nonce - self.rng.randint(0, 40))
            jobs.append(
                model.job_from_header(headers[height], start, min(start + 47, 0xFFFFFFFF), job_id=height & 0xFF)
            )
        await self.run_jobs(*jobs)


EDGES = ("anywhere", "from 0", "to 0xffffffff", "across 0x7fffffff")
HITS = ("many", "one", "first", "last", "none")


@st.composite
def jobs(draw, edge: str, hits: str, midstate_count: int) -> model.Job:
    """`midstate_count` random midstates and 1..24 nonces, with the range at `edge` (anywhere, from 0, to 0xffffffff,
    across 0x7fffffff) and a target chosen to give `hits`: many (p = 1, 1/2, 1/4), exactly one
    (the range's smallest hash), one on the range's first or last nonce (its hash as the target),
    or none (target 0)."""
    midstates = draw(
        st.lists(st.tuples(*[st.integers(0, 2**32 - 1)] * 8), min_size=midstate_count, max_size=midstate_count)
    )
    tail = draw(st.binary(min_size=12, max_size=12))
    count = draw(st.integers(1, 24))
    start = {
        "anywhere": lambda: draw(st.integers(0, 2**32 - count)),
        "from 0": lambda: 0,
        "to 0xffffffff": lambda: 2**32 - count,
        "across 0x7fffffff": lambda: 0x80000000 - draw(st.integers(1, count)),
    }[edge]()
    job = model.Job(tuple(midstates), tail, start, min(start + count - 1, 0xFFFFFFFF), 0, draw(st.integers(0, 255)))
    if hits == "many":
        target = (1 << (256 - draw(st.integers(0, 2)))) - 1
    elif hits == "one":
        target = min(model.job_hash_ints(job))
    elif hits in ("first", "last"):
        target = model.job_hash_int(job, len(midstates) - 1, start if hits == "first" else job.nonce_end)
    else:
        target = 0  # no double hash is 0
    return dataclasses.replace(job, target=target)


def describe_job(job: model.Job) -> str:
    return (
        f"job {job.job_id}: {len(job.midstates)} midstate(s), nonces {job.nonce_start:#x}..{job.nonce_end:#x}, "
        f"target {job.target:#066x}, tail {job.tail.hex()}, midstates {[list(map(hex, m)) for m in job.midstates]}"
    )


def job_class(job: model.Job) -> dict[str, str]:
    hits = len(model.search(job))
    edge = "from 0" if job.nonce_start == 0 else "to 0xffffffff" if job.nonce_end == 0xFFFFFFFF else "inner"
    crosses = "crosses 0x7fffffff" if job.nonce_start < 0x80000000 <= job.nonce_end else edge
    return {"midstates": str(len(job.midstates)), "hits": str(hits) if hits < 2 else "many", "range": crosses}


@uvm.test(**SIM_LIMIT)
class RandomJobsTest(MinerBaseTest):
    """Hypothesis: random midstates and tails; every (range edge x hit class) stratum, with 1..4
    midstates in turn, gets its own property of `examples_per_stratum` jobs, so each hard case is
    reached by construction (hypothesis's own draws are far from uniform over a few dozen examples,
    and its first example is the simplest); the exact hit list, each example judged on its own, a
    failure shrunk within its stratum."""

    examples_per_stratum = 3

    async def one_job(self, job: model.Job) -> None:
        await self.run_jobs(job)

    async def stimulus(self):
        strata = [(edge, hits) for edge in EDGES for hits in HITS]
        for index, (edge, hits) in enumerate(strata):
            midstates = 1 + index % model.MAX_MIDSTATES
            await self.check_property(
                jobs(edge, hits, midstates),
                self.one_job,
                examples=self.examples_per_stratum,
                describe=describe_job,
                label=job_class,
                stratum=f"{edge}, {hits} hits, {midstates} midstates",
            )


@uvm.test(**SIM_LIMIT)
class TargetBoundaryTest(MinerBaseTest):
    """hash == target is a hit, target = hash - 1 is not (one nonce, one midstate)."""

    async def stimulus(self):
        for _ in range(4):
            job = random_job(self.rng, count=1)
            hash_int = model.job_hash_int(job, 0, job.nonce_start)
            on = model.Job(job.midstates, job.tail, job.nonce_start, job.nonce_end, hash_int, job_id=2)
            below = model.Job(job.midstates, job.tail, job.nonce_start, job.nonce_end, hash_int - 1, job_id=3)
            assert len(model.search(on)) == 1 and not model.search(below)
            await self.run_jobs(on, below)


@uvm.test(**SIM_LIMIT)
class NonceEdgesTest(MinerBaseTest):
    """Ranges of one nonce, across 0x7FFFFFFF, ending at 0xFFFFFFFF (no wrap), and an empty range."""

    def jobs(self):
        edges = [(5, 5), (0, 0), (0x7FFFFFF8, 0x80000007), (0xFFFFFFF0, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (9, 8)]
        jobs = []
        for job_id, (start, end) in enumerate(edges):
            job = random_job(self.rng, count=1, midstates=2, hit_one_in=2, job_id=job_id)
            jobs.append(model.Job(job.midstates, job.tail, start, end, job.target, job_id))
        return jobs


@uvm.test(**SIM_LIMIT)
class MidstateCountTest(MinerBaseTest):
    """1..4 midstates from version rolling of a real header, easy target."""

    def jobs(self):
        header = real_headers()[self.rng.randrange(10000)]
        versions = model.rolled_versions(model.BlockHeader.parse(header).version)
        return [
            model.job_from_header(header, 1000, 1011, target=easy_target(self.rng, 3), job_id=n, versions=versions[:n])
            for n in (1, 2, 3, 4)
        ]


@uvm.test(**SIM_LIMIT)
class BackPressureTest(MinerBaseTest):
    """The reader stalls at random while most nonces hit: the FIFO fills, nothing is lost."""

    stalls = True

    def jobs(self):
        return [
            random_job(self.rng, count=40, midstates=self.rng.randint(1, 4), hit_one_in=1, job_id=i) for i in range(3)
        ]


@uvm.test(**SIM_LIMIT)
class FifoFullWhileHashingTest(MinerBaseTest):
    """Every nonce hits and the reader stalls often, over more nonces than the pipeline (128) and the
    FIFO hold together: the FIFO fills while nonces are still in flight, so the engine must hold its
    input until there is room; nothing is lost or duplicated."""

    stalls = True

    def jobs(self):
        return [random_job(self.rng, count=400, midstates=1, hit_one_in=1, job_id=7)]


@uvm.test(**SIM_LIMIT)
class NewJobAbortsTest(MinerBaseTest):
    """A new job while one runs aborts it: the old job's hits are a prefix of its full list,
    with its own id; the new job's hits are exact."""

    async def stimulus(self):
        old = random_job(self.rng, count=400, midstates=2, hit_one_in=2, job_id=0xA0)
        new = random_job(self.rng, count=30, midstates=1, hit_one_in=2, job_id=0xB1)
        await self.bfm.load(old)
        # Abort only once the old job has reported a hit, at a random point after it: the old job
        # then has hits both before the abort (checked as a prefix) and after it (lost).
        first_hit = self.bfm.within(self.bfm.hits.stream.transfer(), 130 * 20, "the old job's first hit")
        await first_hit
        await Timer(clocking.PERIOD_NS * self.rng.randint(1, 600), "ns")
        await self.run_jobs(new)
        others, full = self.env.collector.others, model.search(old)
        assert others, "the aborted job reported no hit before the abort: nothing was checked"
        assert len(others) < len(full), "the old job finished before the new one: no abort happened"
        assert others == full[: len(others)], "aborted job's hits are not a prefix of its hit list"
        coverage.sample_abort(len(full) - len(others))
        self.logger.info("aborted job reported %d of its %d hits before the abort", len(others), len(full))


@uvm.test(**SIM_LIMIT)
class ResetMidJobTest(MinerBaseTest):
    """Reset in the middle of a job, then a job with exact hits and nothing stale."""

    async def stimulus(self):
        old = random_job(self.rng, count=300, midstates=1, hit_one_in=2, job_id=0xC0)
        await self.bfm.load(old)
        await Timer(clocking.PERIOD_NS * self.rng.randint(10, 1000), "ns")
        await self.bfm.reset()  # the collector forgets the old job's hits (a reset listener)
        await self.run_jobs(random_job(self.rng, count=20, hit_one_in=2, job_id=0xC1))
        assert not self.env.collector.others, f"stale hits after reset: {self.env.collector.others[:3]}"
