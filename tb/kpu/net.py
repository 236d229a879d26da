"""`asicdv kpu net MODEL.tflite`: a real int8 TFLite network, layer by layer, on the RTL array or the golden model.

Parsing, lowering and the host ops live in models/tflite_net.py; this is the command: input, executors,
the per-layer check against the TFLite interpreter, the table / JSON report.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from asicdv import UserError
from asicdv.tools import service_client as rtl
from models import kpu as model
from models import tflite_net


def register(commands) -> None:
    """Adds `net` to the `asicdv kpu` subcommands."""
    parser = commands.add_parser("net", help="run a real int8 .tflite network layer by layer (RTL or --model)")
    parser.add_argument("model_path", type=Path, metavar="MODEL.tflite")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", type=Path, metavar="X.npy", help="the network input (the model's dtype and shape)")
    source.add_argument("--seed", type=int, help="random input from this seed (default: a fresh seed, printed)")
    parser.add_argument("--model", action="store_true", help="run the array layers on the golden model, not the RTL")
    parser.add_argument(
        "--rounding",
        choices=model.ROUNDINGS,
        default="double",
        help="double: TFLite reference kernels; single: XNNPACK / optimized kernels",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare every layer's output with the TFLite interpreter; exit 1 on a mismatch",
    )
    parser.add_argument("--json", action="store_true", help="print a machine-readable result instead of the table")
    parser.set_defaults(handler=run)


# ------------------------------------------------------------------ the RTL: one simulation per network


def run_on_rtl(net: tflite_net.Network, x: np.ndarray, rounding: str, on_layer) -> tuple[dict, dict]:
    """The whole network in one simulation (tb/kpu/net_service.py); on_layer(index) as layers finish
    (polled from the simulation's progress file). Returns (values, infos) as Network.steps."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        np.save(tmp / "input.npy", x)
        progress = tmp / "progress"
        request = {
            "network": {
                "model": str(net.path.resolve()),
                "input": str(tmp / "input.npy"),
                "rounding": rounding,
                "out": str(tmp),
                "progress": str(progress),
            }
        }
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            answer = pool.submit(rtl.ask, "kpu", request)
            done = -1
            while True:
                try:
                    response = answer.result(timeout=0.2)
                    break
                except concurrent.futures.TimeoutError:
                    done = _report_progress(progress, done, on_layer)
            _report_progress(progress, done, on_layer)
        with np.load(tmp / "tensors.npz") as f:
            values = {int(key[1:]): f[key] for key in f.files}
    values.update({i: t.data for i, t in enumerate(net.tensors) if t.data is not None})
    return values, {int(k): v for k, v in response["layers"].items()}


def _report_progress(progress: Path, done: int, on_layer) -> int:
    try:
        finished = int(progress.read_text() or -1)
    except (OSError, ValueError):
        return done
    for index in range(done + 1, finished + 1):
        on_layer(index)
    return max(done, finished)


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
        if seed < 0:
            raise UserError(f"--seed must be >= 0, got {seed}")
        return net.random_input(seed), seed
    if not args.input.is_file():
        raise UserError(f"{args.input}: no such file")
    try:
        x = np.load(args.input, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UserError(f"{args.input}: not a readable .npy file ({exc})") from None
    if not isinstance(x, np.ndarray):
        x.close()
        raise UserError(f"{args.input}: an .npz archive, not an .npy array")
    try:
        net.check_input(x)
    except ValueError as exc:
        raise UserError(f"{args.input}: {exc}") from None
    return x, None


def compare(got: np.ndarray, want: np.ndarray) -> dict:
    """Bit-exact comparison: the mismatch count and the first mismatching element."""
    if got.shape != want.shape or got.dtype != want.dtype:
        return {
            "mismatches": int(want.size),
            "first": f"shape/dtype {got.dtype}{list(got.shape)} vs {want.dtype}{list(want.shape)}",
        }
    bad = np.argwhere(got != want)
    if not len(bad):
        return {"mismatches": 0}
    index = tuple(int(i) for i in bad[0])
    return {
        "mismatches": len(bad),
        "first": {"index": list(index), "got": got[index].item(), "want": want[index].item()},
    }


def _progress(quiet: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        disable=quiet or not sys.stderr.isatty(),
    )


def run(args: argparse.Namespace) -> int:
    net = load_network(args.model_path)  # all user errors before any output
    x, seed = load_input(args, net)
    start = time.monotonic()
    with _progress(args.json) as progress:
        task = progress.add_task(net.path.name, total=len(net.layers))

        def advance(index: int) -> None:
            layer = net.layers[index]
            progress.update(task, advance=1, description=f"{net.path.name}: {layer.index} {layer.op}")

        if args.model:  # (every check is in Network(); a failure here is a bug, not a user error)
            values = net.run(
                x, tflite_net.ModelExecutor(), rounding=args.rounding, on_layer=lambda layer, info: advance(layer.index)
            )
            infos = {}
        else:
            values, infos = run_on_rtl(net, x, args.rounding, advance)
    wall_s = time.monotonic() - start
    records = [(layer, infos.get(layer.index, {})) for layer in net.layers]
    layers = [_layer_record(net, layer, info, args) for layer, info in records]
    if args.check:
        reference = tflite_net.reference_tensors(net.path, x, args.rounding, [lay.outputs[0] for lay in net.layers])
        for record, layer in zip(layers, net.layers, strict=True):
            record["check"] = compare(values[layer.outputs[0]], reference[layer.outputs[0]])
    output = values[net.outputs[0]]
    result = {
        "model": str(net.path),
        "seed": seed,
        "input": str(args.input) if args.input else None,
        "rounding": args.rounding,
        "engine": "model" if args.model else "RTL",
        "wall_s": round(wall_s, 3),
        "macs": sum(r["macs"] for r in layers),
        "cycles": sum(r["cycles"] or 0 for r in layers),
        "layers": layers,
        "output": output.tolist(),
    }
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
    return {
        "index": layer.index,
        "op": layer.op,
        "rounding": rounding,
        "input_shape": list(layer.in_shape),
        "output_shape": list(layer.out_shape),
        "macs": layer.macs,
        "on": on,
        "why": info.get("why"),
        "cycles": cycles,
        "utilization": round(util, 4) if util is not None else None,
    }


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
    for name in (
        "#",
        "op",
        "input",
        "output",
        "MACs",
        "rounding",
        "on",
        "cycles",
        "MAC util",
        *(["check"] if args.check else []),
    ):
        table.add_column(name, justify="right" if name in ("#", "MACs", "cycles", "MAC util") else "left")
    for r in result["layers"]:
        on = r["on"] + (f" ({r['why']})" if r["why"] else "")
        row = [
            str(r["index"]),
            r["op"],
            _shape(r["input_shape"]),
            _shape(r["output_shape"]),
            f"{r['macs']:,}" if r["macs"] else "-",
            r["rounding"] or "-",
            on,
            f"{r['cycles']:,}" if r["cycles"] else "-",
            f"{100 * r['utilization']:.1f}%" if r["utilization"] is not None else "-",
        ]
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
        summary += (
            "; every layer bit-exact vs " + reference if not n_bad else f"; {n_bad} layer(s) MISMATCH vs {reference}"
        )
    console.print(summary)
    if result["seed"] is not None:
        console.print(f"seed {result['seed']} (replay: --seed {result['seed']})")
