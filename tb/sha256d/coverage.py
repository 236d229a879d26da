"""SHA-256d miner functional coverage, declared up front (sampled by JobCoverage in env.py)."""

from asicdv.testbench.functional_coverage import CoverCross, CoverPoint
from models import sha256d as model

RANGES = ["empty", "single nonce", "from 0", "to 0xffffffff", "across 0x7fffffff", "inner"]
TARGETS = ["zero", "real (< 2^224)", "moderate", "easy (>= 2^252)"]
POSITIONS = ["first", "middle", "last"]


def range_bin(job: model.Job) -> str:
    if job.nonce_count == 0:
        return "empty"
    if job.nonce_count == 1:
        return "single nonce"
    if job.nonce_start == 0:
        return "from 0"
    if job.nonce_end == 0xFFFFFFFF:
        return "to 0xffffffff"
    return "across 0x7fffffff" if job.nonce_start < 0x80000000 <= job.nonce_end else "inner"


def target_bin(target: int) -> str:
    if target == 0:
        return "zero"
    return "real (< 2^224)" if target < 2**224 else "easy (>= 2^252)" if target >= 2**252 else "moderate"


@CoverPoint(
    "sha256d.job.hits", xf=lambda job, hits, stalled: min(len(hits), 2), bins=[0, 1, 2], bins_labels=["0", "1", "many"]
)
@CoverPoint("sha256d.job.midstates", xf=lambda job, hits, stalled: len(job.midstates), bins=[1, 2, 3, 4])
@CoverPoint("sha256d.job.range", xf=lambda job, hits, stalled: range_bin(job), bins=RANGES)
@CoverPoint("sha256d.job.target", xf=lambda job, hits, stalled: target_bin(job.target), bins=TARGETS)
@CoverPoint(
    "sha256d.job.fifo_full",
    xf=lambda job, hits, stalled: stalled and len(hits) > 8,
    bins=[True],
    bins_labels=["more hits than the 8-deep FIFO while the reader stalled"],
)
def sample_job(job: model.Job, hits: list, stalled: bool) -> None:
    pass


@CoverPoint("sha256d.hit.position", xf=lambda job, hit: position_bin(job, hit.nonce), bins=POSITIONS)
@CoverPoint("sha256d.hit.midstate_count", xf=lambda job, hit: len(job.midstates), bins=[1, 2, 3, 4])
@CoverPoint("sha256d.hit.midstate_index", xf=lambda job, hit: hit.midstate_index, bins=[0, 1, 2, 3])
@CoverCross(
    "sha256d.hit.midstates_x_index",
    items=["sha256d.hit.midstate_count", "sha256d.hit.midstate_index"],
    ign_bins=[(c, i) for c in range(1, 5) for i in range(4) if i >= c],
)
def sample_hit(job: model.Job, hit: model.Hit) -> None:
    pass


def position_bin(job: model.Job, nonce: int) -> str:
    return "first" if nonce == job.nonce_start else "last" if nonce == job.nonce_end else "middle"


@CoverPoint(
    "sha256d.job.aborted_with_hits",
    xf=lambda lost: lost > 0,
    bins=[True],
    bins_labels=["a new job aborted one that still had hits to report"],
)
def sample_abort(lost: int) -> None:
    pass
