"""RandomMessagesTest's property against models.sha256 alone, with no simulator: what the bench
compares hypothesis through the DUT with. Same strategy, name (so the same hypothesis seed for a
run seed), example count, histogram, fingerprint, coverage steering and bridge
(asicdv.testbench.properties under asyncio); only `drive` differs: the model and hashlib instead
of the core. Run it in a fresh process, as a simulation is, so both pay hypothesis's first use.

    python -m tb.sha256.model_property --seed 1   # logs "RandomMessagesTest: N examples in T s (R/s)"
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import sys

from asicdv.testbench import functional_coverage as coverage
from asicdv.testbench import properties
from models import sha256 as model
from tb.sha256 import coverage as sha256_coverage
from tb.sha256.sha256_tests import RandomMessagesTest, describe_message, length_class, messages


async def check_property(seed: int, examples: int = RandomMessagesTest.examples) -> properties.PropertyStats:
    new_bins = [0]

    async def one(message: bytes) -> None:
        before = coverage.hit_count()
        assert model.digest(message) == hashlib.sha256(message).digest(), f"model wrong for {message.hex()}"
        sha256_coverage.sample_message(message)  # as MessageCoverage does through the DUT
        new_bins[0] = coverage.hit_count() - before

    return await properties.check_property(
        messages(),
        one,
        max_examples=examples,
        seed=seed,
        describe=describe_message,
        label=length_class,
        score=lambda: new_bins[0],
        name=RandomMessagesTest.__name__,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True, help="the run seed (as asicdv test --seed)")
    parser.add_argument("--examples", type=int, default=RandomMessagesTest.examples)
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    asyncio.run(check_property(args.seed, args.examples))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
