"""SHA-256d miner verification environment: BFM and pyuvm components.

A sequence item is a job (models.bitcoin.Job). The driver loads it and waits
for `done`; a passive monitor collects every hit leaving the result FIFO; the
scoreboard compares the hits of each job with models.bitcoin.search(job):
the exact list, in order (nothing missing, nothing extra, no duplicates).
"""

from __future__ import annotations

import random

from cocotb.simtime import get_sim_time
from cocotb.triggers import FallingEdge, RisingEdge
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
from models import bitcoin

JOB_FIELDS = ("job_midstates", "job_midstate_count", "job_tail", "job_nonce_start", "job_nonce_end", "job_target", "job_id")


class MinerBfm(Bfm):
    """Signal-level access to sha256d_miner: load a job, read hits, wait for done, reset."""

    def __init__(self, dut, rng: random.Random | None = None, stalls: bool = False):
        super().__init__(dut)
        period = clocking.PERIOD_NS
        self.jobs = StreamSource(dut.clk, dut.job_valid, dut.job_ready, {f: getattr(dut, f) for f in JOB_FIELDS}, period)
        self.hits = StreamSink(
            dut.clk, dut.res_valid, dut.res_ready,
            {"job_id": dut.res_job_id, "midstate_index": dut.res_midstate_idx, "nonce": dut.res_nonce},
            period, random_pauses(rng, 0.5, 8) if stalls else no_pauses(),
        )  # fmt: skip

    async def load(self, job: bitcoin.Job) -> None:
        await self.jobs.send(bitcoin.job_port_values(job))

    async def drain(self) -> None:
        """After done every hit is in the FIFO: wait until the reader has emptied it."""
        await RisingEdge(self.dut.clk)
        while int(self.dut.res_valid.value):
            await FallingEdge(self.dut.res_valid)
        await RisingEdge(self.dut.clk)


class JobItem(uvm_sequence_item):
    def __init__(self, name: str, job: bitcoin.Job):
        super().__init__(name)
        self.job = job
        self.cycles = 0

    def __str__(self) -> str:
        j = self.job
        return f"job {j.job_id}: {len(j.midstates)} midstate(s), nonces {j.nonce_start:#x}..{j.nonce_end:#x}, target {j.target:#066x}"


class MinerDriver(uvm_driver):
    """Loads a job, waits for done and for the FIFO to drain, then reports the job."""

    def build_phase(self):
        self.bfm: MinerBfm = ConfigDB().get(self, "", "BFM")
        self.ap = uvm_analysis_port("ap", self)

    async def run_phase(self):
        while True:
            item = await self.seq_item_port.get_next_item()
            start = get_sim_time("ns")
            await self.bfm.load(item.job)
            await RisingEdge(self.bfm.dut.done)
            item.cycles = round((get_sim_time("ns") - start) / clocking.PERIOD_NS)
            await self.bfm.drain()
            self.ap.write(item)
            self.seq_item_port.item_done()


class HitMonitor(uvm_component):
    """Passive: every (job id, midstate index, nonce) that leaves the result FIFO."""

    def build_phase(self):
        self.bfm: MinerBfm = ConfigDB().get(self, "", "BFM")
        self.ap = uvm_analysis_port("ap", self)

    async def run_phase(self):
        dut = self.bfm.dut
        while True:
            hit = await transfer(
                dut.clk, dut.res_valid, dut.res_ready,
                lambda: bitcoin.Hit(int(dut.res_job_id.value), int(dut.res_midstate_idx.value), int(dut.res_nonce.value)),
            )  # fmt: skip
            self.ap.write(hit)


class HitCollector(uvm_subscriber):
    """Hits seen since the last job ended."""

    def build_phase(self):
        self.seen: list[bitcoin.Hit] = []
        self.others: list[bitcoin.Hit] = []  # hits of other (aborted) jobs
        ConfigDB().get(self, "", "BFM").reset_listeners.append(self.clear)

    def write(self, hit: bitcoin.Hit):
        self.seen.append(hit)

    def take(self, job_id: int) -> list[bitcoin.Hit]:
        mine = [h for h in self.seen if h.job_id == job_id]
        self.others += [h for h in self.seen if h.job_id != job_id]
        self.seen = []
        return mine

    def clear(self) -> None:
        self.seen, self.others = [], []


class JobScoreboard(uvm_subscriber):
    """Each finished job's hits vs models.bitcoin.search(job): exactly, in order."""

    def build_phase(self):
        self.board = Scoreboard("sha256d hits")
        self.collector: HitCollector | None = None
        self.coverage: dict[str, int] = {}

    def write(self, item: JobItem):
        expected = bitcoin.search(item.job)
        self.board.expect(expected, context=str(item))
        self.board.observe(self.collector.take(item.job.job_id))
        self.cover(f"hits={min(len(expected), 3)}", f"midstates={len(item.job.midstates)}",
                   *{f"hit_on_midstate{h.midstate_index}" for h in expected})  # fmt: skip

    def cover(self, *bins: str) -> None:
        for name in bins:
            self.coverage[name] = self.coverage.get(name, 0) + 1


class MinerEnv(uvm_env):
    def build_phase(self):
        self.sequencer = uvm_sequencer("sequencer", self)
        self.driver = MinerDriver("driver", self)
        self.monitor = HitMonitor("monitor", self)
        self.collector = HitCollector("collector", self)
        self.scoreboard = JobScoreboard("scoreboard", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.sequencer.seq_item_export)
        self.monitor.ap.connect(self.collector.analysis_export)
        self.driver.ap.connect(self.scoreboard.analysis_export)
        self.scoreboard.collector = self.collector

    def check(self) -> None:
        self.scoreboard.board.check()

    def coverage(self) -> dict[str, int]:
        return self.scoreboard.coverage


class MinerBaseTest(BlockTest):
    """Subclasses give `jobs()` or override `stimulus()`."""

    bfm_class = MinerBfm
    env_class = MinerEnv

    async def run_jobs(self, *jobs: bitcoin.Job) -> list[JobItem]:
        items = [JobItem(f"job{i}", job) for i, job in enumerate(jobs)]
        await ItemsSeq("jobs", items).start(self.env.sequencer)
        return items

    async def stimulus(self):
        await self.run_jobs(*self.jobs())

    def jobs(self):
        raise NotImplementedError
