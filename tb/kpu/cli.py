"""`asicdv kpu run LAYER.npz --out OUT.npy [--raw] [--model]`: one quantized layer on the RTL."""

from __future__ import annotations

import argparse
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from asicdv import UserError
from asicdv.tools import service_client as rtl
from models import kpu as model
from tb.kpu import service
from tb.kpu.env import Layer

GEMM_KEYS = {"a", "b"}
CONV_KEYS = {"input", "weights", "stride", "padding"}
OPTIONAL = {"op", "bias", "input_zp", "multiplier", "shift", "output_zp", "act_min", "act_max", "pool"}
POOLS = ("none", "max2x2")


def register(subparsers) -> None:
    parser = subparsers.add_parser("kpu", help="run a quantized layer on the RTL KPU array")
    commands = parser.add_subparsers(dest="kpu_command", required=True)
    run_parser = commands.add_parser("run", help="run one layer (.npz) and write the output (.npy)")
    run_parser.add_argument("layer", type=Path, metavar="LAYER.npz")
    run_parser.add_argument("--out", type=Path, required=True, metavar="OUT.npy")
    run_parser.add_argument("--raw", action="store_true", help="output the raw int32 accumulators")
    run_parser.add_argument("--model", action="store_true", help="compute with the golden model, not the RTL")
    run_parser.set_defaults(handler=run)
    from tb.kpu import net  # `asicdv kpu net`, in its own module

    net.register(commands)


def load_layer(path: Path) -> dict:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path}: not an .npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as f:
            data = {key: f[key] for key in f.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a readable .npz file ({exc})") from None
    if "op" not in data:
        raise UserError(f'{path}: missing key \'op\' ("gemm" or "conv2d")')
    op = str(data["op"])
    required = {"gemm": GEMM_KEYS, "conv2d": CONV_KEYS}.get(op)
    if required is None:
        raise UserError(f'{path}: op must be "gemm" or "conv2d", got {op!r}')
    missing = sorted(required - data.keys())
    if missing:
        raise UserError(f"{path}: {op} layer is missing key(s) {', '.join(missing)}")
    unknown = sorted(data.keys() - required - OPTIONAL)
    if unknown:
        raise UserError(f"{path}: unknown key(s) {', '.join(unknown)}")
    pool = str(data.get("pool", "none"))
    if pool not in POOLS:
        raise UserError(f'{path}: pool must be "none" or "max2x2", got {pool!r}')
    if pool != "none" and op != "conv2d":
        raise UserError(f'{path}: pool "{pool}" is for conv2d layers only (op is {op!r})')
    data["op"], data["pool"] = op, pool == "max2x2"
    return data


def _scalar(data: dict, key: str, default: int) -> int:
    if key not in data:
        return default
    value = data[key]
    if value.shape != () or not np.issubdtype(value.dtype, np.integer):
        raise UserError(f"{key} must be an integer scalar, got {value.dtype} {value.shape}")
    return int(value)


def requant_args(data: dict, raw: bool) -> dict:
    args = {
        "bias": data.get("bias"),
        "input_zp": _scalar(data, "input_zp", 0),
        "output_zp": _scalar(data, "output_zp", 0),
        "act_min": _scalar(data, "act_min", -128),
        "act_max": _scalar(data, "act_max", 127),
    }
    has_mult, has_shift = "multiplier" in data, "shift" in data
    if has_mult != has_shift:
        raise UserError("multiplier and shift come together: give both or neither")
    if has_mult and not raw:
        args["multiplier"], args["shift"] = data["multiplier"], data["shift"]
    return args


def run(args: argparse.Namespace) -> int:
    data = load_layer(args.layer)
    requant = requant_args(data, args.raw)
    try:
        if data["op"] == "gemm":
            a, b = data["a"], data["b"]
            reference = model.gemm(a, b, **requant)  # also validates dtypes, shapes and ranges
        else:
            conv = {"stride": _scalar(data, "stride", 1), "padding": str(data["padding"])}
            a, b, _ = model.lower_conv2d(
                data["input"], data["weights"], **conv, input_zp=requant["input_zp"], pool=data["pool"]
            )
            reference = model.conv2d(data["input"], data["weights"], **conv, **requant, pool=data["pool"])
    except ValueError as exc:
        raise UserError(f"{args.layer}: {exc}") from None

    if args.model:
        result = reference
    else:
        result, cycles = _gemm_on_rtl(a, b, requant, data["pool"])
        result = result.reshape(reference.shape)
        pooled = " + 2x2 max-pool" if data["pool"] else ""
        print(f"RTL: {a.shape[0]}x{b.shape[1]}x{a.shape[1]} GEMM{pooled} on the array in {cycles} cycles")
    result = result.astype(reference.dtype)
    np.save(args.out, result)
    print(f"wrote {args.out}: {result.dtype} {list(result.shape)} from the {'model' if args.model else 'RTL'}")
    return 0


def _gemm_on_rtl(a: np.ndarray, b: np.ndarray, requant: dict, pool: bool) -> tuple[np.ndarray, int]:
    layer = Layer(a, b, **requant, pool=pool)
    with tempfile.TemporaryDirectory() as tmp:
        response = rtl.ask("kpu", service.request([layer], Path(tmp)))
        return service.results(response, Path(tmp))[0], response["cycles"][0]
