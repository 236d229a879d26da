"""asicdv: a chip design verification framework (Verilator + cocotb + pyuvm + hypothesis).

Two sides, as cocotb keeps `cocotb` apart from `cocotb_tools`:
- `asicdv.testbench`: what runs inside a simulation (streams, BFM, clocking, scoreboards,
  pyuvm components, the hypothesis bridge, functional coverage, the native engine, services);
- `asicdv.tools`: what runs on the host (blocks, builds and runs, regressions, gates, reports,
  code coverage, mutation, bench, the `asicdv` CLI, the pytest plugin).
`asicdv.project` is shared: the user's project, found from where they stand.
"""

from pathlib import Path


def __getattr__(name: str):
    # The version is looked up only when asked for: every simulation imports asicdv at start-up.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("asicdv")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'asicdv' has no attribute {name!r}")


def resource(name: str) -> Path:
    """A file shipped inside the package (asicdv/resources/): default gate rules, templates,
    the Makefile fragment."""
    return Path(__file__).with_name("resources") / name


class UserError(Exception):
    """A mistake in what the user gave (bad hex, unknown test, missing file...).

    The CLI prints it as one line and exits 2; it never becomes a traceback.
    """
