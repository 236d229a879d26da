"""asicdv: a chip design verification framework (Verilator + cocotb + pyuvm + hypothesis).

Everything a block's testbench shares lives here: toolchain discovery, the build
cache, simulation runs with seeds and timeouts, the hypothesis-in-simulation
bridge, streams, scoreboards, the pytest plugin and the `asicdv` CLI.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


class UserError(Exception):
    """A mistake in what the user gave (bad hex, unknown test, missing file...).

    The CLI prints it as one line and exits 2; it never becomes a traceback.
    """
