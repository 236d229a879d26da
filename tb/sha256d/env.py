"""SHA-256d miner verification environment: BFM and pyuvm components.

A sequence item is a job (models.sha256d.Job). The driver loads it and waits
for `done`; a passive monitor collects every hit leaving the result FIFO; the
scoreboard compares the hits of each job with models.sha256d.search(job):
the exact list, in order (nothing missing, nothing extra, no duplicates).
"""

from __future__ import annotations

from functools import cached_property

from cocotb.triggers import FallingEdge, RisingEdge
from pyuvm import ConfigDB, uvm_sequence_item, uvm_subscriber

from asicdv.testbench import clocking
from asicdv.testbench.bfm import Bfm
from asicdv.testbench.uvm import BeatMonitor, BlockEnv, BlockTest, CoverageComponent, ItemDriver, ScoreboardComponent
from models import sha256d as model
from tb.sha256d import coverage

HIT_CYCLES = 8  # budget per hit to leave the FIFO when the reader never stalls (more with stalls)


class MinerBfm(Bfm):
    """Signal-level access to sha256d_miner: load a job, read hits, wait for done, reset."""

    def __init__(self, dut, rng=None, stalls: bool = False):
        super().__init__(dut, rng, stalls)
        self.jobs = self.add_source("job", can_stall=False)  # job_ready is always 1 (a new job aborts the old)
        self.hits = self.add_sink("res", self.pauses(0.5, 8))

    async def load(self, job: model.Job) -> None:
        await self.jobs.send({port.removeprefix("job_"): v for port, v in model.job_port_values(job).items()})

    def cycle_budget(self, job: model.Job) -> int:
        """Generous for both variants: 129 cycles per (nonce, midstate), the pipeline's latency,
        and every hit leaving a full FIFO through a stalling reader."""
        work = job.nonce_count * len(job.midstates)
        return 130 * work + 200 + (10 if self.stalls else 1) * HIT_CYCLES * work

    async def run_job(self, job: model.Job) -> int:
        """Load a job, wait for done and for the FIFO to drain; returns the cycles to done."""
        start = clocking.cycles_now()
        await self.load(job)
        await self.within(RisingEdge(self.dut.done), self.cycle_budget(job), f"done of job {job.job_id}")
        cycles = clocking.cycles_now() - start
        await self.within(self.drain(), self.cycle_budget(job), f"draining the hits of job {job.job_id}")
        return cycles

    async def drain(self) -> None:
        """After done every hit is in the FIFO: wait until the reader has emptied it."""
        await RisingEdge(self.clk)
        while int(self.dut.res_valid.value):
            await FallingEdge(self.dut.res_valid)
        await RisingEdge(self.clk)


class JobItem(uvm_sequence_item):
    def __init__(self, name: str, job: model.Job):
        super().__init__(name)
        self.job = job

    @cached_property
    def expected(self) -> list[model.Hit]:
        """models.sha256d.search(job), computed once for the scoreboard and the coverage."""
        return model.search(self.job)

    def __str__(self) -> str:
        j = self.job
        return f"job {j.job_id}: {len(j.midstates)} midstate(s), nonces {j.nonce_start:#x}..{j.nonce_end:#x}, target {j.target:#066x}"


class MinerDriver(ItemDriver):
    async def drive(self, item: JobItem) -> None:
        await self.bfm.run_job(item.job)


class HitMonitor(BeatMonitor):
    """Passive: every (job id, midstate index, nonce) that leaves the result FIFO."""

    prefix = "res"

    def convert(self, beat) -> model.Hit:
        return model.Hit(beat["job_id"], beat["midstate_idx"], beat["nonce"])


class HitCollector(uvm_subscriber):
    """Hits seen since the last job ended."""

    def build_phase(self):
        self.seen: list[model.Hit] = []
        self.others: list[model.Hit] = []  # hits of other (aborted) jobs
        ConfigDB().get(self, "", "BFM").reset_listeners.append(self.clear)

    def write(self, hit: model.Hit):
        self.seen.append(hit)

    def take(self, job_id: int) -> list[model.Hit]:
        mine = [h for h in self.seen if h.job_id == job_id]
        self.others += [h for h in self.seen if h.job_id != job_id]
        self.seen = []
        return mine

    def clear(self) -> None:
        self.seen, self.others = [], []


class JobScoreboard(ScoreboardComponent):
    """Each finished job's hits vs models.sha256d.search(job): exactly, in order."""

    def connect_phase(self):
        self.collector: HitCollector = self.get_parent().collector

    def write(self, item: JobItem):
        self.board.expect(item.expected, context=str(item))
        self.board.observe(self.collector.take(item.job.job_id))


class JobCoverage(CoverageComponent):
    """Each finished job: its shape and hits, and whether the hit reader stalled during it."""

    def build_phase(self):
        super().build_phase()
        self.stalls_seen = 0

    def write(self, item: JobItem):
        stalls = self.bfm.hits.checker.stalls
        coverage.sample_job(item.job, item.expected, stalls > self.stalls_seen)
        self.stalls_seen = stalls
        for hit in item.expected:
            coverage.sample_hit(item.job, hit)


class MinerEnv(BlockEnv):
    driver_class = MinerDriver
    components = {
        "monitor": HitMonitor,
        "collector": HitCollector,
        "scoreboard": JobScoreboard,
        "coverage": JobCoverage,
    }
    connections = (("monitor.ap", "collector"), ("driver.ap", "scoreboard"), ("driver.ap", "coverage"))


class MinerBaseTest(BlockTest):
    """Subclasses give `jobs()` or override `stimulus()`."""

    bfm_class = MinerBfm
    env_class = MinerEnv

    async def run_jobs(self, *jobs: model.Job) -> list[JobItem]:
        return await self.send(*[JobItem(f"job{i}", job) for i, job in enumerate(jobs)])

    async def stimulus(self):
        await self.run_jobs(*self.jobs())

    def jobs(self):
        raise NotImplementedError
