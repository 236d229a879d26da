"""Hypothesis inside a running simulation.

`check_property` runs a blocking hypothesis `@given` function in a greenlet of the
scheduler's thread (asicdv.testbench.greenlet_bridge: a switch per example, no thread
wake-ups); each example is driven through the live DUT by awaiting `drive`, so every
example shares one simulator process. Each property logs `<name>: N examples in T s (R/s)`
(asicdv.testbench.property_rate). One seed: hypothesis's own seed is derived from the run's
seed (and the property's name) and never shown; the run's seed is the one a user types. An
empty in-memory example database by default (nothing replayed): hypothesis draws other examples
with a database than without, and a regression's runs have a folder one, so the same seed gives
the same examples in a regression and on its reproduce line. On a failure
hypothesis shrinks the input through the simulation, and the raised error names
the minimal input. A `label` function buckets the examples drawn; the histogram is
logged, so a strategy can be shown to reach its hard cases.

Regressions may keep failing examples: ASICDV_HYPOTHESIS_DB=<dir> saves them in
hypothesis's directory database; ASICDV_HYPOTHESIS_REPLAY=1 replays saved ones first.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import os
import time
import warnings
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import cocotb
import hypothesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase, InMemoryExampleDatabase
from hypothesis.errors import HypothesisSideeffectWarning

from asicdv import UserError, project
from asicdv.testbench.greenlet_bridge import run_blocking, wait
from asicdv.testbench.property_rate import rate_line

T = TypeVar("T")
# cocotb imports test modules the way a pytest plugin would; hypothesis's warning about that is noise here.
warnings.filterwarnings("ignore", category=HypothesisSideeffectWarning)
log = logging.getLogger("asicdv.hypothesis")
log.setLevel(logging.INFO)


class PropertyFailure(AssertionError):
    """A property failed; `minimal` is the shrunk input that still fails it."""

    def __init__(self, message: str, minimal: Any, cause: BaseException):
        super().__init__(message)
        self.minimal = minimal
        self.cause = cause


@dataclass
class PropertyStats:
    examples: int = 0
    failures: int = 0
    seconds: float = 0.0
    dut_seconds: float = 0.0  # of `seconds`, awaiting drive and recover (the rest is hypothesis and the bridge)
    first_failure: int | None = None  # 1-based index of the first failing example
    histogram: Counter = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.examples / self.seconds if self.seconds else 0.0


async def check_property(
    strategy: st.SearchStrategy[T],
    drive: Callable[[T], Awaitable[None]],
    *,
    max_examples: int,
    seed: int | None = None,
    recover: Callable[[], Awaitable[None]] | None = None,
    describe: Callable[[T], str] = repr,
    label: Callable[[T], str | dict[str, str]] | None = None,
    score: Callable[[], float] | None = None,
    name: str = "property",
) -> PropertyStats:
    """Draw up to `max_examples` inputs and `await drive(x)` each on the DUT.

    `drive` raises (e.g. AssertionError from a scoreboard) when the DUT is wrong.
    `recover` (e.g. a reset) runs before the next example after one failed, so a
    failing example cannot poison the ones hypothesis tries while shrinking.
    `score()`, read after each passing example, steers generation toward examples that raise it
    (hypothesis.target, e.g. new functional coverage bins); `label(x)` names the bucket of an example (or a {feature: bucket} dict) for the logged histogram.
    Raises PropertyFailure carrying the minimal failing input.
    """
    _share_hypothesis_home()
    seed = int(os.environ.get("ASICDV_SEED", cocotb.RANDOM_SEED)) if seed is None else seed
    hypothesis_seed = zlib.crc32(f"{seed}:{name}".encode())  # derived: the run's seed is the one shown
    database_dir = os.environ.get("ASICDV_HYPOTHESIS_DB")
    replay = database_dir is not None and os.environ.get("ASICDV_HYPOTHESIS_REPLAY") == "1"
    stats = PropertyStats()
    state = {"dirty": False, "last_failing": None}
    fingerprint = hashlib.sha256()  # of every example drawn: equal seeds give equal fingerprints

    def in_dut(awaitable: Awaitable[None]) -> None:
        started = time.perf_counter()
        try:
            wait(awaitable)
        finally:
            stats.dut_seconds += time.perf_counter() - started

    @hypothesis.settings(
        max_examples=max_examples,
        # Always a database: hypothesis draws differently with one than without (it keeps a
        # Pareto front of targeted examples only then), so a regression's run (which saves its
        # failures in a folder) and its reproduce line (no folder) would draw other examples.
        database=DirectoryBasedExampleDatabase(database_dir) if database_dir else InMemoryExampleDatabase(),
        deadline=None,
        derandomize=False,
        print_blob=False,
        phases=((Phase.reuse,) if replay else ())
        + (Phase.generate,)
        + ((Phase.target,) if score else ())
        + (Phase.shrink,),
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.seed(hypothesis_seed)
    @hypothesis.given(strategy)
    def prop(example: T) -> None:
        if state["dirty"] and recover is not None:
            in_dut(recover())
        state["dirty"] = False
        stats.examples += 1
        fingerprint.update(describe(example).encode())
        if label is not None and stats.failures == 0:
            features = label(example)
            for feature in features.items() if isinstance(features, dict) else [("", features)]:
                stats.histogram[feature] += 1
        try:
            in_dut(drive(example))
        except BaseException:
            stats.failures += 1
            if stats.first_failure is None:
                stats.first_failure = stats.examples
            state["dirty"] = True
            state["last_failing"] = example
            raise
        if score is not None:
            hypothesis.target(float(score()), label="new functional coverage bins")

    log.info("%s: up to %d examples, hypothesis seeded from the run's seed %d", name, max_examples, seed)
    start = time.perf_counter()
    # The heap built so far (simulator handles, cocotb, pyuvm, the env) is left out of the
    # collections hypothesis's allocations trigger, and of the full one it runs on first use
    # (measured: 39 ms of collections for 150 SHA-256 examples, 5 ms frozen); back after.
    gc.freeze()
    try:
        await run_blocking(prop)
    except BaseException as exc:  # hypothesis re-raises the minimal example's error
        stats.seconds = time.perf_counter() - start
        log.info("%s", rate_line(name, stats.examples, stats.seconds))
        minimal = state["last_failing"]
        message = (
            f"{name} failed; hypothesis shrank it to the minimal input {describe(minimal)} "
            f"(first failure at example {stats.first_failure}; {stats.examples} examples run while "
            f"shrinking, {stats.failures} failing; run seed {seed}):\n{exc}"
        )
        log.error("%s", message)
        raise PropertyFailure(message, minimal, exc) from exc
    finally:
        gc.unfreeze()
    stats.seconds = time.perf_counter() - start
    if stats.histogram:
        log.info("%s: distribution of the %d examples: %s", name, stats.examples, _histogram(stats.histogram))
    log.info("%s", rate_line(name, stats.examples, stats.seconds))
    log.info(
        "%s: all examples passed; per example %.0f us in drive (the DUT or model, checks), %.0f us in hypothesis; "
        "stimulus fingerprint %s",
        name,
        1e6 * stats.dut_seconds / max(stats.examples, 1),
        1e6 * (stats.seconds - stats.dut_seconds) / max(stats.examples, 1),
        fingerprint.hexdigest()[:16],
    )
    return stats


def _share_hypothesis_home() -> None:
    """Hypothesis caches the constants it reads from the project's own modules (it mixes them into
    its draws) in its home, by default .hypothesis in the working directory: a simulation's is its
    fresh run directory, so every run parsed every local module again (measured: ~0.1 s of a
    150-example property). One home per project, in its build cache, unless one is chosen."""
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    with contextlib.suppress(UserError):  # no project (a property run by hand): hypothesis's default
        set_hypothesis_home_dir(project.current().build / "hypothesis")


def _histogram(counts: Counter) -> str:
    """`label` gives one bucket or a {feature: bucket} dict: one histogram per feature."""
    parts = []
    for feature in sorted({f for f, _ in counts}):
        buckets = {b: n for (f, b), n in counts.items() if f == feature}
        total = sum(buckets.values())
        text = ", ".join(f"{bucket} {100 * n / total:.0f}%" for bucket, n in sorted(buckets.items()))
        parts.append(f"{feature}: {text}" if feature else text)
    return "; ".join(parts)
