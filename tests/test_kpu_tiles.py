"""The KPU driver's beats: a GEMM's tiles built at once (KpuBfm.gemm_columns) are the per-tile
beats (KpuBfm.tile_columns) of every tile in order, over random shapes, array sizes and parameters."""

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from asicdv.testbench.stream import columns_to_beats
from tb.kpu.env import KpuBfm
from tb.kpu.kpu_tests import layers


def bfm(rows: int, cols: int) -> KpuBfm:
    """The driver's tile arithmetic without a DUT: the array size and the operand fields' widths."""
    widths = {"a": 8 * rows, "b": 8 * cols, "last": 1, "bias": 32 * cols, "mult": 32 * cols, "shift": 6 * cols}
    fake = KpuBfm.__new__(KpuBfm)
    fake.rows, fake.cols, fake.noisy_params = rows, cols, False
    fake.operands = SimpleNamespace(stream=SimpleNamespace(fields={k: [None] * v for k, v in widths.items()}))
    return fake, widths


@settings(max_examples=40, deadline=None)
@given(layers().filter(lambda layer: not layer.depthwise), st.integers(1, 4), st.integers(1, 4))
def test_a_gemms_beats_at_once_are_its_tiles_beats_in_order(layer, rows, cols):
    if layer.pool and rows % 4:
        rows = 4  # pooling needs ROWS % 4 == 0
    driver, widths = bfm(rows, cols)
    bits = {name: widths.get(name, 8) for name in ("a", "b", "last", "bias", "mult", "shift")}
    per_tile = []
    for tile in driver.tiles(layer):
        count, columns = driver.tile_columns(layer, tile)
        per_tile += columns_to_beats(count, columns, bits | {k: 8 for k in columns if k not in bits})
    count, columns = driver.gemm_columns(layer)
    at_once = columns_to_beats(count, columns, bits | {k: 8 for k in columns if k not in bits})
    assert len(at_once) == len(per_tile) and at_once == per_tile
