"""KPU functional coverage, declared up front (sampled by KpuCoverage in env.py when a layer is issued)."""

from asicdv.testbench.functional_coverage import CoverCross, CoverPoint

MODES = ["raw", "act none", "relu", "relu6", "clamp"]
K_CLASSES = ["1", "2..255", ">=256"]
KINDS = ["gemm", "depthwise"]  # op_depthwise
ROUNDINGS = ["double", "single", "fp32"]  # op_round_single, op_round_fp32 (requantized layers)


def k_bin(k: int) -> str:
    return "1" if k == 1 else ">=256" if k >= 256 else "2..255"


@CoverPoint("kpu.layer.mode", xf=lambda f: f["mode"], bins=MODES)
@CoverPoint("kpu.layer.k", xf=lambda f: k_bin(f["k"]), bins=K_CLASSES)
@CoverPoint("kpu.layer.pool", xf=lambda f: f["pool"], bins=[False, True])
@CoverPoint("kpu.layer.partial_tile_m", xf=lambda f: f["partial_m"], bins=[False, True])
@CoverPoint("kpu.layer.partial_tile_n", xf=lambda f: f["partial_n"], bins=[False, True])
@CoverCross("kpu.layer.mode_x_pool", items=["kpu.layer.mode", "kpu.layer.pool"])
@CoverPoint("kpu.layer.input_zp_extreme", xf=lambda f: f["input_zp"], bins=[-128, 127])
@CoverPoint("kpu.layer.output_zp_extreme", xf=lambda f: f["output_zp"], bins=[-128, 127])
@CoverPoint("kpu.layer.saturate_high", xf=lambda f: f["saturate_high"], bins=[True])
@CoverPoint("kpu.layer.saturate_low", xf=lambda f: f["saturate_low"], bins=[True])
@CoverPoint("kpu.layer.kind", xf=lambda f: f["kind"], bins=KINDS)
@CoverPoint("kpu.layer.rounding", xf=lambda f: f["rounding"], bins=ROUNDINGS)  # None (raw) in no bin
@CoverCross("kpu.layer.kind_x_mode", items=["kpu.layer.kind", "kpu.layer.mode"])
@CoverCross("kpu.layer.kind_x_rounding", items=["kpu.layer.kind", "kpu.layer.rounding"])
@CoverCross("kpu.layer.kind_x_pool", items=["kpu.layer.kind", "kpu.layer.pool"])
def sample_layer(features: dict) -> None:
    pass


@CoverPoint("kpu.tile.columns_on_two_pixel_blocks", xf=lambda mixed: mixed, bins=[True])
def sample_tile(mixed: bool) -> None:
    """A depthwise tile whose columns run on into the next pixel block (C not a multiple of COLS)."""


@CoverPoint(
    "kpu.operand.extremes",
    xf=lambda operand, value: (operand, value),
    bins=[(o, v) for o in ("a", "b") for v in (-128, 127, 0)],
)
def sample_operand(operand: str, value: int) -> None:
    pass


# Per requantization mode: the corners real models and the property tests reach (declared up front; the
# scoreboard samples each event a layer contains, from its accumulators and per-column parameters).
REQUANT_EVENTS = {
    "double": [
        "multiplier 0",
        "shift -31",
        "shift 30",
        "left shift wraps int32",
        "exact tie",
        "negative exact tie",
        "|acc| >= 2^24",
        "INT32_MIN x INT32_MIN",
    ],
    "single": [
        "multiplier 0",
        "shift -31",
        "shift 30",
        "exact tie (up)",
        "negative exact tie",
        "|acc| >= 2^24",
        "result beyond int32",
    ],
    "fp32": [
        "scale 0",
        "subnormal scale",
        "exact tie (to even)",
        "negative exact tie",
        "acc rounds to binary32",
        "|product| >= 512",
        "0 < |product| <= 1/2",
    ],
}


def _in_mode(mode: str):
    return lambda rounding, event: event if rounding == mode else None


@CoverPoint("kpu.requant.double", xf=_in_mode("double"), bins=REQUANT_EVENTS["double"])
@CoverPoint("kpu.requant.single", xf=_in_mode("single"), bins=REQUANT_EVENTS["single"])
@CoverPoint("kpu.requant.fp32", xf=_in_mode("fp32"), bins=REQUANT_EVENTS["fp32"])
def sample_requant(rounding: str, event: str) -> None:
    """One requantization corner a layer in `rounding` contains (see requant_events)."""


def requant_events(acc, multiplier, shift, rounding: str) -> set[str]:
    """The REQUANT_EVENTS[rounding] that the int32 accumulators acc [M, N] with per-column multiplier /
    shift (fp32: scale bits) contain."""
    import numpy as np

    from models import kpu as model

    acc = np.asarray(acc, np.int64)
    m = np.broadcast_to(np.asarray(multiplier, np.int64), acc.shape[-1:])
    s = np.broadcast_to(np.asarray(shift, np.int64), acc.shape[-1:])
    events = set()
    if rounding == "fp32":
        scale = m.astype(np.int32).view(np.float32)
        events |= {"scale 0"} if (scale == 0).any() else set()
        events |= {"subnormal scale"} if ((scale != 0) & (np.abs(scale) < np.finfo(np.float32).tiny)).any() else set()
        f = acc.astype(np.float32)
        if (f.astype(np.int64) != acc).any():
            events.add("acc rounds to binary32")
        with np.errstate(over="ignore"):
            p = f * scale
        tie = (p - np.floor(p)) == 0.5
        events |= {"exact tie (to even)"} if tie.any() else set()
        events |= {"negative exact tie"} if (tie & (p < 0)).any() else set()
        events |= {"|product| >= 512"} if (np.abs(p) >= 512).any() else set()
        events |= {"0 < |product| <= 1/2"} if ((p != 0) & (np.abs(p) <= 0.5)).any() else set()
        return events
    events |= {"multiplier 0"} if (m == 0).any() else set()
    events |= {"shift -31"} if (s == -31).any() else set()
    events |= {"shift 30"} if (s == 30).any() else set()
    events |= {"|acc| >= 2^24"} if (np.abs(acc) >= 2**24).any() else set()
    if rounding == "single":
        total = 31 - s
        product = acc * m  # |acc * m| <= 2^62: exact
        tie = (product & ((np.int64(1) << total) - 1)) == (np.int64(1) << (total - 1))
        events |= {"exact tie (up)"} if tie.any() else set()
        events |= {"negative exact tie"} if (tie & (product < 0)).any() else set()
        exact = (product + (np.int64(1) << (total - 1))) >> total
        events |= {"result beyond int32"} if ((exact > model.INT32_MAX) | (exact < model.INT32_MIN)).any() else set()
        return events
    left, right = np.maximum(s, 0), np.maximum(-s, 0)
    shifted = model.wrap32(acc << left)
    events |= {"left shift wraps int32"} if (shifted != acc << left).any() else set()
    events |= {"INT32_MIN x INT32_MIN"} if ((shifted == model.INT32_MIN) & (m == model.INT32_MIN)).any() else set()
    high = model.saturating_rounding_doubling_high_mul(shifted, m)
    half = np.where(right > 0, np.int64(1) << np.maximum(right - 1, 0), -1)
    tie = (right > 0) & ((high & ((np.int64(1) << right) - 1)) == half)
    events |= {"exact tie"} if tie.any() else set()
    events |= {"negative exact tie"} if (tie & (high < 0)).any() else set()
    return events
