"""KPU tests: pyuvm tests over KpuBaseTest; names are the TEST= names."""

from __future__ import annotations

import numpy as np
import pyuvm
from cocotb.triggers import Timer
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from asicdv import clocking
from models import kpu as model
from tb.kpu.env import KpuBaseTest, Layer, LayerItem

INT8 = st.one_of(st.sampled_from([-128, 127, 0]), st.integers(-128, 127))
SMALL = st.integers(-4, 4)  # small sums keep requantized outputs in range, where rounding shows
SIM_LIMIT = {"timeout_time": 500, "timeout_unit": "ms"}


def random_requant(rng: np.random.Generator, n: int, output_zp: int | None = None) -> dict:
    """TFLite-like per-channel parameters: multiplier in [2^30, 2^31), shift mostly right."""
    zp = int(rng.integers(-128, 128)) if output_zp is None else output_zp
    lo, hi = sorted(int(x) for x in rng.integers(-128, 128, 2))
    return {
        "multiplier": rng.integers(2**30, 2**31, n).astype(np.int32),
        "shift": np.where(rng.random(n) < 0.5, rng.integers(-3, 1, n), rng.integers(-12, 2, n)).astype(np.int32),
        "output_zp": zp, "act_min": lo, "act_max": hi,
    }  # fmt: skip


@st.composite
def requant_params(draw, n: int) -> dict:
    """Empty (raw) or TFLite per-channel requantization with one of the activations."""
    if draw(st.integers(0, 3)) == 0:  # a quarter raw, the rest requantized
        return {}
    output_zp = draw(INT8)
    act = draw(st.sampled_from(["none", "relu", "relu6", "range"]))
    act_min, act_max = {
        "none": (-128, 127), "relu": (output_zp, 127), "relu6": (output_zp, min(127, output_zp + 40)),
        "range": tuple(sorted(draw(st.lists(INT8, min_size=2, max_size=2)))),
    }[act]  # fmt: skip
    multiplier = draw(hnp.arrays(np.int32, (n,), elements=st.integers(2**30, 2**31 - 1)))
    # Small right shifts make exact rounding ties common (round half away from zero).
    shift = draw(hnp.arrays(np.int32, (n,), elements=st.one_of(st.integers(-3, 0), st.integers(-31, 30))))
    return {"multiplier": multiplier, "shift": shift, "output_zp": output_zp, "act_min": act_min, "act_max": act_max}


def pooled_m(m: int, pool: bool) -> int:
    """A pooled layer's M is a whole number of 2x2 windows (a multiple of 4)."""
    return max(4, m - m % 4) if pool else m


@st.composite
def small_layers(draw, max_mn: int = 20, max_k: int = 40) -> Layer:
    """Every element drawn by hypothesis, so a failure shrinks element by element."""
    pool = draw(st.booleans())
    m, n = pooled_m(draw(st.integers(1, max_mn)), pool), draw(st.integers(1, max_mn))
    k = draw(st.one_of(st.just(1), st.integers(1, max_k)))
    values = draw(st.sampled_from([INT8, SMALL]))
    a = draw(hnp.arrays(np.int8, (m, k), elements=values))
    b = draw(hnp.arrays(np.int8, (k, n), elements=values))
    bias = draw(hnp.arrays(np.int32, (n,), elements=st.integers(-(2**20), 2**20)))
    return Layer(a, b, bias, draw(INT8), **draw(requant_params(n)), pool=pool)


@st.composite
def large_layers(draw, max_mn: int = 64, max_k: int = 1024) -> Layer:
    """Shapes up to 64 x 64 x 1024 (too big for hypothesis to draw element-wise), K >= 256 half the
    time: the shape and value style shrink, the values come from a drawn seed."""
    pool = draw(st.booleans())
    m, n = pooled_m(draw(st.integers(1, max_mn)), pool), draw(st.integers(1, max_mn))
    k = draw(st.one_of(st.integers(256, max_k), st.integers(1, max_k)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    style = draw(st.sampled_from(["full", "small", "extremes"]))
    pick = {
        "full": lambda shape: rng.integers(-128, 128, shape),
        "small": lambda shape: rng.integers(-4, 5, shape),
        "extremes": lambda shape: rng.choice([-128, 127, 0], shape),
    }[style]  # fmt: skip
    a, b = pick((m, k)).astype(np.int8), pick((k, n)).astype(np.int8)
    bias = rng.integers(-(2**20), 2**20, n).astype(np.int32)
    return Layer(a, b, bias, draw(INT8), **draw(requant_params(n)), pool=pool)


def describe_layer(layer: Layer) -> str:
    if layer.a.size + layer.b.size > 600:
        return layer.describe()
    return f"{layer.describe()}\nA={layer.a.tolist()}\nB={layer.b.tolist()}"


def layers() -> st.SearchStrategy[Layer]:
    return st.one_of(small_layers(), large_layers())


def layer_class(layer: Layer, rows: int = 8, cols: int = 8) -> dict[str, str]:
    m, k = layer.a.shape
    n = layer.b.shape[1]
    if layer.raw:
        mode = "raw"
    elif (layer.act_min, layer.act_max) == (-128, 127):
        mode = "act none"
    elif layer.act_min == layer.output_zp:
        mode = "relu" if layer.act_max == 127 else "relu6"
    else:
        mode = "clamp"
    return {
        "M tile": "partial" if m % rows else "full", "N tile": "partial" if n % cols else "full",
        "K": "1" if k == 1 else ">=256" if k >= 256 else "2..255", "mode": mode, "pool": str(layer.pool),
    }  # fmt: skip


@pyuvm.test(**SIM_LIMIT)
class RandomGemmTest(KpuBaseTest):
    """Hypothesis: GEMMs of random shape (1..64 x 1..64 x 1..1024, partial tiles), values, zero
    points, raw or requantized with every activation."""

    examples = 25

    async def one_layer(self, layer: Layer) -> None:
        await self.run_layers(layer)

    async def stimulus(self):
        strategy = layers() if self.bfm.rows % 4 == 0 else layers().filter(lambda layer: not layer.pool)
        await self.check_property(strategy, self.one_layer, examples=self.examples, describe=describe_layer,
                                  label=lambda layer: layer_class(layer, self.bfm.rows, self.bfm.cols))  # fmt: skip


@pyuvm.test(**SIM_LIMIT)
class ExtremesTest(KpuBaseTest):
    """All -128 / all 127 operands against zero points at both extremes, raw and requantized."""

    def layers(self):
        out = []
        for a_val in (-128, 127):
            for b_val in (-128, 127):
                for zp in (-128, 127, 0):
                    a = np.full((9, 33), a_val, np.int8)
                    b = np.full((33, 11), b_val, np.int8)
                    out.append(Layer(a, b, None, zp))
                    out.append(Layer(a, b, None, zp, **random_requant(self.np_rng, 11, output_zp=zp)))
        return out


@pyuvm.test(**SIM_LIMIT)
class OverflowBoundTest(KpuBaseTest):
    """K = 4096 at the int8 extremes: |sum| reaches 133,693,440 and must not wrap."""

    def layers(self):
        k = 4096
        a = np.full((8, k), -128, np.int8)
        b = np.full((k, 8), -128, np.int8)
        b[:, 1::2] = 127
        layer = Layer(a, b, None, 127)  # (A - zp) = -255 everywhere: even columns reach +255*128*K
        assert int(layer.model().max()) == 255 * 128 * k == model.ACC_BOUND
        return [layer]


@pyuvm.test(**SIM_LIMIT)
class RequantCornersTest(KpuBaseTest):
    """Per-channel multipliers/shifts over TFLite's whole range, bias extremes, saturation both ways."""

    def layers(self):
        out = []
        for _ in range(6):
            m, n, k = (int(x) for x in self.np_rng.integers(1, 24, 3))
            a = self.np_rng.integers(-128, 128, (m, k)).astype(np.int8)
            b = self.np_rng.integers(-128, 128, (k, n)).astype(np.int8)
            bias = self.np_rng.integers(-(2**31), 2**31, n).astype(np.int32)
            params = random_requant(self.np_rng, n)
            params["shift"] = self.np_rng.integers(-31, 31, n).astype(np.int32)
            params["multiplier"][: n // 2] = self.np_rng.integers(-(2**31), 2**31, n // 2).astype(np.int32)
            out.append(Layer(a, b, bias, int(self.np_rng.integers(-128, 128)), **params))
        # Zero operands make acc == bias, so the int32 corners reach the requantizer directly:
        # INT32_MIN x INT32_MIN saturation, left shifts that wrap, the largest right shifts.
        corners = np.array([-(2**31), 2**31 - 1, -1, 1, 0, 12345, -(2**30), 2**30], dtype=np.int64)
        for multipliers, shifts in (([-(2**31)] * 8, [0] * 8), ([2**31 - 1, 2**30] * 4, [30, 1, -31, -1, 0, 15, -15, 29])):
            n = len(corners)
            out.append(Layer(np.zeros((3, 2), np.int8), np.zeros((2, n), np.int8), corners.astype(np.int32), 0,
                             np.array(multipliers, np.int32), np.array(shifts, np.int32)))  # fmt: skip
        return out


@pyuvm.test(**SIM_LIMIT)
class RoundingTiesTest(KpuBaseTest):
    """Small sums and right shifts of 1..3 with M0 = 2^30 (x 0.5): exact halves, positive and
    negative, must round away from zero (gemmlowp RoundingDivideByPOT)."""

    def layers(self):
        out = []
        for right_shift in (1, 2, 3):
            a = self.np_rng.integers(-6, 7, (16, 8)).astype(np.int8)
            b = self.np_rng.integers(-6, 7, (8, 16)).astype(np.int8)
            n = b.shape[1]
            out.append(Layer(a, b, self.np_rng.integers(-40, 40, n).astype(np.int32), 0,
                             np.full(n, 2**30, np.int32), np.full(n, -right_shift, np.int32)))  # fmt: skip
        return out


@pyuvm.test(**SIM_LIMIT)
class Conv2dTest(KpuBaseTest):
    """Conv2d 1x1 and 3x3, stride 1 and 2, same and valid, via im2col on the array, vs models.kpu.conv2d."""

    async def stimulus(self):
        for kernel in (1, 3):
            for stride in (1, 2):
                for padding in ("same", "valid"):
                    h, w = (int(x) for x in self.np_rng.integers(3, 9, 2))
                    cin, cout = (int(x) for x in self.np_rng.integers(1, 12, 2))
                    image = self.np_rng.integers(-128, 128, (h, w, cin)).astype(np.int8)
                    weights = self.np_rng.integers(-128, 128, (cout, kernel, kernel, cin)).astype(np.int8)
                    bias = self.np_rng.integers(-5000, 5000, cout).astype(np.int32)
                    zp = int(self.np_rng.integers(-128, 128))
                    requant = random_requant(self.np_rng, cout)
                    a, b, _ = model.lower_conv2d(image, weights, stride=stride, padding=padding, input_zp=zp)
                    # The scoreboard compares every row with the direct convolution (not the GEMM).
                    reference = model.conv2d(image, weights, stride=stride, padding=padding, bias=bias, input_zp=zp,
                                             **requant)  # fmt: skip
                    await self.run_layers(Layer(a, b, bias, zp, **requant, reference=reference))


@pyuvm.test(**SIM_LIMIT)
class Conv2dPoolTest(KpuBaseTest):
    """Conv2d + 2x2/stride-2 max-pool (op_pool): 1x1 and 3x3, stride 1 and 2, same and valid, raw and
    requantized, im2col rows in models.kpu.pool_order, vs models.kpu.conv2d(..., pool=True); then
    pooled GEMMs with partial tiles (M a multiple of 4, not of ROWS; N partial; K < ROWS) queued back
    to back with unpooled ones, so op_pool is taken per tile. Skipped when ROWS % 4 != 0."""

    async def stimulus(self):
        if self.bfm.rows % 4 != 0:
            self.logger.info("skipped: pooling needs ROWS %% 4 == 0, ROWS=%d", self.bfm.rows)
            return
        for kernel in (1, 3):
            for stride in (1, 2):
                for padding in ("same", "valid"):
                    for raw in (True, False):
                        await self.conv_pool(kernel, stride, padding, raw)
        await self.mixed_gemms()

    async def conv_pool(self, kernel: int, stride: int, padding: str, raw: bool) -> None:
        h, w = (int(x) for x in self.np_rng.integers(5, 11, 2))  # OH, OW >= 2 for every case
        cin, cout = (int(x) for x in self.np_rng.integers(1, 12, 2))
        image = self.np_rng.integers(-128, 128, (h, w, cin)).astype(np.int8)
        weights = self.np_rng.integers(-128, 128, (cout, kernel, kernel, cin)).astype(np.int8)
        bias = self.np_rng.integers(-5000, 5000, cout).astype(np.int32)
        zp = int(self.np_rng.integers(-128, 128))
        requant = {} if raw else random_requant(self.np_rng, cout)
        a, b, _ = model.lower_conv2d(image, weights, stride=stride, padding=padding, input_zp=zp, pool=True)
        # The scoreboard compares every pooled row with the direct convolution + max-pool.
        reference = model.conv2d(image, weights, stride=stride, padding=padding, bias=bias, input_zp=zp, pool=True,
                                 **requant)  # fmt: skip
        await self.run_layers(Layer(a, b, bias, zp, **requant, pool=True, reference=reference))

    async def mixed_gemms(self) -> None:
        rows = self.bfm.rows
        items = []
        for index in range(8):
            pool = index % 3 != 1
            m = 4 * int(self.np_rng.integers(1, 2 * rows // 4 + 2))
            if pool and m % rows == 0:
                m += 4  # a partial last tile: padding rows start on a group boundary
            if not pool:
                m -= int(self.np_rng.integers(0, 4))  # any M when unpooled
            n, k = int(self.np_rng.integers(1, 21)), int(self.np_rng.choice([1, 2, rows - 1, rows, 37]))
            values = (-128, 128) if index % 2 else (-3, 4)  # small values make ties and equal maxima
            a = self.np_rng.integers(*values, (m, k)).astype(np.int8)
            b = self.np_rng.integers(*values, (k, n)).astype(np.int8)
            bias = self.np_rng.integers(-300, 300, n).astype(np.int32)
            requant = random_requant(self.np_rng, n) if index % 4 else {}
            items.append(LayerItem(f"mixed{index}", Layer(a, b, bias, int(self.np_rng.integers(-128, 128)),
                                                          **requant, pool=pool)))  # fmt: skip
        await self.queue_layers(*items)


@pyuvm.test(**SIM_LIMIT)
class PoolBackPressureTest(Conv2dPoolTest):
    """Conv2dPoolTest with random idle cycles on the operand stream and random res_ready stalls."""

    stalls = True


@pyuvm.test(**SIM_LIMIT)
class BackPressureTest(RandomGemmTest):
    """The same random GEMMs with random idle cycles on the operand stream and res_ready stalls."""

    stalls = True
    examples = 12


@pyuvm.test(**SIM_LIMIT)
class ResetMidTileTest(KpuBaseTest):
    """Reset while tiles are in flight, then an exact GEMM and no stale row."""

    async def stimulus(self):
        stale = Layer(self.np_rng.integers(-128, 128, (16, 64)).astype(np.int8),
                      self.np_rng.integers(-128, 128, (64, 16)).astype(np.int8))  # fmt: skip
        self.env.scoreboard.predict(LayerItem("stale", stale))  # rows before the reset are checked too
        self.bfm.send_layer_nowait(stale)
        await Timer(clocking.PERIOD_NS * self.rng.randint(5, 200), "ns")
        await self.bfm.reset()
        fresh = Layer(self.np_rng.integers(-128, 128, (10, 20)).astype(np.int8),
                      self.np_rng.integers(-128, 128, (20, 12)).astype(np.int8), None, 3,
                      **random_requant(self.np_rng, 12))  # fmt: skip
        await self.run_layers(fresh)


@pyuvm.test(**SIM_LIMIT)
class UtilizationTest(KpuBaseTest):
    """M, N multiples of the array and K = 256: useful MACs / (array MACs x cycles) >= 90%."""

    async def stimulus(self):
        rows, cols = self.bfm.rows, self.bfm.cols
        layer = Layer(self.np_rng.integers(-128, 128, (2 * rows, 256)).astype(np.int8),
                      self.np_rng.integers(-128, 128, (256, 2 * cols)).astype(np.int8))  # fmt: skip
        (item,) = await self.run_layers(layer)
        cycles = item.cycles
        utilization = layer.a.size * layer.b.shape[1] / (rows * cols * cycles)
        self.logger.info("utilization %.1f%% (%d cycles, M=N=%d, K=256)", 100 * utilization, cycles, 2 * rows)
        assert utilization >= 0.90, f"MAC utilization {utilization:.1%} < 90%"


@pyuvm.test(**SIM_LIMIT)
class LargeGemmTest(KpuBaseTest):
    """64 x 64 x 1024 GEMM, requantized (nightly)."""

    def layers(self):
        a = self.np_rng.integers(-128, 128, (64, 1024)).astype(np.int8)
        b = self.np_rng.integers(-128, 128, (1024, 64)).astype(np.int8)
        return [Layer(a, b, self.np_rng.integers(-9999, 9999, 64).astype(np.int32), -7,
                      **random_requant(self.np_rng, 64))]  # fmt: skip
