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

from collections import deque
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.triggers import Event
from pyuvm import uvm_analysis_port, uvm_sequence_item

from asicdv import clocking
from asicdv.bfm import Bfm
from asicdv.scoreboard import Scoreboard
from asicdv.uvm import BeatMonitor, BfmComponent, BlockEnv, BlockTest, Forward, ItemDriver
from models import kpu as model


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
    reference: np.ndarray | None = None  # an independent expected result (e.g. models.kpu.conv2d's), any shape

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
        """The result the array returns: [M, N], or [M/4, N] when pooled (from `reference` if given)."""
        if self.reference is not None:
            return np.asarray(self.reference, dtype=np.int64).reshape(-1, self.b.shape[1])
        out = model.gemm(self.a, self.b, bias=self.bias, input_zp=self.input_zp, multiplier=self.multiplier,
                         shift=self.shift, output_zp=self.output_zp, act_min=self.act_min, act_max=self.act_max)  # fmt: skip
        return model.maxpool_rows(out) if self.pool else out

    def describe(self) -> str:
        m, k = self.a.shape
        mode = "raw" if self.raw else f"requant zp {self.output_zp} act [{self.act_min}, {self.act_max}]"
        return f"gemm M={m} N={self.b.shape[1]} K={k} input_zp={self.input_zp} {mode}{' pool' if self.pool else ''}"


@dataclass
class ResultRow:
    """Where one result beat of a layer goes: result row `m` (pooled row when pooled; >= the
    result's rows for a partial tile's padding, not compared), columns n0..n0+width."""

    m: int
    n0: int
    width: int
    last: int  # res_last expected on this beat
    final: bool  # the layer's last beat


class KpuBfm(Bfm):
    """Signal-level access to kpu_top: stream k-slices in (`op`), result rows out (`res`), reset."""

    def __init__(self, dut, rng=None, stalls: bool = False):
        super().__init__(dut, rng, stalls)
        self.rows = len(dut.op_a) // 8
        self.cols = len(dut.op_b) // 8
        self.operands = self.add_source("op", self.pauses(0.2, 3))
        self.results = self.add_sink("res", self.pauses(0.4, 6))

    def tiles(self, layer: Layer):
        """(m0, n0) of every output tile, in the order the driver sends them."""
        m, n = layer.a.shape[0], layer.b.shape[1]
        return [(m0, n0) for m0 in range(0, m, self.rows) for n0 in range(0, n, self.cols)]

    def out_rows(self, layer: Layer) -> int:
        """Result beats per tile: ROWS, or ROWS/4 when pooled."""
        if layer.pool and self.rows % 4 != 0:
            raise ValueError(f"pooling needs ROWS % 4 == 0 (the RTL ignores op_pool otherwise), ROWS={self.rows}")
        return self.rows // layer.group

    def result_rows(self, layer: Layer) -> list[ResultRow]:
        """Every result beat of the layer, in order: the one row assembly (scoreboard and `gemm`)."""
        out_rows, tiles = self.out_rows(layer), self.tiles(layer)
        n = layer.b.shape[1]
        return [
            ResultRow(m0 // layer.group + r, n0, min(self.cols, n - n0), int(r == out_rows - 1),
                      index == len(tiles) - 1 and r == out_rows - 1)
            for index, (m0, n0) in enumerate(tiles) for r in range(out_rows)
        ]  # fmt: skip

    def cycle_budget(self, layer: Layer) -> int:
        """Generous: every k-slice and every result row of every tile, slowed by stalls, plus the pipeline."""
        k = layer.a.shape[1]
        per_tile = (k + self.rows + 8) * (8 if self.stalls else 2)
        return len(self.tiles(layer)) * per_tile + 100

    def send_layer_nowait(self, layer: Layer) -> None:
        for m0, n0 in self.tiles(layer):
            self.send_tile_nowait(layer, m0, n0)

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
            "bias": pack(per_column(layer.bias), 32),
            "mult": pack(per_column(layer.multiplier), 32),
            "shift": pack(per_column(layer.shift), 6),
            "in_zp": layer.input_zp & 0xFF, "out_zp": layer.output_zp & 0xFF,
            "act_min": layer.act_min & 0xFF, "act_max": layer.act_max & 0xFF, "raw": int(layer.raw),
            "pool": int(layer.pool),
        }  # fmt: skip
        a_bytes, b_bytes = a_tile.tobytes(), b_tile.tobytes()
        for kk in range(k):
            beat = {
                "a": int.from_bytes(a_bytes[kk * self.rows : (kk + 1) * self.rows], "little"),
                "b": int.from_bytes(b_bytes[kk * self.cols : (kk + 1) * self.cols], "little"),
                "last": int(kk == k - 1),
            }
            if kk == 0:
                beat.update(first)
            self.operands.send_nowait(beat)

    async def gemm(self, layer: Layer) -> np.ndarray:
        """Run a whole layer and assemble its result (no checking: the service's path):
        [M, N], or [M/4, N] when pooled."""
        result = np.zeros((layer.a.shape[0] // layer.group, layer.b.shape[1]), dtype=np.int64)
        self.send_layer_nowait(layer)

        async def collect():
            for row in self.result_rows(layer):
                beat = await self.results.recv()
                if row.m < result.shape[0]:
                    result[row.m, row.n0 : row.n0 + row.width] = unpack_int32(beat["data"], self.cols)[: row.width]

        await self.within(collect(), self.cycle_budget(layer), f"the results of {layer.describe()}")
        return result


class LayerItem(uvm_sequence_item):
    def __init__(self, name: str, layer: Layer):
        super().__init__(name)
        self.layer = layer
        self.result: np.ndarray | None = None  # the DUT's [M, N] ([M/4, N] pooled), filled by the scoreboard
        self.done = Event()  # set by the scoreboard when the last row is checked
        self.start_cycle = 0
        self.end_cycle = 0

    @property
    def cycles(self) -> int:
        return self.end_cycle - self.start_cycle

    def __str__(self) -> str:
        return f"{self.get_name()}: {self.layer.describe()}"


class KpuDriver(ItemDriver):
    """Queues every tile of a layer back to back; done when the last row is checked."""

    def build_phase(self):
        super().build_phase()
        self.issued = uvm_analysis_port("issued", self)

    async def drive(self, item: LayerItem) -> None:
        self.issued.write(item)  # the scoreboard predicts before the first row can come back
        item.start_cycle = clocking.cycles_now()
        self.bfm.send_layer_nowait(item.layer)
        await self.bfm.within(item.done.wait(), self.bfm.cycle_budget(item.layer), f"the last row of {item}")


class RowMonitor(BeatMonitor):
    """Passive: every result row (and res_last) leaving the array."""

    prefix = "res"

    def convert(self, beat):
        return unpack_int32(beat["data"], self.bfm.cols), beat["last"]


@dataclass
class ExpectedRow:
    item: LayerItem
    row: ResultRow
    values: np.ndarray  # expected valid columns (empty for a padding row)


class KpuScoreboard(BfmComponent):
    """Predicts each result row from models.kpu.gemm (pooled: maxpool_rows of it); compares in order;
    counts coverage."""

    def build_phase(self):
        super().build_phase()
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
        expected = item.layer.model().astype(np.int64)
        item.result = np.zeros_like(expected)
        for row in self.bfm.result_rows(item.layer):
            values = expected[row.m, row.n0 : row.n0 + row.width] if row.m < expected.shape[0] else np.zeros(0, np.int64)
            self.pending.append(ExpectedRow(item, row, values))
        self._cover_layer(item.layer, expected)

    def check_row(self, observed) -> None:
        data, last = observed
        if not self.pending:
            self.board.observe(("unexpected row", data.tolist()))
            return
        expected = self.pending.popleft()
        row, item, width = expected.row, expected.item, len(expected.values)
        if row.m < item.result.shape[0]:
            item.result[row.m, row.n0 : row.n0 + width] = data[:width]
        self.board.expect({"row": expected.values.tolist(), "last": row.last}, context={"row m": row.m, "column n0": row.n0})
        self.board.observe({"row": data[:width].tolist(), "last": last})
        if row.final:
            item.end_cycle = clocking.cycles_now()
            item.done.set()

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


class KpuEnv(BlockEnv):
    driver_class = KpuDriver

    def build_phase(self):
        super().build_phase()
        self.monitor = RowMonitor("monitor", self)
        self.scoreboard = KpuScoreboard("scoreboard", self)

    def connect_phase(self):
        super().connect_phase()
        self.driver.issued.connect(self.scoreboard.issued_in.analysis_export)
        self.monitor.ap.connect(self.scoreboard.rows_in.analysis_export)

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
        return await self.send(*[LayerItem(f"layer{i}", layer) for i, layer in enumerate(layers)])

    async def queue_layers(self, *items: LayerItem) -> None:
        """Every tile of every layer queued back to back, past the driver (one layer at a time);
        the scoreboard predicts and checks each."""
        for item in items:
            self.env.scoreboard.predict(item)
            self.bfm.send_layer_nowait(item.layer)
        await self.bfm.within(items[-1].done.wait(), sum(self.bfm.cycle_budget(i.layer) for i in items), "the last row")

    async def stimulus(self):
        await self.run_layers(*self.layers())

    def layers(self):
        raise NotImplementedError
