"""KPU tests: pyuvm tests over KpuBaseTest; names are the TEST= names."""

from __future__ import annotations

import numpy as np
from cocotb.triggers import Timer
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from asicdv import project
from asicdv.testbench import clocking, uvm
from asicdv.testbench.scoreboard import Scoreboard
from models import kpu as model
from models import requant_ref
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
        "output_zp": zp,
        "act_min": lo,
        "act_max": hi,
    }


def fp32_scales(rng: np.random.Generator, n: int) -> np.ndarray:
    """Float32 scales as real models' s_in * s_w / s_out (about 2^-16 .. 2^-4), as the multiplier field's bits."""
    return model.fp32_bits(2.0 ** rng.uniform(-16, -4, n)).astype(np.int32)


def requant_in(rng: np.random.Generator, n: int, rounding: str, output_zp: int | None = None) -> dict:
    """random_requant for any rounding mode; fp32: the multiplier field holds float32 scale bits."""
    params = {**random_requant(rng, n, output_zp), "rounding": rounding}
    if rounding == "fp32":
        params["multiplier"], params["shift"] = fp32_scales(rng, n), np.zeros(n, np.int32)
    return params


@st.composite
def requant_params(draw, n: int) -> dict:
    """Empty (raw) or TFLite per-channel requantization with one of the activations."""
    if draw(st.integers(0, 3)) == 0:  # a quarter raw, the rest requantized
        return {}
    output_zp = draw(INT8)
    act = draw(st.sampled_from(["none", "relu", "relu6", "range"]))
    act_min, act_max = {
        "none": (-128, 127),
        "relu": (output_zp, 127),
        "relu6": (output_zp, min(127, output_zp + 40)),
        "range": tuple(sorted(draw(st.lists(INT8, min_size=2, max_size=2)))),
    }[act]
    rounding = draw(st.sampled_from(model.ROUNDINGS))
    if rounding == "fp32":  # float32 scales (bits in the multiplier field): real-model range, or powers of 2
        scale = st.one_of(st.floats(2.0**-18, 2.0**-2, width=32), st.sampled_from([0.5, 0.25, 2.0**-10, 0.0]))
        multiplier = model.fp32_bits(draw(hnp.arrays(np.float32, (n,), elements=scale))).astype(np.int32)
        shift = np.zeros(n, np.int32)
    else:
        multiplier = draw(hnp.arrays(np.int32, (n,), elements=st.integers(2**30, 2**31 - 1)))
        # Small right shifts make exact rounding ties common (round half away from zero).
        shift = draw(hnp.arrays(np.int32, (n,), elements=st.one_of(st.integers(-3, 0), st.integers(-31, 30))))
    return {
        "multiplier": multiplier,
        "shift": shift,
        "output_zp": output_zp,
        "act_min": act_min,
        "act_max": act_max,
        "rounding": rounding,
    }


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
    }[style]
    a, b = pick((m, k)).astype(np.int8), pick((k, n)).astype(np.int8)
    bias = rng.integers(-(2**20), 2**20, n).astype(np.int32)
    return Layer(a, b, bias, draw(INT8), **draw(requant_params(n)), pool=pool)


@st.composite
def depthwise_layers(draw, max_mn: int = 24, max_k: int = 40) -> Layer:
    """Depthwise layers (op_depthwise): M pixels x N channels x K taps (1..40: 1x1 up to 10x4 kernels),
    one activation per PE; the shape and value style shrink, the values come from a drawn seed."""
    pool = draw(st.booleans())
    m, n = pooled_m(draw(st.integers(1, max_mn)), pool), draw(st.integers(1, max_mn))
    k = draw(st.one_of(st.sampled_from([1, 9]), st.integers(1, max_k)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    low, high = draw(st.sampled_from([(-128, 128), (-4, 5)]))
    a = rng.integers(low, high, (m, k, n)).astype(np.int8)
    b = rng.integers(low, high, (k, n)).astype(np.int8)
    bias = rng.integers(-(2**20), 2**20, n).astype(np.int32)
    return Layer(a, b, bias, draw(INT8), **draw(requant_params(n)), pool=pool)


def describe_layer(layer: Layer) -> str:
    if layer.a.size + layer.b.size > 600:
        return layer.describe()
    return f"{layer.describe()}\nA={layer.a.tolist()}\nB={layer.b.tolist()}"


def layers() -> st.SearchStrategy[Layer]:
    return st.one_of(small_layers(), large_layers(), depthwise_layers())


def layer_class(layer: Layer, rows: int = 8, cols: int = 8) -> dict[str, str]:
    m, k = layer.a.shape[:2]
    n = layer.b.shape[1]
    if layer.raw:
        mode = "raw"
    elif layer.rounding in ("single", "fp32"):
        mode = f"{layer.rounding} rounding"
    elif (layer.act_min, layer.act_max) == (-128, 127):
        mode = "act none"
    elif layer.act_min == layer.output_zp:
        mode = "relu" if layer.act_max == 127 else "relu6"
    else:
        mode = "clamp"
    return {
        "M tile": "partial" if m % rows else "full",
        "N tile": "partial" if n % cols else "full",
        "K": "1" if k == 1 else ">=256" if k >= 256 else "2..255",
        "mode": mode,
        "pool": str(layer.pool),
        "kind": "depthwise" if layer.depthwise else "gemm",
    }


@uvm.test(**SIM_LIMIT)
class RandomGemmTest(KpuBaseTest):
    """Hypothesis: GEMMs of random shape (1..64 x 1..64 x 1..1024, partial tiles) and depthwise layers
    (1..24 pixels x 1..24 channels x 1..40 taps), values, zero points, raw or requantized with every
    activation and both roundings, pooled or not."""

    examples = 25

    async def one_layer(self, layer: Layer) -> None:
        await self.run_layers(layer)

    def strategy(self):
        return layers() if self.bfm.rows % 4 == 0 else layers().filter(lambda layer: not layer.pool)

    async def stimulus(self):
        await self.check_property(
            self.strategy(),
            self.one_layer,
            examples=self.examples,
            describe=describe_layer,
            label=lambda layer: layer_class(layer, self.bfm.rows, self.bfm.cols),
        )


@uvm.test(**SIM_LIMIT)
class ParamsOnFirstBeatTest(RandomGemmTest):
    """The per-tile parameters (bias, multiplier, shift, zero points, clamp, modes) are sampled with a
    tile's first beat: here every later beat carries random values on them, which must not matter."""

    examples = 12

    async def stimulus(self):
        self.bfm.noisy_params = True
        await super().stimulus()


@uvm.test(**SIM_LIMIT)
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


@uvm.test(**SIM_LIMIT)
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


@uvm.test(**SIM_LIMIT)
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
        for multipliers, shifts in (
            ([-(2**31)] * 8, [0] * 8),
            ([2**31 - 1, 2**30] * 4, [30, 1, -31, -1, 0, 15, -15, 29]),
        ):
            n = len(corners)
            out.append(
                Layer(
                    np.zeros((3, 2), np.int8),
                    np.zeros((2, n), np.int8),
                    corners.astype(np.int32),
                    0,
                    np.array(multipliers, np.int32),
                    np.array(shifts, np.int32),
                )
            )
        return out


@uvm.test(**SIM_LIMIT)
class RoundingTiesTest(KpuBaseTest):
    """Small sums and right shifts of 1..3 with M0 = 2^30 (x 0.5): exact halves, positive and
    negative, must round away from zero (gemmlowp RoundingDivideByPOT)."""

    def layers(self):
        out = []
        for right_shift in (1, 2, 3):
            a = self.np_rng.integers(-6, 7, (16, 8)).astype(np.int8)
            b = self.np_rng.integers(-6, 7, (8, 16)).astype(np.int8)
            n = b.shape[1]
            out.append(
                Layer(
                    a,
                    b,
                    self.np_rng.integers(-40, 40, n).astype(np.int32),
                    0,
                    np.full(n, 2**30, np.int32),
                    np.full(n, -right_shift, np.int32),
                )
            )
        return out


@uvm.test(**SIM_LIMIT)
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
                    reference = model.conv2d(
                        image, weights, stride=stride, padding=padding, bias=bias, input_zp=zp, **requant
                    )
                    await self.run_layers(Layer(a, b, bias, zp, **requant, reference=reference))


@uvm.test(**SIM_LIMIT)
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
        reference = model.conv2d(
            image, weights, stride=stride, padding=padding, bias=bias, input_zp=zp, pool=True, **requant
        )
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
            items.append(
                LayerItem(
                    f"mixed{index}", Layer(a, b, bias, int(self.np_rng.integers(-128, 128)), **requant, pool=pool)
                )
            )
        await self.queue_layers(*items)


@uvm.test(**SIM_LIMIT)
class PoolBackPressureTest(Conv2dPoolTest):
    """Conv2dPoolTest with random idle cycles on the operand stream and random res_ready stalls."""

    stalls = True


@uvm.test(**SIM_LIMIT)
class BackPressureTest(RandomGemmTest):
    """The same random GEMMs with random idle cycles on the operand stream and res_ready stalls."""

    stalls = True
    examples = 12


@uvm.test(**SIM_LIMIT)
class ResetMidTileTest(KpuBaseTest):
    """Reset while tiles are in flight, then an exact GEMM and no stale row."""

    async def stimulus(self):
        stale = Layer(
            self.np_rng.integers(-128, 128, (16, 64)).astype(np.int8),
            self.np_rng.integers(-128, 128, (64, 16)).astype(np.int8),
        )
        self.env.scoreboard.predict(LayerItem("stale", stale))  # rows before the reset are checked too
        self.bfm.send_layer_nowait(stale)
        await Timer(clocking.PERIOD_NS * self.rng.randint(5, 200), "ns")
        await self.bfm.reset()
        fresh = Layer(
            self.np_rng.integers(-128, 128, (10, 20)).astype(np.int8),
            self.np_rng.integers(-128, 128, (20, 12)).astype(np.int8),
            None,
            3,
            **random_requant(self.np_rng, 12),
        )
        await self.run_layers(fresh)


@uvm.test(**SIM_LIMIT)
class UtilizationTest(KpuBaseTest):
    """M, N multiples of the array and K = 256: useful MACs / (array MACs x cycles) >= 90%."""

    async def stimulus(self):
        rows, cols = self.bfm.rows, self.bfm.cols
        layer = Layer(
            self.np_rng.integers(-128, 128, (2 * rows, 256)).astype(np.int8),
            self.np_rng.integers(-128, 128, (256, 2 * cols)).astype(np.int8),
        )
        (item,) = await self.run_layers(layer)
        cycles = item.cycles
        utilization = layer.a.size * layer.b.shape[1] / (rows * cols * cycles)
        self.logger.info("utilization %.1f%% (%d cycles, M=N=%d, K=256)", 100 * utilization, cycles, 2 * rows)
        assert utilization >= 0.90, f"MAC utilization {utilization:.1%} < 90%"


@uvm.test(**SIM_LIMIT)
class LargeGemmTest(KpuBaseTest):
    """64 x 64 x 1024 GEMM, requantized (nightly)."""

    def layers(self):
        a = self.np_rng.integers(-128, 128, (64, 1024)).astype(np.int8)
        b = self.np_rng.integers(-128, 128, (1024, 64)).astype(np.int8)
        return [
            Layer(a, b, self.np_rng.integers(-9999, 9999, 64).astype(np.int32), -7, **random_requant(self.np_rng, 64))
        ]


def depthwise_case(
    rng: np.random.Generator,
    h: int,
    w: int,
    c: int,
    kernel: tuple[int, int],
    stride: int,
    padding: str,
    raw: bool,
    rounding: str = "double",
    pool: bool = False,
    dilation: int = 1,
) -> Layer:
    """A TFLite DepthwiseConv2D (depth multiplier 1) as the array's depthwise layer: the model's
    depthwise_patches lowering (rows in pool_order when pooled), with models.kpu.depthwise_conv2d's
    result (+ maxpool2x2) as the reference every row is checked against."""
    image = rng.integers(-128, 128, (h, w, c)).astype(np.int8)
    weights = rng.integers(-128, 128, (1, *kernel, c)).astype(np.int8)
    bias = rng.integers(-5000, 5000, c).astype(np.int32)
    zp = int(rng.integers(-128, 128))
    requant = {} if raw else requant_in(rng, c, rounding)
    conv = {"stride": stride, "padding": padding, "dilation": dilation}
    patches, (oh, ow) = model.depthwise_patches(image, *kernel, input_zp=zp, **conv)
    if pool:
        patches = patches[model.pool_order(oh, ow)]
    reference = model.depthwise_conv2d(image, weights, bias=bias, input_zp=zp, **conv, **requant)
    if pool:
        reference = model.maxpool2x2(reference)
    return Layer(patches, model.depthwise_weights_as_taps(weights), bias, zp, **requant, pool=pool, reference=reference)


@uvm.test(**SIM_LIMIT)
class DepthwiseTest(KpuBaseTest):
    """Depthwise conv2d on the array (op_depthwise) vs models.kpu.depthwise_conv2d: 3x3, 1x1, 5x5, 2x3
    and DS-CNN's 10x4 kernels, stride 1 and 2, same and valid, dilation 2, C from 1 to 19 (partial
    tiles, and columns of one tile on different pixel blocks), raw and requantized in the three rounding
    modes (double, single, fp32), with and without max-pool."""

    async def stimulus(self):
        index = 0
        for kernel in ((3, 3), (1, 1), (5, 5), (2, 3), (10, 4)):
            for stride in (1, 2):
                for padding in ("same", "valid"):
                    h = int(self.np_rng.integers(kernel[0] + 1, kernel[0] + 8))
                    w = int(self.np_rng.integers(kernel[1] + 1, kernel[1] + 8))
                    c = int(self.np_rng.choice([1, 5, 8, 12, 19]))
                    oh = model.conv_output_size(h, kernel[0], stride, padding)[0]
                    ow = model.conv_output_size(w, kernel[1], stride, padding)[0]
                    pool = index % 3 == 0 and min(oh, ow) >= 2 and self.bfm.rows % 4 == 0
                    dilation = 2 if index % 5 == 4 and padding == "same" else 1
                    raw, rounding = index % 4 == 0, model.ROUNDINGS[index % 3]
                    layer = depthwise_case(self.np_rng, h, w, c, kernel, stride, padding, raw, rounding, pool, dilation)
                    self.logger.info(
                        "depthwise %dx%d stride %d dilation %d %s, %dx%dx%d: %s",
                        *kernel,
                        stride,
                        dilation,
                        padding,
                        h,
                        w,
                        c,
                        layer.describe(),
                    )
                    await self.run_layers(layer)
                    index += 1


@uvm.test(**SIM_LIMIT)
class RandomDepthwiseTest(RandomGemmTest):
    """Hypothesis on depthwise layers only (in RandomGemmTest's mix they are a few percent): 1..24
    pixels x 1..24 channels x 1..40 taps, values, zero points, raw or requantized with every
    activation and both roundings, pooled or not."""

    def strategy(self):
        strategy = depthwise_layers()
        return strategy if self.bfm.rows % 4 == 0 else strategy.filter(lambda layer: not layer.pool)


@uvm.test(**SIM_LIMIT)
class DepthwiseBackPressureTest(RandomDepthwiseTest):
    """RandomDepthwiseTest with random operand idles and res_ready stalls."""

    stalls = True
    examples = 12


@uvm.test(**SIM_LIMIT)
class DepthwiseUtilizationTest(KpuBaseTest):
    """Depthwise 3x3 layers with C >= 8 (8; 12: tiles spanning two pixel blocks; DS-CNN's 25x5x64;
    stride 2): useful MACs / (array MACs x cycles) >= 80%, counted in clock cycles from the layer's
    issue to its last row. Skipped when ROWS > 9: a 9-beat tile then ends before the previous tile
    has drained its ROWS rows, so the array stalls by design."""

    shapes = ((16, 16, 8, 1), (12, 12, 12, 1), (25, 5, 64, 1), (16, 16, 16, 2))

    async def stimulus(self):
        rows, cols = self.bfm.rows, self.bfm.cols
        if rows > 9:
            self.logger.info("skipped: 3x3 depthwise tiles (9 beats) cannot keep ROWS=%d rows draining", rows)
            return
        for h, w, c, stride in self.shapes:
            layer = depthwise_case(self.np_rng, h, w, c, (3, 3), stride, "same", raw=False)
            (item,) = await self.run_layers(layer)
            macs = layer.a.size  # M pixels x 9 taps x C channels
            utilization = macs / (rows * cols * item.cycles)
            self.logger.info(
                "depthwise 3x3 %dx%dx%d stride %d: %d MACs in %d cycles, utilization %.1f%%",
                h,
                w,
                c,
                stride,
                macs,
                item.cycles,
                100 * utilization,
            )
            assert utilization >= 0.80, f"depthwise {h}x{w}x{c} stride {stride}: utilization {utilization:.1%} < 80%"


@uvm.test(**SIM_LIMIT)
class SingleRoundingTest(KpuBaseTest):
    """op_round_single vs models.kpu (rounding="single"): exact ties of both signs (single rounding goes
    up where double rounding goes away from zero; the same layers in both roundings, which must differ
    somewhere), TFLite's whole shift range, and int32 saturation of the 64-bit result."""

    def layers(self):
        out = []
        for right_shift in (1, 2, 3):  # M0 = 2^30 is x 0.5: every odd sum is a tie
            a = self.np_rng.integers(-6, 7, (16, 8)).astype(np.int8)
            b = self.np_rng.integers(-6, 7, (8, 16)).astype(np.int8)
            n = b.shape[1]
            bias = self.np_rng.integers(-40, 40, n).astype(np.int32)
            for rounding in model.INTEGER_ROUNDINGS:
                out.append(
                    Layer(
                        a,
                        b,
                        bias,
                        0,
                        np.full(n, 2**30, np.int32),
                        np.full(n, -right_shift, np.int32),
                        rounding=rounding,
                    )
                )
        pairs = [(out[i].model(), out[i + 1].model()) for i in range(0, len(out), 2)]
        assert any(not np.array_equal(double, single) for double, single in pairs), "no tie tells the roundings apart"
        # Zero operands make acc == bias: the int32 corners reach the requantizer directly, up to
        # results far outside int32 (shift 30) that must saturate.
        corners = np.array([-(2**31), 2**31 - 1, -1, 1, 0, 12345, -(2**30), 2**30], dtype=np.int32)
        for multipliers, shifts in (
            ([-(2**31)] * 8, [0] * 8),
            ([2**31 - 1, 2**30] * 4, [30, 1, -31, -1, 0, 15, -15, 29]),
            ([2**31 - 1, -(2**31)] * 4, [30] * 8),
        ):
            out.append(
                Layer(
                    np.zeros((3, 2), np.int8),
                    np.zeros((2, 8), np.int8),
                    corners,
                    0,
                    np.array(multipliers, np.int32),
                    np.array(shifts, np.int32),
                    rounding="single",
                )
            )
        for _ in range(4):
            m, n, k = (int(x) for x in self.np_rng.integers(1, 24, 3))
            params = {**random_requant(self.np_rng, n), "rounding": "single"}
            params["shift"] = self.np_rng.integers(-31, 31, n).astype(np.int32)
            out.append(
                Layer(
                    self.np_rng.integers(-128, 128, (m, k)).astype(np.int8),
                    self.np_rng.integers(-128, 128, (k, n)).astype(np.int8),
                    self.np_rng.integers(-(2**31), 2**31, n).astype(np.int32),
                    int(self.np_rng.integers(-128, 128)),
                    **params,
                )
            )
        return out


@uvm.test(**SIM_LIMIT)
class MixedModesTest(KpuBaseTest):
    """Every tile mode back to back with no gap between layers: GEMM and depthwise, raw and requantized
    in the three roundings, pooled and not, K from 1 to 37, partial tiles, all queued at once so
    consecutive tiles switch op_depthwise / op_round_single / op_round_fp32 / op_raw / op_pool on their
    first beat."""

    async def stimulus(self):
        rows = self.bfm.rows
        items = []
        for index in range(16):
            depthwise = index % 2 == 1
            pool = rows % 4 == 0 and index % 3 == 2
            m = pooled_m(int(self.np_rng.integers(1, 3 * rows)), pool)
            n, k = int(self.np_rng.integers(1, 21)), int(self.np_rng.choice([1, 2, rows - 1, rows, 9, 37]))
            values = (-128, 128) if index % 4 < 2 else (-3, 4)  # small values make ties and equal maxima
            a = self.np_rng.integers(*values, (m, k, n) if depthwise else (m, k)).astype(np.int8)
            b = self.np_rng.integers(*values, (k, n)).astype(np.int8)
            bias = self.np_rng.integers(-300, 300, n).astype(np.int32)
            requant = {} if index % 5 == 0 else requant_in(self.np_rng, n, model.ROUNDINGS[(index // 2) % 3])
            layer = Layer(a, b, bias, int(self.np_rng.integers(-128, 128)), **requant, pool=pool)
            items.append(LayerItem(f"mixed{index}", layer))
        await self.queue_layers(*items)


@uvm.test(**SIM_LIMIT)
class DepthwiseResetMidTileTest(KpuBaseTest):
    """Reset while depthwise, single-rounding tiles are in flight; then a GEMM in double rounding and a
    depthwise layer in fp32, exact and with no stale row or stale mode (op_depthwise / op_round_single)."""

    async def stimulus(self):
        stale = Layer(
            self.np_rng.integers(-128, 128, (40, 9, 12)).astype(np.int8),
            self.np_rng.integers(-128, 128, (9, 12)).astype(np.int8),
            None,
            -5,
            **{**random_requant(self.np_rng, 12), "rounding": "single"},
        )
        self.env.scoreboard.predict(LayerItem("stale", stale))  # rows before the reset are checked too
        self.bfm.send_layer_nowait(stale)
        await Timer(clocking.PERIOD_NS * self.rng.randint(5, 60), "ns")
        await self.bfm.reset()
        gemm = Layer(
            self.np_rng.integers(-128, 128, (10, 20)).astype(np.int8),
            self.np_rng.integers(-128, 128, (20, 12)).astype(np.int8),
            None,
            3,
            **random_requant(self.np_rng, 12),
        )
        depthwise = Layer(
            self.np_rng.integers(-128, 128, (11, 9, 5)).astype(np.int8),
            self.np_rng.integers(-128, 128, (9, 5)).astype(np.int8),
            None,
            7,
            **requant_in(self.np_rng, 5, "fp32"),
        )
        await self.run_layers(gemm, depthwise)


@uvm.test(**SIM_LIMIT)
class MixedModesBackPressureTest(MixedModesTest):
    """MixedModesTest with random operand idles and res_ready stalls."""

    stalls = True


@uvm.test(timeout_time=60, timeout_unit="sec")
class NetworksTest(KpuBaseTest):
    """The three shipped MLPerf Tiny int8 networks (ResNet-8, DS-CNN, the autoencoder) on the array, a
    random input each from the run's seed; each layer's output compared bit for bit through the
    scoreboard with the TFLite reference kernels' (double rounding) and with the default interpreter's
    (XNNPACK, fp32 requantization); single rounding matches neither on every input, see README "Real
    networks" (nightly: a few minutes)."""

    async def stimulus(self):
        from models import tflite_net  # the interpreter is heavy: only this test needs it
        from tb.kpu.net import compare
        from tb.kpu.net_service import run_network

        board = Scoreboard("kpu networks vs TFLite")
        self.env.networks_board = board  # checked with every other scoreboard
        for name in NETWORKS:
            net = tflite_net.Network(project.current().data("mlperf_tiny") / f"{name}.tflite")
            x = net.random_input(int(self.np_rng.integers(0, 2**31)))
            for rounding in ("double", "fp32"):
                values, _ = await run_network(self.bfm, net, x, rounding, gemm=self.checked_gemm)
                outputs = [layer.outputs[0] for layer in net.layers]
                reference = tflite_net.reference_tensors(net.path, x, rounding, outputs)
                for layer in net.layers:
                    tensor = layer.outputs[0]
                    where = {"network": name, "layer": layer.index, "op": layer.op, "rounding": rounding}
                    board.expect({**where, "mismatches": 0})
                    board.observe({**where, **compare(values[tensor], reference[tensor])})
                self.logger.info("%s (%s rounding): %d layers compared with TFLite", name, rounding, len(net.layers))

    async def checked_gemm(self, layer: Layer) -> np.ndarray:
        (item,) = await self.run_layers(layer)  # the scoreboard checks every row against the model
        return item.result


NETWORKS = ("image_classification", "keyword_spotting", "anomaly_detection")


# ------------------------------------------------------------------ requantization, one property per mode
#
# Per-channel parameters drawn across what real models contain (multiplier 0, TFLite's whole shift range
# -31..30 with its ends, multipliers in [2^30, 2^31); fp32: zero, subnormal, power-of-two and real-model
# float scales), exact ties (multiplier 2^30 / scale 2^-n on small odd sums), and accumulators from tiny
# to the int32 extremes (the bias carries them). The RTL's every output is compared with the mode's
# independent per-element reference (models/requant_ref.py), not with models/kpu.py.

BIASES = st.one_of(
    st.integers(-64, 64),
    st.integers(-(2**31), 2**31 - 1),
    st.sampled_from([-(2**31), 2**31 - 1, 2**24 + 1, -(2**24) - 3, 2**30, -(2**30) - 1, 16777217, -16777219]),
    st.integers(2**24, 2**31 - 1),
)
SHIFTS = st.one_of(st.sampled_from([-31, 30, 0, -1, -2, -3, 29, -30]), st.integers(-31, 30))
MULTIPLIERS = {
    "double": st.one_of(
        st.sampled_from([0, 2**30, 2**31 - 1, -(2**31)]),
        st.integers(2**30, 2**31 - 1),
        st.integers(-(2**31), 2**31 - 1),
    ),
    "single": st.one_of(
        st.sampled_from([0, 2**30, 2**31 - 1]), st.integers(2**30, 2**31 - 1), st.integers(0, 2**31 - 1)
    ),
}
FP32_SCALES = st.one_of(
    st.sampled_from([0.0, 0.5, 0.25, 0.125, 2.0**-24, 1.0, 3.0, 1e-40, 2.0**-126, 2.0**-149]),
    st.floats(2.0**-20, 2.0**-3, width=32),  # the range of real models' s_in * s_w / s_out
    st.floats(0.0, 2.0**20, width=32, allow_subnormal=True),
    st.floats(-1.0, 1.0, width=32),  # negative scales: not from TFLite, but the unit handles them
)


@st.composite
def requant_layers(draw, rounding: str) -> Layer:
    """A small GEMM whose bias puts the accumulators anywhere in int32; per-column parameters of the mode."""
    m, n, k = draw(st.integers(1, 12)), draw(st.integers(1, 16)), draw(st.integers(1, 6))
    values = draw(st.sampled_from([SMALL, INT8]))
    a = draw(hnp.arrays(np.int8, (m, k), elements=values))
    b = draw(hnp.arrays(np.int8, (k, n), elements=values))
    bias = draw(hnp.arrays(np.int32, (n,), elements=BIASES))
    output_zp = draw(INT8)
    act = draw(st.one_of(st.just((-128, 127)), st.just((output_zp, 127)), st.lists(INT8, min_size=2, max_size=2)))
    act_min, act_max = sorted(act)
    if rounding == "fp32":
        scales = draw(hnp.arrays(np.float32, (n,), elements=FP32_SCALES))
        multiplier, shift = model.fp32_bits(scales).astype(np.int32), np.zeros(n, np.int32)
    else:
        multiplier = draw(hnp.arrays(np.int32, (n,), elements=MULTIPLIERS[rounding]))
        shift = draw(hnp.arrays(np.int32, (n,), elements=SHIFTS))
    layer = Layer(a, b, bias, draw(INT8), multiplier, shift, output_zp, act_min, act_max, rounding=rounding)
    layer.reference = reference_requant(layer)
    return layer


def reference_requant(layer: Layer) -> np.ndarray:
    """Every output from the mode's per-element reference (Python ints / Fractions), on int64 accumulators
    computed here (not with models.kpu)."""
    acc = model.wrap32(
        (layer.a.astype(np.int64) - layer.input_zp) @ layer.b.astype(np.int64) + layer.bias.astype(np.int64)
    )
    out = np.empty(acc.shape, np.int64)
    for (r, c), value in np.ndenumerate(acc):
        x, mult, s = int(value), int(layer.multiplier[c]), int(layer.shift[c])
        if layer.rounding == "fp32":
            out[r, c] = requant_ref.xnnpack_fp32(x, mult, layer.output_zp, layer.act_min, layer.act_max)
            continue
        if layer.rounding == "double":
            scaled = requant_ref.double_rounding(x, mult, s)
        elif requant_ref.cmsis_nn_in_domain(x, mult, s):
            scaled = requant_ref.cmsis_nn_single_rounding(x, mult, s)
        else:  # outside CMSIS-NN's int32 intermediate: the published semantics, saturated like the RTL
            scaled = requant_ref.single_rounding_exact(x, mult, s)
        out[r, c] = min(max(scaled + layer.output_zp, layer.act_min), layer.act_max)
    return out


def corner_layers(rounding: str) -> list[Layer]:
    """Directed corners of the mode, ahead of the random examples: every bin of kpu.requant.<mode>."""
    # 23 x 2.8043479919433594 is exactly 64.5 + 2^-18, half-way between two binary32 values: the product
    # rounds (to even) to 64.5, which rint takes to 64 (65 if the product rounded up). 16908289 is
    # 129 * 2^17 + 1: int32 -> binary32 rounds it (to even) to 129 * 2^17, x 2^-18 = 64.5 -> 64.
    corners = np.array(
        [-(2**31), 2**31 - 1, -(2**24) - 3, 2**24 + 1, 7, -7, 5, -5, 3, -3, 1, 0, 23, -23, 16908289, -16908289],
        np.int64,
    )
    n = len(corners)
    if rounding == "fp32":
        scales = np.array(
            [0.5, 2.0**-100, 0.0, 1e-40, 0.5, 0.5, 0.25, 0.25, 0.1, 1000.0, 1.0, 0.3]
            + [2.8043479919433594] * 2
            + [2.0**-18] * 2,
            np.float32,
        )
        params = [(model.fp32_bits(scales), np.zeros(n))]
    else:
        # x 0.25 (double: SRDHM halves, RDBPOT's 1-bit shift sees ties) or x 0.5 (single: odd sums tie)
        params = [
            (np.full(n, 2**30), np.full(n, -1 if rounding == "double" else 0)),
            (
                np.array([-(2**31)] * 2 + [0, 2**30] * 5 + [2**30] * 4),
                np.array([0, 0, -31, 30, -31, 30, 1, -2, 29, -3, 0, 0, -3, 0, 5, -20]),
            ),
        ]
    out = []
    for multiplier, shift in params:
        layer = Layer(
            np.zeros((2, 1), np.int8),
            np.zeros((1, n), np.int8),
            corners.astype(np.int32),
            0,
            np.asarray(multiplier).astype(np.int32),
            np.asarray(shift).astype(np.int32),
            rounding=rounding,
        )
        layer.reference = reference_requant(layer)
        out.append(layer)
    return out


def requant_class(layer: Layer) -> dict[str, str]:
    acc = np.abs(layer.accumulators)
    return {
        "|acc|": ">= 2^24" if acc.max() >= 2**24 else "< 2^24",
        "N tile": "partial" if layer.b.shape[1] % 8 else "full",
    }


class RequantPropertyTest(KpuBaseTest):
    """One rounding mode's requantizer on the RTL vs its independent reference (models/requant_ref.py):
    directed corners, then hypothesis examples; afterwards every kpu.requant.<mode> bin must be hit."""

    rounding = "double"
    examples = 30

    async def one_layer(self, layer: Layer) -> None:
        await self.run_layers(layer)

    async def stimulus(self):
        await self.run_layers(*corner_layers(self.rounding))
        self.check()  # now: check_property clears the boards before each example
        await self.check_property(
            requant_layers(self.rounding),
            self.one_layer,
            examples=self.examples,
            describe=describe_layer,
            label=requant_class,
        )
        point = f"kpu.requant.{self.rounding}"
        holes = [h for h in coverage_holes() if h.startswith(point + "[")]
        assert not holes, f"{type(self).__name__}: bins never hit: {holes}"


def coverage_holes() -> list[str]:
    from asicdv.testbench import functional_coverage as functional

    return functional.holes(functional.bins())


@uvm.test(**SIM_LIMIT)
class RequantDoubleTest(RequantPropertyTest):
    """Double rounding (TFLite reference, gemmlowp) vs requant_ref.double_rounding: multiplier 0, INT32_MIN,
    shifts -31..30 (left shifts that wrap), ties away from zero, accumulators to the int32 extremes."""

    rounding = "double"


@uvm.test(**SIM_LIMIT)
class RequantSingleTest(RequantPropertyTest):
    """Single rounding (op_round_single) vs the CMSIS-NN port requant_ref.cmsis_nn_single_rounding (its
    published semantics outside its int32 intermediate): ties up, shifts -31..30, results beyond int32."""

    rounding = "single"


@uvm.test(**SIM_LIMIT)
class RequantFp32Test(RequantPropertyTest):
    """fp32 requantization (op_round_fp32) vs requant_ref.xnnpack_fp32 (XNNPACK's scalar order, exact
    rational binary32 arithmetic): zero / subnormal / real-model / large / negative scales, ties to even,
    accumulators above 2^24 (int32 -> binary32 rounds), products saturating or below 1/2."""

    rounding = "fp32"
