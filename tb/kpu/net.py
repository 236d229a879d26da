"""`asicdv kpu net MODEL.tflite`: a real int8 TFLite network, layer by layer, on the RTL array or the golden model.

Parsing, lowering and the host ops live in models/tflite_net.py; this is the command: input, executors,
the per-layer check against the TFLite interpreter, the table / JSON report.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from asicdv import UserError, rtl
from models import kpu as model
from models import tflite_net

RTL_ROUNDINGS = ("double",)  # requantizer roundings the RTL array implements today (see RtlExecutor)


def register(commands) -> None:
    """Adds `net` to the `asicdv kpu` subcommands."""
    parser = commands.add_parser("net", help="run a real int8 .tflite network layer by layer (RTL or --model)")
    parser.add_argument("model_path", type=Path, metavar="MODEL.tflite")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", type=Path, metavar="X.npy", help="the network input (the model's dtype and shape)")
    source.add_argument("--seed", type=int, help="random input from this seed (default: a fresh seed, printed)")
    parser.add_argument("--model", action="store_true", help="run the array layers on the golden model, not the RTL")
    parser.add_argument("--rounding", choices=model.ROUNDINGS, default="double",
                        help="double: TFLite reference kernels; single: XNNPACK / optimized kernels")  # fmt: skip
    parser.add_argument("--check", action="store_true",
                        help="compare every layer's output with the TFLite interpreter; exit 1 on a mismatch")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print a machine-readable result instead of the table")
    parser.set_defaults(handler=run)


# ------------------------------------------------------------------ executors


class ModelExecutor(tflite_net.ModelExecutor):
    pass


class RtlExecutor:
    """Array layers on the RTL, one `CliGemm` simulation per layer; what the RTL cannot run yet goes to the model
    and says why (depthwise mode and single rounding are being added to the RTL on another branch)."""

    name = "RTL"

    def __init__(self):
        self.rows = self.cols = None

    def run(self, layer: tflite_net.Layer, lowered: tflite_net.Lowered, rounding: str):
        if lowered.kind != "gemm":
            return tflite_net.execute_on_model(lowered, rounding), {"on": "model", "why": "no RTL depthwise mode yet"}
        info = {"on": "RTL"}
        if rounding in RTL_ROUNDINGS:
            out, response = _gemm_on_rtl(lowered)
            lo, hi = model.INT8_MIN, model.INT8_MAX
        else:  # the RTL's raw int32 accumulators, requantized on the host
            r = lowered.requant
            raw = tflite_net.Lowered(lowered.kind, lowered.a, lowered.b, dict(r, multiplier=None, shift=None))
            acc, response = _gemm_on_rtl(raw)
            out = model.requantize(acc, r["multiplier"], r["shift"], output_zp=r["output_zp"], act_min=r["act_min"],
                                   act_max=r["act_max"], rounding=rounding)  # fmt: skip
            lo, hi = model.INT8_MIN, model.INT8_MAX
            info = {"on": "RTL raw", "why": f"{rounding}-rounding requant on the host"}
        if out.size and (out.min() < lo or out.max() > hi):
            raise RuntimeError(f"op {layer.index} {layer.op}: the RTL returned values outside int8")
        self.rows, self.cols = response["rows"], response["cols"]
        return out.astype(np.int8), {**info, "cycles": response["cycles"], "pes": response["rows"] * response["cols"]}


def _gemm_on_rtl(lowered: tflite_net.Lowered) -> tuple[np.ndarray, dict]:
    r = lowered.requant
    with tempfile.TemporaryDirectory() as tmp:
        layer, out = Path(tmp) / "layer.npz", Path(tmp) / "out.npy"
        arrays = {"a": lowered.a, "b": lowered.b}
        if r["multiplier"] is not None:
            arrays.update(multiplier=r["multiplier"].astype(np.int32), shift=r["shift"].astype(np.int32))
        if r["bias"] is not None:
            arrays["bias"] = r["bias"]
        np.savez(layer, **arrays)
        request = {"layer": str(layer), "out": str(out), "pool": False,
                   **{k: r[k] for k in ("input_zp", "output_zp", "act_min", "act_max")}}  # fmt: skip
        response = rtl.ask("kpu", "tb.kpu.kpu_cli", "CliGemm", request)
        return np.load(out), response


# ------------------------------------------------------------------ the command


def load_network(path: Path) -> tflite_net.Network:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        return tflite_net.Network(path)
    except tflite_net.UnsupportedModel as exc:
        raise UserError(f"{path}: {exc}" if not str(exc).startswith(str(path)) else str(exc)) from None


def load_input(args: argparse.Namespace, net: tflite_net.Network) -> tuple[np.ndarray, int | None]:
    if args.input is None:
        seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
        return net.random_input(seed), seed
    if not args.input.is_file():
        raise UserError(f"{args.input}: no such file")
    try:
        x = np.load(args.input, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UserError(f"{args.input}: not a readable .npy file ({exc})") from None
    if not isinstance(x, np.ndarray):
        raise UserError(f"{args.input}: an .npz archive, not an .npy array")
    try:
        net.check_input(x)
    except ValueError as exc:
        raise UserError(f"{args.input}: {exc}") from None
    return x, None


def compare(got: np.ndarray, want: np.ndarray) -> dict:
    """Bit-exact comparison: the mismatch count and the first mismatching element."""
    if got.shape != want.shape or got.dtype != want.dtype:
        return {"mismatches": int(want.size), "first": f"shape/dtype {got.dtype}{list(got.shape)} "
                                                        f"vs {want.dtype}{list(want.shape)}"}  # fmt: skip
    bad = np.argwhere(got != want)
    if not len(bad):
        return {"mismatches": 0}
    index = tuple(int(i) for i in bad[0])
    return {"mismatches": int(len(bad)), "first": {"index": list(index), "got": got[index].item(),
                                                   "want": want[index].item()}}  # fmt: skip


def _progress(total: int, quiet: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    transient=True, disable=quiet or not sys.stderr.isatty())  # fmt: skip


def run(args: argparse.Namespace) -> int:
    net = load_network(args.model_path)  # all user errors before any output
    x, seed = load_input(args, net)
    executor = ModelExecutor() if args.model else RtlExecutor()
    records = []
    start = time.monotonic()
    with _progress(len(net.layers), args.json) as progress:
        task = progress.add_task(net.path.name, total=len(net.layers))

        def on_layer(layer, info):
            progress.update(task, advance=1, description=f"{net.path.name}: {layer.index} {layer.op}")
            records.append((layer, info))

        values = net.run(x, executor, rounding=args.rounding, on_layer=on_layer)
    wall_s = time.monotonic() - start
    layers = [_layer_record(net, layer, info, args) for layer, info in records]
    if args.check:
        reference = tflite_net.reference_tensors(net.path, x, args.rounding, [lay.outputs[0] for lay in net.layers])
        for record, layer in zip(layers, net.layers):
            record["check"] = compare(values[layer.outputs[0]], reference[layer.outputs[0]])
    output = values[net.outputs[0]]
    result = {
        "model": str(net.path), "seed": seed, "input": str(args.input) if args.input else None,
        "rounding": args.rounding, "engine": executor.name, "wall_s": round(wall_s, 3),
        "macs": sum(r["macs"] for r in layers), "cycles": sum(r["cycles"] or 0 for r in layers),
        "layers": layers, "output": output.tolist(),
    }  # fmt: skip
    if args.check:
        result["bit_exact"] = all(r["check"]["mismatches"] == 0 for r in layers)
    if args.json:
        print(json.dumps(result))
    else:
        _print_table(net, result, args)
    return 1 if args.check and not result["bit_exact"] else 0


def _layer_record(net, layer, info, args) -> dict:
    on = info.get("on", "host" if not layer.on_array else executor_name(args))
    cycles = info.get("cycles")
    util = layer.macs / (cycles * info["pes"]) if cycles else None
    requantizes = layer.on_array or layer.op == "ADD"
    rounding = tflite_net.layer_rounding(layer.op, args.rounding) if requantizes else None
    return {"index": layer.index, "op": layer.op, "rounding": rounding, "input_shape": list(layer.in_shape),
            "output_shape": list(layer.out_shape), "macs": layer.macs, "on": on, "why": info.get("why"),
            "cycles": cycles, "utilization": round(util, 4) if util is not None else None}  # fmt: skip


def executor_name(args) -> str:
    return "model" if args.model else "RTL"


def _shape(shape) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def _print_table(net, result: dict, args) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 200, highlight=False)
    source = f"seed {result['seed']}" if result["seed"] is not None else str(args.input)
    table = Table(title=f"{net.path.name}: {source}, rounding {args.rounding}", title_justify="left")
    for name in ("#", "op", "input", "output", "MACs", "rounding", "on", "cycles", "MAC util",
                 *(["check"] if args.check else [])):  # fmt: skip
        table.add_column(name, justify="right" if name in ("#", "MACs", "cycles", "MAC util") else "left")
    for r in result["layers"]:
        on = r["on"] + (f" ({r['why']})" if r["why"] else "")
        row = [str(r["index"]), r["op"], _shape(r["input_shape"]), _shape(r["output_shape"]),
               f"{r['macs']:,}" if r["macs"] else "-", r["rounding"] or "-", on, f"{r['cycles']:,}" if r["cycles"] else "-",
               f"{100 * r['utilization']:.1f}%" if r["utilization"] is not None else "-"]  # fmt: skip
        if args.check:
            c = r["check"]
            row.append("bit-exact" if c["mismatches"] == 0 else f"MISMATCH {c['mismatches']}, first {c['first']}")
        table.add_row(*row)
    console.print(table)
    summary = f"{result['macs']:,} MACs, wall {result['wall_s']:.2f} s on the {result['engine']}"
    if result["cycles"]:
        summary += f", {result['cycles']:,} array cycles"
    if args.check:
        reference = "TFLite reference kernels" if args.rounding == "double" else "TFLite XNNPACK"
        n_bad = sum(1 for r in result["layers"] if r["check"]["mismatches"])
        summary += "; every layer bit-exact vs " + reference if not n_bad else f"; {n_bad} layer(s) MISMATCH vs {reference}"
    console.print(summary)
    if result["seed"] is not None:
        console.print(f"seed {result['seed']} (replay: --seed {result['seed']})")
