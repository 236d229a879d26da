"""KPU verification environment: BFM and pyuvm components.

A sequence item is one GEMM layer (A, B and the per-channel requantization).
The driver cuts it into ROWS x COLS output tiles (partial tiles padded with
zeros), streams each tile's K k-slices back to back, and publishes the item
as issued; the scoreboard predicts every result row with models.kpu.gemm and
checks each row the passive monitor sees, in order, assembling the DUT's
result matrix in the item. Coverage bins are counted as rows are checked.

A pooled layer (Layer.pool, the RTL's op_pool) has M a multiple of 4: every
group of 4 consecutive GEMM rows is one 2x2 window (for a conv2d the rows are
ordered by models.kpu.pool_order) and the array returns one row per group,
ROWS/4 per tile. Tiles start on multiples of ROWS (a multiple of 4), so the
zero rows padding a partial tile form whole groups of their own and never
meet a real row in a max.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.simtime import get_sim_time
from cocotb.triggers import Event
from pyuvm import (
    ConfigDB,
    uvm_analysis_port,
    uvm_component,
    uvm_driver,
    uvm_env,
    uvm_sequence_item,
    uvm_sequencer,
)

from asicdv import clocking
from asicdv.bfm import Bfm
from asicdv.scoreboard import Scoreboard
from asicdv.stream import StreamSink, StreamSource, no_pauses, random_pauses, transfer
from asicdv.uvm import BlockTest, Forward, ItemsSeq
from models import kpu as model

OP_PARAMS = ("op_bias", "op_mult", "op_shift", "op_in_zp", "op_out_zp", "op_act_min", "op_act_max", "op_raw", "op_pool")


def pack(values, width: int) -> int:
    """Lanes (lane 0 in the LSBs) of `width` bits each, two's complement."""
    if width in (8, 32):
        return int.from_bytes(np.asarray(values, dtype=f"<i{width // 8}").tobytes(), "little")
    mask = (1 << width) - 1
    return sum((int(v) & mask) << (width * i) for i, v in enumerate(values))


def unpack_int32(value: int, lanes: int) -> np.ndarray:
    return np.frombuffer(value.to_bytes(4 * lanes, "little"), dtype="<i4").astype(np.int64)


@dataclass
class Layer:
    """One GEMM on the array: (A - input_zp) @ B + bias, raw or requantized."""

    a: np.ndarray  # int8 [M, K]
    b: np.ndarray  # int8 [K, N]
    bias: np.ndarray | None = None  # int32 [N]
    input_zp: int = 0
    multiplier: np.ndarray | None = None  # int32 [N]; None = raw int32 output
    shift: np.ndarray | None = None
    output_zp: int = 0
    act_min: int = -128
    act_max: int = 127
    pool: bool = False  # max of each group of 4 rows (op_pool): M must be a multiple of 4

    def __post_init__(self):
        if self.pool and self.a.shape[0] % 4 != 0:
            raise ValueError(f"a pooled layer needs M a multiple of 4 (whole 2x2 windows), got M={self.a.shape[0]}")

    @property
    def raw(self) -> bool:
        return self.multiplier is None

    @property
    def group(self) -> int:
        """GEMM rows per result row: 4 when pooled, else 1."""
        return 4 if self.pool else 1

    def model(self) -> np.ndarray:
        """The result the array returns: [M, N], or [M/4, N] when pooled."""
        out = model.gemm(self.a, self.b, bias=self.bias, input_zp=self.input_zp, multiplier=self.multiplier,
                         shift=self.shift, output_zp=self.output_zp, act_min=self.act_min, act_max=self.act_max)  # fmt: skip
        return model.maxpool_rows(out) if self.pool else out

    def describe(self) -> str:
        m, k = self.a.shape
        mode = "raw" if self.raw else f"requant zp {self.output_zp} act [{self.act_min}, {self.act_max}]"
        return f"gemm M={m} N={self.b.shape[1]} K={k} input_zp={self.input_zp} {mode}{' pool' if self.pool else ''}"


class KpuBfm(Bfm):
    """Signal-level access to kpu_top: stream k-slices in, result rows out, reset."""

    def __init__(self, dut, rng: random.Random | None = None, stalls: bool = False):
        super().__init__(dut)
        self.rows = len(dut.op_a) // 8
        self.cols = len(dut.op_b) // 8
        period = clocking.PERIOD_NS
        fields = {name: getattr(dut, name) for name in ("op_a", "op_b", "op_last", *OP_PARAMS)}
        self.source = StreamSource(dut.clk, dut.op_valid, dut.op_ready, fields, period,
                                   random_pauses(rng, 0.2, 3) if stalls else no_pauses())  # fmt: skip
        self.sink = StreamSink(dut.clk, dut.res_valid, dut.res_ready, {"data": dut.res_data, "last": dut.res_last},
                               period, random_pauses(rng, 0.4, 6) if stalls else no_pauses())  # fmt: skip

    def tiles(self, layer: Layer):
        """(m0, n0) of every output tile, in the order the driver sends them."""
        m, n = layer.a.shape[0], layer.b.shape[1]
        return [(m0, n0) for m0 in range(0, m, self.rows) for n0 in range(0, n, self.cols)]

    def out_rows(self, layer: Layer) -> int:
        """Result beats per tile: ROWS, or ROWS/4 when pooled."""
        if layer.pool and self.rows % 4 != 0:
            raise ValueError(f"pooling needs ROWS % 4 == 0 (the RTL ignores op_pool otherwise), ROWS={self.rows}")
        return self.rows // layer.group

    def send_tile_nowait(self, layer: Layer, m0: int, n0: int) -> None:
        self.out_rows(layer)  # refuses a pooled layer on an array that cannot pool
        k = layer.a.shape[1]
        n = layer.b.shape[1]
        a_tile = np.zeros((k, self.rows), dtype=np.int8)
        a_part = layer.a[m0 : m0 + self.rows].T
        a_tile[:, : a_part.shape[1]] = a_part
        b_tile = np.zeros((k, self.cols), dtype=np.int8)
        b_part = layer.b[:, n0 : n0 + self.cols]
        b_tile[:, : b_part.shape[1]] = b_part
        cols = slice(n0, min(n0 + self.cols, n))

        def per_column(values):
            out = np.zeros(self.cols, dtype=np.int64)
            if values is not None:
                out[: cols.stop - cols.start] = np.asarray(values, dtype=np.int64)[cols]
            return out

        first = {
            "op_bias": pack(per_column(layer.bias), 32),
            "op_mult": pack(per_column(layer.multiplier), 32),
            "op_shift": pack(per_column(layer.shift), 6),
            "op_in_zp": layer.input_zp & 0xFF, "op_out_zp": layer.output_zp & 0xFF,
            "op_act_min": layer.act_min & 0xFF, "op_act_max": layer.act_max & 0xFF, "op_raw": int(layer.raw),
            "op_pool": int(layer.pool),
        }  # fmt: skip
        a_bytes, b_bytes = a_tile.tobytes(), b_tile.tobytes()
        for kk in range(k):
            beat = {
                "op_a": int.from_bytes(a_bytes[kk * self.rows : (kk + 1) * self.rows], "little"),
                "op_b": int.from_bytes(b_bytes[kk * self.cols : (kk + 1) * self.cols], "little"),
                "op_last": int(kk == k - 1),
            }
            if kk == 0:
                beat.update(first)
            self.source.send_nowait(beat)

    async def gemm(self, layer: Layer) -> np.ndarray:
        """Run a whole layer and assemble its result (no checking: the CLI's path):
        [M, N], or [M/4, N] when pooled."""
        out_rows = self.out_rows(layer)
        m, n = layer.a.shape[0] // layer.group, layer.b.shape[1]
        result = np.zeros((m, n), dtype=np.int64)
        tiles = self.tiles(layer)
        for m0, n0 in tiles:
            self.send_tile_nowait(layer, m0, n0)
        for m0, n0 in tiles:
            for r in range(out_rows):
                beat = await self.sink.recv()
                row = m0 // layer.group + r
                if row < m:
                    width = min(self.cols, n - n0)
                    result[row, n0 : n0 + width] = unpack_int32(beat["data"], self.cols)[:width]
        return result


class LayerItem(uvm_sequence_item):
    def __init__(self, name: str, layer: Layer):
        super().__init__(name)
        self.layer = layer
        self.result: np.ndarray | None = None  # the DUT's [M, N] ([M/4, N] pooled), filled by the scoreboard
        self.done = Event()  # set by the scoreboard when the last row is checked
        self.start_ns = 0.0
        self.end_ns = 0.0

    def __str__(self) -> str:
        return f"{self.get_name()}: {self.layer.describe()}"


class KpuDriver(uvm_driver):
    """Queues every tile of a layer back to back; done when the last row is checked."""

    def build_phase(self):
        self.bfm: KpuBfm = ConfigDB().get(self, "", "BFM")
        self.issued = uvm_analysis_port("issued", self)

    async def run_phase(self):
        while True:
            item = await self.seq_item_port.get_next_item()
            self.issued.write(item)  # the scoreboard predicts before the first row can come back
            item.start_ns = get_sim_time("ns")
            for m0, n0 in self.bfm.tiles(item.layer):
                self.bfm.send_tile_nowait(item.layer, m0, n0)
            await item.done.wait()
            self.seq_item_port.item_done()


class RowMonitor(uvm_component):
    """Passive: every result row (and res_last) leaving the array."""

    def build_phase(self):
        self.bfm: KpuBfm = ConfigDB().get(self, "", "BFM")
        self.ap = uvm_analysis_port("ap", self)

    async def run_phase(self):
        dut, cols = self.bfm.dut, self.bfm.cols
        while True:
            data, last = await transfer(dut.clk, dut.res_valid, dut.res_ready,
                                        lambda: (int(dut.res_data.value), int(dut.res_last.value)))  # fmt: skip
            self.ap.write((unpack_int32(data, cols), last))


@dataclass
class ExpectedRow:
    item: LayerItem
    m: int  # result row (pooled row when pooled), >= the result's rows for padding (not compared)
    n0: int
    values: np.ndarray  # expected valid columns
    last: int
    final: bool  # the layer's last row


class KpuScoreboard(uvm_component):
    """Predicts each result row from models.kpu.gemm (pooled: maxpool_rows of it); compares in order;
    counts coverage."""

    def build_phase(self):
        self.bfm: KpuBfm = ConfigDB().get(self, "", "BFM")
        self.board = Scoreboard("kpu rows")
        self.pending: deque[ExpectedRow] = deque()
        self.coverage: dict[str, int] = {}
        self.issued_in = Forward("issued_in", self, self.predict)
        self.rows_in = Forward("rows_in", self, self.check_row)
        self.bfm.reset_listeners.append(self.pending.clear)

    def cover(self, name: str, hit: bool = True) -> None:
        if hit:
            self.coverage[name] = self.coverage.get(name, 0) + 1

    def predict(self, item: LayerItem) -> None:
        layer, cols = item.layer, self.bfm.cols
        expected = layer.model().astype(np.int64)
        m, n = expected.shape
        out_rows = self.bfm.out_rows(layer)
        item.result = np.zeros_like(expected)
        tiles = self.bfm.tiles(layer)
        for index, (m0, n0) in enumerate(tiles):
            for r in range(out_rows):
                row = m0 // layer.group + r
                values = expected[row, n0 : n0 + cols] if row < m else np.zeros(0, np.int64)
                self.pending.append(ExpectedRow(item, row, n0, values, int(r == out_rows - 1),
                                                index == len(tiles) - 1 and r == out_rows - 1))  # fmt: skip
        self._cover_layer(layer, expected)

    def check_row(self, observed) -> None:
        data, last = observed
        if not self.pending:
            self.board.observe(("unexpected row", data.tolist()))
            return
        row = self.pending.popleft()
        width = len(row.values)
        label = {"row m": row.m, "column n0": row.n0}
        if row.m < row.item.result.shape[0]:
            row.item.result[row.m, row.n0 : row.n0 + width] = data[:width]
        self.board.expect({"row": row.values.tolist(), "last": row.last}, context=label)
        self.board.observe({"row": data[:width].tolist(), "last": last})
        if row.final:
            row.item.end_ns = get_sim_time("ns")
            row.item.done.set()

    def _cover_layer(self, layer: Layer, expected: np.ndarray) -> None:
        m, k = layer.a.shape
        n = layer.b.shape[1]
        for name, values in (("a", layer.a), ("b", layer.b)):
            for extreme in (-128, 127, 0):
                self.cover(f"{name}_has_{extreme}", bool((values == extreme).any()))
        self.cover("partial_tile_m", m % self.bfm.rows != 0)
        self.cover("partial_tile_n", n % self.bfm.cols != 0)
        self.cover("k_1", k == 1)
        self.cover("k_ge_256", k >= 256)
        self.cover("input_zp_extreme", layer.input_zp in (-128, 127))
        self.cover("pool", layer.pool)
        if layer.raw:
            self.cover("mode_raw")
            return
        self.cover("output_zp_extreme", layer.output_zp in (-128, 127))
        if layer.act_min == -128 and layer.act_max == 127:
            self.cover("act_none")
        elif layer.act_min == layer.output_zp and layer.act_max == 127:
            self.cover("act_relu")
        else:
            self.cover("act_clamp")  # ReLU6 and other bounded ranges
        acc = model.gemm(layer.a, layer.b, bias=layer.bias, input_zp=layer.input_zp).astype(np.int64)
        scaled = model.multiply_by_quantized_multiplier(acc, layer.multiplier, layer.shift) + layer.output_zp
        self.cover("saturate_high", bool((scaled > layer.act_max).any()))
        self.cover("saturate_low", bool((scaled < layer.act_min).any()))


class KpuEnv(uvm_env):
    def build_phase(self):
        self.sequencer = uvm_sequencer("sequencer", self)
        self.driver = KpuDriver("driver", self)
        self.monitor = RowMonitor("monitor", self)
        self.scoreboard = KpuScoreboard("scoreboard", self)

    def connect_phase(self):
        self.driver.seq_item_port.connect(self.sequencer.seq_item_export)
        self.driver.issued.connect(self.scoreboard.issued_in.analysis_export)
        self.monitor.ap.connect(self.scoreboard.rows_in.analysis_export)

    def check(self) -> None:
        self.scoreboard.board.check()

    def coverage(self) -> dict[str, int]:
        return self.scoreboard.coverage


class KpuBaseTest(BlockTest):
    """Subclasses give `layers()` or override `stimulus()`; `np_rng` is seeded like `rng`."""

    bfm_class = KpuBfm
    env_class = KpuEnv

    def build_phase(self):
        super().build_phase()
        self.np_rng = np.random.default_rng(cocotb.RANDOM_SEED)

    async def run_layers(self, *layers: Layer) -> list[LayerItem]:
        items = [LayerItem(f"layer{i}", layer) for i, layer in enumerate(layers)]
        await ItemsSeq("layers", items).start(self.env.sequencer)
        return items

    async def stimulus(self):
        await self.run_layers(*self.layers())

    def layers(self):
        raise NotImplementedError
