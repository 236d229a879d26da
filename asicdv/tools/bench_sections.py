"""Which sections a `make bench` run measures: --only / --skip / --with, and whether the nightly
fits the bench's time budget by default."""

from __future__ import annotations

from asicdv import UserError
from asicdv.tools.bench_regress import REFERENCE_NIGHTLY

# In the order they run: the regressions first, against an empty build root (their builds are the
# cold builds, and everything after reuses them).
SECTIONS = (
    "smoke",
    "nightly",
    "run-overhead",
    "overhead",
    "threads",
    "hardware",
    "area",
    "models",
    "blocks",
    "make-test",
)
OPT_IN = ("make-test",)  # only with --with (or --only): `make test` twice takes minutes
BUDGET_S = 900.0  # the whole bench's goal: 15 minutes on 2 cores


def nightly_estimate_s(results: dict) -> float:
    """The nightly section's cost from its last measurement, else twice the reference nightly
    (fresh-process and batched)."""
    return results.get("section_s", {}).get("nightly", 2 * REFERENCE_NIGHTLY["wall_s"])


def rest_estimate_s(results: dict) -> float:
    """The other default sections' cost from their last measurements, else the last whole bench."""
    timed = results.get("section_s", {})
    others = [s for s in SECTIONS if s not in OPT_IN and s != "nightly"]
    if all(s in timed for s in others):
        return sum(timed[s] for s in others)
    return results.get("bench_wall_s", 0.0)


def nightly_fits(results: dict) -> bool:
    return rest_estimate_s(results) + nightly_estimate_s(results) <= BUDGET_S


def _check(names: list[str], option: str, allowed: tuple[str, ...]) -> None:
    for name in names:
        if name not in allowed:
            raise UserError(f"bench: unknown section {name!r} for {option}; sections: {', '.join(allowed)}")


def select(only: list[str], skip: list[str], with_: list[str], nightly_by_default: bool) -> list[str]:
    """The sections to run, in SECTIONS order."""
    _check(only, "--only", SECTIONS)
    _check(skip, "--skip", SECTIONS)
    _check(with_, "--with", OPT_IN + ("nightly",))
    if only:
        chosen = set(only)
    else:
        chosen = {s for s in SECTIONS if s not in OPT_IN}
        if not nightly_by_default:
            chosen.discard("nightly")
    chosen |= set(with_)
    chosen -= set(skip)
    if not chosen:
        raise UserError("bench: no section left to run")
    return [s for s in SECTIONS if s in chosen]
