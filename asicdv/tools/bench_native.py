"""The bench's optimized native builds: a block's native harness on its own Verilator model built
for speed, the simulator's best on this RTL (asicdv.tools.bench compares cocotb with it).

The default native harness links the cocotb build's objects (same flags as every test run). This
one is a separate Verilator build of the same sources and parameters:
- model and runtime code at -O3 (`-CFLAGS -O3`, `OPT_FAST=OPT_SLOW=OPT_GLOBAL=-O3`; the cocotb build
  has its per-cycle model code at -O3 too, the rest at Verilator's -Os and the runtime at -O2);
- `--x-assign fast --x-initial fast` instead of `unique`: no RTL here assigns X, and the registers
  without a reset start at zero instead of a seeded random value. That is legal for a speed
  figure because every bench output is compared with the model exactly (a design whose outputs
  depended on an initial value would fail that check); it is not legal for verification, which
  keeps `unique` to catch a missing reset;
- no `--vpi` and no public signals (the harness uses only the top's ports);
- `--threads N` (default 1), with the harness's context sized to match (`ASICDV_THREADS`).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from asicdv import resource
from asicdv.tools import simulator as sim
from asicdv.tools import toolchain

HARNESS_INCLUDE = resource("bench")
OPT = "-O3"
X_FLAGS = ("--x-assign", "fast", "--x-initial", "fast")
MAKE_OPT = (f"OPT_FAST={OPT}", f"OPT_SLOW={OPT}", f"OPT_GLOBAL={OPT}")


def verilator_command(build: sim.Build, source: Path, directory: Path, threads: int) -> list[str]:
    """The Verilator command of the optimized build of `build`'s block and parameters."""
    block = build.block
    return [
        "verilator",
        "--cc",
        "--exe",
        "-Mdir",
        str(directory),
        "--top-module",
        block.top,
        "--prefix",
        "Vtop",
        "-o",
        source.stem,
        "--threads",
        str(threads),
        *X_FLAGS,
        "-CFLAGS",
        OPT,
        "-CFLAGS",
        f"-I{HARNESS_INCLUDE}",
        "-CFLAGS",
        f"-DASICDV_THREADS={threads}",
        *block.build_args,
        *[f"-G{name}={value}" for name, value in build.parameters],
        str(source),
        *[str(path) for path in block.sources],
    ]


def _key(commands: list[list[str]], inputs: list[Path]) -> str:
    digest = hashlib.sha256(json.dumps([commands, toolchain.verilator_version()]).encode())
    for path in inputs:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def optimized_executable(build: sim.Build, source: Path, threads: int = 1) -> Path:
    """The harness `source` on an -O3, x-fast, `threads`-thread model of `build`'s block and
    parameters; built once, beside the cocotb build (the key covers flags, sources and harness)."""
    parent = build.directory.parent
    placeholder = Path("@DIR@")
    commands = [verilator_command(build, source, placeholder, threads), toolchain.make_command(placeholder, *MAKE_OPT)]
    key = _key(commands, [source, HARNESS_INCLUDE / "harness.h", *build.block.sources])
    directory = parent / f"{build.variant}-native-o3-t{threads}-{key}"
    exe = directory / source.stem
    if exe.exists():
        return exe
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "build.log"
    with open(log_path, "w") as log:
        for cmd in (verilator_command(build, source, directory, threads), toolchain.make_command(directory, *MAKE_OPT)):
            log.write("$ " + " ".join(cmd) + "\n")
            log.flush()
            result = subprocess.run(
                cmd, env=toolchain.verilator_env(), stdout=log, stderr=subprocess.STDOUT, check=False
            )
            if result.returncode != 0:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"optimized native build failed ({cmd[0]}); log: {log_path}\n{tail}")
    return exe
