"""Ask the RTL a question from outside a test: used by the CLI subcommands and the bench.

Builds (cached) and runs the block's service test (block.yaml `service:`, by default the
`service` module beside its test module; see
asicdv.testbench.service) with a JSON request and reads its JSON response; a failed or hung run
becomes a RuntimeError with the log's path, never a silently wrong answer.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from asicdv.testbench import service
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import get_block


def ask(
    block_name: str, request: dict, *, variant: str | None = None, seed: int = 1, extra_env: dict | None = None
) -> dict:
    """`extra_env`: e.g. {"ASICDV_NATIVE": "0"} for the pure-Python clock and endpoints."""
    block = get_block(block_name)
    variant = variant or next(iter(block.variants))
    build = sim.build(block, variant)
    # A directory per call: CLI runs may go on in parallel (tests, several shells).
    parent = block.project.results / "cli" / block_name
    parent.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"{variant}-", dir=parent))
    result = sim.run(
        build,
        service.TEST_NAME,
        seed,
        module=block.service_module,
        request=request,
        run_dir=run_dir,
        extra_env=extra_env,
    )
    if not result.passed or result.response is None:
        raise RuntimeError(f"RTL simulation failed: {result.message}\nlog: {result.log}")
    shutil.rmtree(run_dir, ignore_errors=True)  # kept only when the run failed
    result.response.setdefault("wall_s", result.wall_s)
    return result.response
