"""KPU functional coverage, declared up front (sampled by KpuCoverage in env.py when a layer is issued)."""

from asicdv.testbench.functional_coverage import CoverCross, CoverPoint

MODES = ["raw", "act none", "relu", "relu6", "clamp"]
K_CLASSES = ["1", "2..255", ">=256"]
KINDS = ["gemm", "depthwise"]  # op_depthwise
ROUNDINGS = ["double", "single"]  # op_round_single (requantized layers)


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
