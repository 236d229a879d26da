"""Hypothesis inside a running simulation.

`check_property` runs a blocking hypothesis `@given` function on a bridge
thread (cocotb.task.bridge); each example is driven through the live DUT by an
`@cocotb.task.resume`-wrapped coroutine, so every example shares one simulator
process. Hypothesis is seeded from the test seed and uses no example database,
so the same seed gives the same examples. On a failure hypothesis shrinks the
input through the simulation, and the raised error names the minimal input.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import cocotb
import cocotb.task
import hypothesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st

T = TypeVar("T")
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
    name: str = "property",
) -> PropertyStats:
    """Draw up to `max_examples` inputs and `await drive(x)` each on the DUT.

    `drive` raises (e.g. AssertionError from a scoreboard) when the DUT is wrong.
    `recover` (e.g. a reset) runs before the next example after one failed, so a
    failing example cannot poison the ones hypothesis tries while shrinking.
    Raises PropertyFailure carrying the minimal failing input.
    """
    seed = cocotb.RANDOM_SEED if seed is None else seed
    drive_blocking = cocotb.task.resume(drive)
    recover_blocking = cocotb.task.resume(recover) if recover else None
    stats = PropertyStats()
    state = {"dirty": False, "last_failing": None}
    fingerprint = hashlib.sha256()  # of every example drawn: equal seeds give equal fingerprints

    @hypothesis.settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        print_blob=False,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.seed(seed)
    @hypothesis.given(strategy)
    def prop(example: T) -> None:
        if state["dirty"] and recover_blocking is not None:
            recover_blocking()
        state["dirty"] = False
        stats.examples += 1
        fingerprint.update(describe(example).encode())
        try:
            drive_blocking(example)
        except BaseException:
            stats.failures += 1
            state["dirty"] = True
            state["last_failing"] = example
            raise

    log.info("%s: up to %d examples, hypothesis seed %d", name, max_examples, seed)
    start = time.perf_counter()
    try:
        await cocotb.task.bridge(prop)()
    except BaseException as exc:  # hypothesis re-raises the minimal example's error
        stats.seconds = time.perf_counter() - start
        minimal = state["last_failing"]
        message = (
            f"{name} failed; hypothesis shrank it to the minimal input "
            f"{describe(minimal)} (after {stats.examples} examples, {stats.failures} failing, "
            f"seed {seed}):\n{exc}"
        )
        log.error("%s", message)
        raise PropertyFailure(message, minimal, exc) from exc
    stats.seconds = time.perf_counter() - start
    log.info(
        "%s: %d examples passed in %.2f s (%.0f examples/s through the DUT); stimulus fingerprint %s",
        name, stats.examples, stats.seconds, stats.rate, fingerprint.hexdigest()[:16],
    )  # fmt: skip
    return stats
