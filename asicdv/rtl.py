"""Ask the RTL a question from outside a test: used by the CLI subcommands.

Builds (cached) and runs one cocotb "service" test that reads a JSON request
and writes a JSON response; a failed or hung run becomes a RuntimeError with
the log's path, never a silently wrong answer.
"""

from __future__ import annotations

from asicdv import sim
from asicdv.blocks import get_block


def ask(block_name: str, module: str, test: str, request: dict, *, variant: str = "default", seed: int = 1) -> dict:
    block = get_block(block_name)
    build = sim.build(block, variant)
    result = sim.run(build, test, seed, module=module, request=request,
                     run_dir=sim.ROOT / "results" / "cli" / block_name / variant)  # fmt: skip
    if not result.passed or result.response is None:
        raise RuntimeError(f"RTL simulation failed: {result.message}\nlog: {result.log}")
    result.response.setdefault("wall_s", result.wall_s)
    return result.response
