"""KPU verification environment: BFM and pyuvm components.

A sequence item is one GEMM layer (A, B and the per-channel requantization).
The driver cuts it into ROWS x COLS output tiles (partial tiles padded with
zeros), streams each tile's K k-slices back to back, and publishes the item
as issued; the scoreboard predicts every result row with models.kpu.gemm and
checks each row the passive monitor sees, in order, assembling the DUT's
result matrix in the item. Coverage bins are counted as rows are checked.

A depthwise layer (Layer.a 3-D: int8 [M, K, N], the activation of pixel m at
tap k for channel n; the RTL's op_depthwise) runs with one channel per column
and one output pixel per row, each PE fed its own activation (op_a_pe). The
driver packs (block of ROWS pixels, channel) units COLS to a tile
(`depthwise_tiles`), so a tile's columns may belong to different pixel blocks
and C need not be a multiple of COLS to keep the array busy. Layer.rounding
("double" | "single" | "fp32") sets op_round_single / op_round_fp32 for every tile
of the layer; in "fp32" the multiplier field carries each column's binary32 scale
bits (models.kpu.fp32_bits) and the shift is ignored.

A pooled layer (Layer.pool, the RTL's op_pool) has M a multiple of 4: every
group of 4 consecutive GEMM rows is one 2x2 window (for a conv2d the rows are
ordered by models.kpu.pool_order) and the array returns one row per group,
ROWS/4 per tile. Tiles start on multiples of ROWS (a multiple of 4), so the
zero rows padding a partial tile form whole groups of their own and never
meet a real row in a max.
"""

from __future__ import annotations

import functools
import itertools
from collections import deque
from dataclasses import dataclass

import cocotb
import numpy as np
from cocotb.triggers import Event
from pyuvm import uvm_analysis_port, uvm_sequence_item

from asicdv.testbench import clocking
from asicdv.testbench.bfm import Bfm
from asicdv.testbench.scoreboard import Scoreboard
from asicdv.testbench.uvm import (
    AnalysisInput,
    BeatMonitor,
    BfmComponent,
    BlockEnv,
    BlockTest,
    CoverageComponent,
    ItemDriver,
)
from models import kpu as model
from tb.kpu import coverage


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
    """One layer on the array, raw or requantized: a GEMM, (A - input_zp) @ B + bias (A 2-D), or
    depthwise, out[m, n] = sum_k (A[m, k, n] - input_zp) * B[k, n] + bias[n] (A 3-D)."""

    a: np.ndarray  # int8 [M, K] (GEMM) or [M, K, N] (depthwise: pixel, tap, channel)
    b: np.ndarray  # int8 [K, N]
    bias: np.ndarray | None = None  # int32 [N]
    input_zp: int = 0
    multiplier: np.ndarray | None = None  # int32 [N]; None = raw int32 output
    shift: np.ndarray | None = None
    output_zp: int = 0
    act_min: int = -128
    act_max: int = 127
    pool: bool = False  # max of each group of 4 rows (op_pool): M must be a multiple of 4
    rounding: str = "double"  # requantization: "double" TFLite reference, "single" (op_round_single), "fp32"
    reference: np.ndarray | None = None  # an independent expected result (e.g. models.kpu.conv2d's), any shape

    def __post_init__(self):
        if self.pool and self.a.shape[0] % 4 != 0:
            raise ValueError(f"a pooled layer needs M a multiple of 4 (whole 2x2 windows), got M={self.a.shape[0]}")
        if self.rounding not in model.ROUNDINGS:
            raise ValueError(f"rounding must be one of {model.ROUNDINGS}, got {self.rounding!r}")
        if self.depthwise and self.a.shape[1:] != self.b.shape:
            raise ValueError(f"depthwise A [M, K, N] and B [K, N] disagree: {list(self.a.shape)}, {list(self.b.shape)}")

    @property
    def depthwise(self) -> bool:
        return self.a.ndim == 3

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
        if self.raw:
            out = self.accumulators.astype(np.int32)
        else:
            out = model.requantize(
                self.accumulators,
                self.multiplier,
                self.shift,
                output_zp=self.output_zp,
                act_min=self.act_min,
                act_max=self.act_max,
                rounding=self.rounding,
            )
        return model.maxpool_rows(out) if self.pool else out

    @functools.cached_property
    def accumulators(self) -> np.ndarray:
        """The int32 accumulators [M, N] (bias included, wrapped as the RTL's), before requantization
        (computed once: the expected rows and the saturation coverage both need them)."""
        if not self.depthwise:
            return model.gemm(self.a, self.b, bias=self.bias, input_zp=self.input_zp).astype(np.int64)
        bias = np.zeros(self.b.shape[1], np.int64) if self.bias is None else self.bias.astype(np.int64)
        centred = self.a.astype(np.int64) - self.input_zp
        return model.wrap32(np.einsum("mkn,kn->mn", centred, self.b.astype(np.int64)) + bias)

    def describe(self) -> str:
        m, k = self.a.shape[:2]
        kind = "depthwise" if self.depthwise else "gemm"
        mode = (
            "raw" if self.raw else f"requant {self.rounding} zp {self.output_zp} act [{self.act_min}, {self.act_max}]"
        )
        return f"{kind} M={m} N={self.b.shape[1]} K={k} input_zp={self.input_zp} {mode}{' pool' if self.pool else ''}"


Tile = tuple  # per column c: the (m0, n) it computes (result rows m0/group + r of column n), or None (idle)


def gemm_tiles(m: int, n: int, rows: int, cols: int) -> list[Tile]:
    """ROWS x COLS output tiles, row block by row block; columns past N idle."""
    return [
        tuple((m0, n0 + c) if n0 + c < n else None for c in range(cols))
        for m0 in range(0, m, rows)
        for n0 in range(0, n, cols)
    ]


def depthwise_tiles(m: int, n: int, rows: int, cols: int) -> list[Tile]:
    """A depthwise layer's tiles: units (block of ROWS pixels, channel), block-major, packed COLS to a
    tile. With N a multiple of COLS a tile is ROWS pixels x COLS channels; otherwise a tile's columns
    run on into the next pixel block, so only the layer's last tile has idle columns."""
    units = [(m0, ch) for m0 in range(0, m, rows) for ch in range(n)]
    return [
        tuple(units[i : i + cols]) + (None,) * (cols - len(units[i : i + cols])) for i in range(0, len(units), cols)
    ]


@dataclass
class ResultRow:
    """Where one result beat of a layer goes: lane lanes[i] is result[rows[i], channels[i]] (pooled
    rows when pooled). Lanes of a partial tile's padding rows and of idle columns are left out (not
    compared)."""

    lanes: list[int]
    rows: list[int]
    channels: list[int]
    last: int  # res_last expected on this beat
    final: bool  # the layer's last beat


class KpuBfm(Bfm):
    """Signal-level access to kpu_top: stream k-slices in (`op`), result rows out (`res`), reset."""

    def __init__(self, dut, rng=None, stalls: bool = False):
        super().__init__(dut, rng, stalls)
        self.rows = len(dut.op_a) // 8
        self.cols = len(dut.op_b) // 8
        self.noisy_params = False  # later beats of a tile carry random parameter values
        self.operands = self.add_source("op", self.pauses(0.2, 3))
        self.results = self.add_sink("res", self.pauses(0.4, 6))

    def tiles(self, layer: Layer) -> list[Tile]:
        """Every tile, in the order the driver sends them (`gemm_tiles` or `depthwise_tiles`)."""
        m, n = layer.a.shape[0], layer.b.shape[1]
        return (depthwise_tiles if layer.depthwise else gemm_tiles)(m, n, self.rows, self.cols)

    def out_rows(self, layer: Layer) -> int:
        """Result beats per tile: ROWS, or ROWS/4 when pooled."""
        if layer.pool and self.rows % 4 != 0:
            raise ValueError(f"pooling needs ROWS % 4 == 0 (the RTL ignores op_pool otherwise), ROWS={self.rows}")
        return self.rows // layer.group

    def result_rows(self, layer: Layer) -> list[ResultRow]:
        """Every result beat of the layer, in order: the one row assembly (scoreboard and `gemm`)."""
        out_rows, tiles, group = self.out_rows(layer), self.tiles(layer), layer.group
        m = layer.a.shape[0] // group
        out = []
        for index, tile in enumerate(tiles):
            units = [(c, unit[0] // group, unit[1]) for c, unit in enumerate(tile) if unit is not None]
            for r in range(out_rows):
                busy = [(c, row + r, channel) for c, row, channel in units if row + r < m]
                out.append(
                    ResultRow(
                        [c for c, _, _ in busy],
                        [row for _, row, _ in busy],
                        [channel for _, _, channel in busy],
                        int(r == out_rows - 1),
                        index == len(tiles) - 1 and r == out_rows - 1,
                    )
                )
        return out

    def cycle_budget(self, layer: Layer) -> int:
        """Generous: every k-slice and every result row of every tile, slowed by stalls, plus the pipeline."""
        k = layer.a.shape[1]
        per_tile = (k + self.rows + 8) * (8 if self.stalls else 2)
        return len(self.tiles(layer)) * per_tile + 100

    def send_layer_nowait(self, layer: Layer) -> None:
        if not layer.depthwise and not self.noisy_params:
            self.operands.send_columns_nowait(*self.gemm_columns(layer))  # every tile in one go
            return
        shared: dict = {}  # per-channel parameters and the `last` column, the same for many tiles
        for tile in self.tiles(layer):
            self.operands.send_columns_nowait(*self.tile_columns(layer, tile, shared))

    def gemm_columns(self, layer: Layer) -> tuple[int, dict]:
        """A GEMM's every tile (`gemm_tiles` order) as one run of beats: `tile_columns` of each
        tile, concatenated, built with array operations over the layer instead of per tile."""
        self.out_rows(layer)
        m, k = layer.a.shape
        n = layer.b.shape[1]
        row_blocks, col_blocks = -(-m // self.rows), -(-n // self.cols)
        a = np.zeros((row_blocks * self.rows, k), dtype=np.int8)
        a[:m] = layer.a  # padding rows are zeros
        b = np.zeros((k, col_blocks * self.cols), dtype=np.int8)
        b[:, :n] = layer.b  # idle columns are zeros
        a_tiles = a.reshape(row_blocks, self.rows, k).transpose(0, 2, 1)  # [row block, k, row]
        b_tiles = b.reshape(k, col_blocks, self.cols).transpose(1, 0, 2)  # [column block, k, column]
        shape = (row_blocks, col_blocks, k)
        count = row_blocks * col_blocks * k
        columns = {
            "a": np.broadcast_to(a_tiles[:, None], (*shape, self.rows)).reshape(count, self.rows).view(np.uint8),
            "b": np.broadcast_to(b_tiles[None], (*shape, self.cols)).reshape(count, self.cols).view(np.uint8),
            "last": np.tile(np.arange(k) == k - 1, row_blocks * col_blocks).astype(np.uint8).reshape(count, 1),
        }
        fields = self.operands.stream.fields
        tile_of_beat = np.repeat(np.tile(np.arange(col_blocks), row_blocks), k)  # its column block
        for name, values, width in (
            ("bias", layer.bias, 32),
            ("mult", layer.multiplier, 32),
            ("shift", layer.shift, 6),
        ):
            lanes = np.zeros(col_blocks * self.cols, dtype=np.int64)
            if values is not None:
                lanes[:n] = np.broadcast_to(np.asarray(values, dtype=np.int64), (n,))
            nbytes = (len(fields[name]) + 7) // 8
            per_block = [pack(lanes[i * self.cols : (i + 1) * self.cols], width) for i in range(col_blocks)]
            if len(set(per_block)) == 1:
                columns[name] = per_block[0]
            else:
                rows = np.frombuffer(b"".join(v.to_bytes(nbytes, "little") for v in per_block), dtype=np.uint8)
                columns[name] = rows.reshape(col_blocks, nbytes)[tile_of_beat]
        columns.update(
            in_zp=layer.input_zp & 0xFF,
            out_zp=layer.output_zp & 0xFF,
            act_min=layer.act_min & 0xFF,
            act_max=layer.act_max & 0xFF,
            raw=int(layer.raw),
            pool=int(layer.pool),
            depthwise=0,
            round_single=int(layer.rounding == "single"),
            round_fp32=int(layer.rounding == "fp32"),
        )
        return count, columns

    def tile_columns(self, layer: Layer, tile: Tile, shared: dict | None = None) -> tuple[int, dict]:
        """One tile's K beats, field by field (StreamSource.send_columns_nowait): GEMM, A[m0 + r, k]
        on op_a; depthwise, A[m0_c + r, k, n_c] of every PE (r, c) on op_a_pe (byte r*COLS + c).
        Idle columns and padding rows get zeros."""
        self.out_rows(layer)  # refuses a pooled layer on an array that cannot pool
        k = layer.a.shape[1]
        busy = [c for c, unit in enumerate(tile) if unit is not None]
        channels = np.array([tile[c][1] for c in busy], dtype=np.int64)
        b_tile = np.zeros((k, self.cols), dtype=np.int8)
        b_tile[:, busy] = layer.b[:, channels]
        if layer.depthwise:
            a_tile = np.zeros((k, self.rows, self.cols), dtype=np.int8)
            for c in busy:
                m0, channel = tile[c]
                part = layer.a[m0 : m0 + self.rows, :, channel]
                a_tile[:, : part.shape[0], c] = part.T
            a_field, a_width = "a_pe", self.rows * self.cols
        else:
            m0 = tile[busy[0]][0]
            a_tile = np.zeros((k, self.rows), dtype=np.int8)
            a_part = layer.a[m0 : m0 + self.rows].T
            a_tile[:, : a_part.shape[1]] = a_part
            a_field, a_width = "a", self.rows

        def per_column(values):
            out = np.zeros(self.cols, dtype=np.int64)
            if values is not None:
                out[busy] = np.broadcast_to(np.asarray(values, dtype=np.int64), (layer.b.shape[1],))[channels]
            return out

        shared = {} if shared is None else shared
        key = ("params", tuple(busy), channels.tobytes())
        if key not in shared:
            shared[key] = {
                "bias": pack(per_column(layer.bias), 32),
                "mult": pack(per_column(layer.multiplier), 32),
                "shift": pack(per_column(layer.shift), 6),
                "in_zp": layer.input_zp & 0xFF,
                "out_zp": layer.output_zp & 0xFF,
                "act_min": layer.act_min & 0xFF,
                "act_max": layer.act_max & 0xFF,
                "raw": int(layer.raw),
                "pool": int(layer.pool),
                "depthwise": int(layer.depthwise),
                "round_single": int(layer.rounding == "single"),
                "round_fp32": int(layer.rounding == "fp32"),
            }
        first = shared[key]
        if ("last", k) not in shared:
            shared["last", k] = (np.arange(k) == k - 1).astype(np.uint8).reshape(k, 1)
        columns = {
            a_field: a_tile.reshape(k, a_width).view(np.uint8),
            "b": b_tile.view(np.uint8),
            "last": shared["last", k],
            **first,  # held on every beat (the RTL samples them with the first)
        }
        if self.noisy_params:  # parameters are sampled with the first beat: later ones must not matter
            fields = self.operands.stream.fields
            for name, value in first.items():
                bits = len(fields[name])
                noise = [value] + [self.rng.getrandbits(bits) for _ in range(k - 1)]
                columns[name] = np.array([list(v.to_bytes((bits + 7) // 8, "little")) for v in noise], dtype=np.uint8)
        return k, columns

    async def gemm(self, layer: Layer) -> np.ndarray:
        """Run a whole layer and assemble its result (no checking: the service's path):
        [M, N], or [M/4, N] when pooled."""
        result = np.zeros((layer.a.shape[0] // layer.group, layer.b.shape[1]), dtype=np.int64)
        self.send_layer_nowait(layer)

        async def collect():
            await self.operands.wait_idle()  # rows collect meanwhile: one wake-up, not two per row
            rows = self.result_rows(layer)
            data = [(await self.results.recv())["data"] for _ in rows]
            # Every beat's lanes at once, then one scatter into the result.
            width = 4 * self.cols
            lanes = np.frombuffer(b"".join([d.to_bytes(width, "little") for d in data]), dtype="<i4")
            lanes = lanes.reshape(len(rows), self.cols)
            beat = np.repeat(np.arange(len(rows)), [len(row.lanes) for row in rows])
            lane, out_row, channel = (
                np.fromiter(itertools.chain.from_iterable(getattr(row, f) for row in rows), np.int64)
                for f in ("lanes", "rows", "channels")
            )
            result[out_row, channel] = lanes[beat, lane]

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
    values: np.ndarray  # expected values of row.lanes (empty for a padding row)


class KpuScoreboard(BfmComponent):
    """Predicts each result row from models.kpu.gemm (pooled: maxpool_rows of it); compares in order."""

    def build_phase(self):
        super().build_phase()
        self.board = Scoreboard("kpu rows")
        self.pending: deque[ExpectedRow] = deque()
        self.issued_in = AnalysisInput("issued_in", self, self.predict)
        self.rows_in = AnalysisInput("rows_in", self, self.check_row)
        self.bfm.reset_listeners.append(self.pending.clear)

    def predict(self, item: LayerItem) -> None:
        expected = item.layer.model().astype(np.int64)
        item.result = np.zeros_like(expected)
        for row in self.bfm.result_rows(item.layer):
            self.pending.append(ExpectedRow(item, row, expected[row.rows, row.channels]))

    def check_row(self, observed) -> None:
        data, last = observed
        if not self.pending:
            self.board.observe(("unexpected row", data.tolist()))
            return
        expected = self.pending.popleft()
        row, item = expected.row, expected.item
        values = data[row.lanes]
        item.result[row.rows, row.channels] = values
        # Both int64: equal bytes are equal rows. Only a mismatch builds the values for the report.
        if not self.board.matched_if(last == row.last and values.tobytes() == expected.values.tobytes()):
            context = {"result rows": sorted(set(row.rows)), "columns": row.channels}
            self.board.expect({"row": expected.values.tolist(), "last": row.last}, context=context)
            self.board.observe({"row": values.tolist(), "last": last})
        if row.final:
            item.end_cycle = clocking.cycles_now()
            item.done.set()


class KpuCoverage(CoverageComponent):
    """Samples each issued layer: tiles mixing result rows, operand extremes, the layer's features."""

    def write(self, item: LayerItem) -> None:
        for tile in self.bfm.tiles(item.layer):
            coverage.sample_tile(len({unit[0] for unit in tile if unit is not None}) > 1)
        self._cover_layer(item.layer)

    def _cover_layer(self, layer: Layer) -> None:
        m, k = layer.a.shape[:2]
        n = layer.b.shape[1]
        for name, values in (("a", layer.a), ("b", layer.b)):
            for extreme in (-128, 127, 0):
                if (values == extreme).any():
                    coverage.sample_operand(name, extreme)
        features = {
            "k": k,
            "pool": layer.pool,
            "partial_m": m % self.bfm.rows != 0,
            "partial_n": n % self.bfm.cols != 0,
            "input_zp": layer.input_zp,
            "output_zp": None,
            "saturate_high": False,
            "saturate_low": False,
            "kind": "depthwise" if layer.depthwise else "gemm",
            "rounding": None,
        }
        if layer.raw:
            features["mode"] = "raw"
        else:
            features["output_zp"] = layer.output_zp
            features["rounding"] = layer.rounding
            if (layer.act_min, layer.act_max) == (-128, 127):
                features["mode"] = "act none"
            elif layer.act_min == layer.output_zp:
                features["mode"] = "relu" if layer.act_max == 127 else "relu6"
            else:
                features["mode"] = "clamp"
            if layer.rounding == "fp32":
                scaled = model.fp32_multiply_round(layer.accumulators, layer.multiplier) + layer.output_zp
            else:
                scaled = (
                    model.multiply_by_quantized_multiplier(
                        layer.accumulators, layer.multiplier, layer.shift, layer.rounding
                    )
                    + layer.output_zp
                )
            features["saturate_high"] = bool((scaled > layer.act_max).any())
            features["saturate_low"] = bool((scaled < layer.act_min).any())
            for event in coverage.requant_events(layer.accumulators, layer.multiplier, layer.shift, layer.rounding):
                coverage.sample_requant(layer.rounding, event)
        coverage.sample_layer(features)


class KpuEnv(BlockEnv):
    driver_class = KpuDriver
    components = {"monitor": RowMonitor, "scoreboard": KpuScoreboard, "coverage": KpuCoverage}
    connections = (
        ("driver.issued", "scoreboard.issued_in"),
        ("monitor.ap", "scoreboard.rows_in"),
        ("driver.issued", "coverage"),
    )


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
