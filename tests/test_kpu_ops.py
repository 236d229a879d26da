"""The network ops of models/kpu.py against independent formulations (no simulator, no interpreter).

References here are Python ints / Fractions / nested loops, written from the TFLite definitions, not from
the model's numpy code: single rounding, QuantizeMultiplier, conv2d with any kernel/stride/dilation,
depthwise conv, fully connected, ADD, AVERAGE_POOL_2D, QUANTIZE/DEQUANTIZE, SOFTMAX (float, within one step).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from models import kpu

I32_MIN, I32_MAX = -(2**31), 2**31 - 1
int32s = st.one_of(st.sampled_from([I32_MIN, I32_MIN + 1, -1, 0, 1, I32_MAX]), st.integers(I32_MIN, I32_MAX))
multipliers = st.one_of(st.just(0), st.integers(2**30, 2**31 - 1))
shifts = st.integers(kpu.SHIFT_MIN, kpu.SHIFT_MAX)
fast = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
medium = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def floor_half_up(f: Fraction) -> int:
    """Round to nearest, exact ties towards +inf."""
    return math.floor(f + Fraction(1, 2))


def half_away(f: Fraction) -> int:
    r = math.floor(abs(f) + Fraction(1, 2))
    return r if f >= 0 else -r


# ---------------------------------------------------------------- single rounding, QuantizeMultiplier


def ref_single(x: int, m: int, s: int) -> int:
    """x * m * 2**(s - 31) rounded to nearest, ties up, saturated to int32."""
    return min(max(floor_half_up(Fraction(x * m) * Fraction(2) ** (s - 31)), I32_MIN), I32_MAX)


@fast
@given(int32s, multipliers, shifts)
@example(-3, 1 << 30, -1)  # -0.75 -> -1
@example(-1 << 31, 1 << 30, -31)
@example(I32_MAX, I32_MAX, 30)  # saturates
def test_single_rounding_matches_fractions(x, m, s):
    assert int(kpu.multiply_by_quantized_multiplier(x, m, s, rounding="single")) == ref_single(x, m, s)


def test_single_rounding_ties_go_up_for_negatives_too():
    f = kpu.multiply_by_quantized_multiplier
    # x * 2**30 * 2**-32 = x / 4: +-2/4 = +-0.5 is an exact tie
    assert int(f(2, 1 << 30, -1, rounding="single")) == 1 and int(f(-2, 1 << 30, -1, rounding="single")) == 0
    assert int(f(-2, 1 << 30, -1, rounding="double")) == -1  # gemmlowp: ties away from zero


@fast
@given(st.integers(-(2**24), 2**24), multipliers, st.integers(-31, 0))
def test_single_and_double_rounding_differ_by_at_most_one(x, m, s):
    single = int(kpu.multiply_by_quantized_multiplier(x, m, s, rounding="single"))
    double = int(kpu.multiply_by_quantized_multiplier(x, m, s, rounding="double"))
    assert abs(single - double) <= 1
    exact = Fraction(x * m) * Fraction(2) ** (s - 31)
    assert abs(single - exact) <= Fraction(1, 2)  # single rounding is always the nearest


def test_rounding_must_be_named():
    with pytest.raises(ValueError, match="rounding must be one of double, single, fp32"):
        kpu.multiply_by_quantized_multiplier(1, 1 << 30, 0, rounding="nearest")


@fast
@given(st.floats(min_value=1e-12, max_value=2.0**29, allow_nan=False, allow_infinity=False))
def test_quantize_multiplier_is_the_nearest_q31(real):
    m, s = kpu.quantize_multiplier(real)
    if m == 0:
        assert real < 2.0**-32
        return
    assert 2**30 <= m < 2**31
    exact = Fraction(real) * Fraction(2) ** (31 - s)  # the ideal multiplier for this shift
    assert abs(m - exact) <= Fraction(1, 2)


def test_quantize_multiplier_corner_cases():
    # A tie: q * 2**31 = 2**30 + 0.5 exactly. TfLiteRound goes away from zero (Python's round() would go to even).
    assert kpu.quantize_multiplier(0.5 + 2.0**-32) == (2**30 + 1, 0)
    assert kpu.quantize_multiplier(1.0 - 2.0**-40) == (2**30, 1)  # q rounds to 2**31: halved, shift + 1
    assert kpu.quantize_multiplier(2.0**-40) == (0, 0)  # shift < -31 flushes to zero
    assert kpu.quantize_multiplier(2.0**-32) == (2**30, -31)
    assert kpu.quantize_multiplier(0.0) == (0, 0)


# ---------------------------------------------------------------- conv2d / depthwise / fc


def ref_conv(inp, weights, stride, dilation, padding, bias, zp, depthwise=False):
    """Nested loops in Python ints; TFLite padding from scratch; raw int32 accumulators."""
    h, w, cin = inp.shape
    _, kh, kw, _ = weights.shape
    (sh, sw), (dh, dw) = stride, dilation
    ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        pt, pl = max((oh - 1) * sh + ekh - h, 0) // 2, max((ow - 1) * sw + ekw - w, 0) // 2
    else:
        oh, ow, pt, pl = (h - ekh) // sh + 1, (w - ekw) // sw + 1, 0, 0
    cout = cin if depthwise else weights.shape[0]
    out = np.zeros((oh, ow, cout), dtype=np.int64)
    for oy, ox, co in itertools.product(range(oh), range(ow), range(cout)):
        total = int(bias[co])
        for ky, kx in itertools.product(range(kh), range(kw)):
            y, x = oy * sh + ky * dh - pt, ox * sw + kx * dw - pl
            if not (0 <= y < h and 0 <= x < w):
                continue
            if depthwise:
                total += (int(inp[y, x, co]) - zp) * int(weights[0, ky, kx, co])
            else:
                total += sum((int(inp[y, x, ci]) - zp) * int(weights[co, ky, kx, ci]) for ci in range(cin))
        out[oy, ox, co] = total
    return out


conv_cases = st.fixed_dictionaries(
    {
        "h": st.integers(1, 9),
        "w": st.integers(1, 9),
        "cin": st.integers(1, 4),
        "cout": st.integers(1, 4),
        "kh": st.integers(1, 5),
        "kw": st.integers(1, 5),
        "stride": st.tuples(st.integers(1, 4), st.integers(1, 4)),
        "dilation": st.tuples(st.integers(1, 2), st.integers(1, 2)),
        "padding": st.sampled_from(["same", "valid"]),
        "zp": st.integers(-128, 127),
        "seed": st.integers(0, 2**32 - 1),
    }
)


def _conv_case(case, depthwise=False):
    rng = np.random.default_rng(case["seed"])
    cout = case["cin"] if depthwise else case["cout"]
    eff_h, eff_w = (case["kh"] - 1) * case["dilation"][0] + 1, (case["kw"] - 1) * case["dilation"][1] + 1
    h, w = case["h"], case["w"]
    if case["padding"] == "valid":
        h, w = max(h, eff_h), max(w, eff_w)
    inp = rng.integers(-128, 128, (h, w, case["cin"])).astype(np.int8)
    shape = (1, case["kh"], case["kw"], cout) if depthwise else (cout, case["kh"], case["kw"], case["cin"])
    weights = rng.integers(-128, 128, shape).astype(np.int8)
    bias = rng.integers(-(2**20), 2**20, cout).astype(np.int32)
    return inp, weights, bias


@medium
@given(conv_cases)
def test_conv2d_any_kernel_stride_dilation_matches_loops(case):
    inp, weights, bias = _conv_case(case)
    geometry = {"stride": case["stride"], "dilation": case["dilation"], "padding": case["padding"]}
    want = ref_conv(inp, weights, case["stride"], case["dilation"], case["padding"], bias, case["zp"])
    got = kpu.conv2d(inp, weights, bias=bias, input_zp=case["zp"], **geometry)
    np.testing.assert_array_equal(got, want)
    # the lowering the array runs: im2col + gemm
    a, (oh, ow) = kpu.im2col(inp, case["kh"], case["kw"], input_zp=case["zp"], **geometry)
    lowered = kpu.gemm(a, kpu.conv_weights_as_gemm(weights), bias=bias, input_zp=case["zp"])
    np.testing.assert_array_equal(lowered.reshape(oh, ow, -1), want)


@medium
@given(conv_cases, st.sampled_from(["double", "single"]))
def test_depthwise_conv2d_matches_loops_and_its_lowering(case, rounding):
    inp, weights, bias = _conv_case(case, depthwise=True)
    c = inp.shape[2]
    geometry = {"stride": case["stride"], "dilation": case["dilation"], "padding": case["padding"]}
    want = ref_conv(inp, weights, case["stride"], case["dilation"], case["padding"], bias, case["zp"], depthwise=True)
    np.testing.assert_array_equal(kpu.depthwise_conv2d(inp, weights, bias=bias, input_zp=case["zp"], **geometry), want)
    patches, (oh, ow) = kpu.depthwise_patches(inp, case["kh"], case["kw"], input_zp=case["zp"], **geometry)
    taps = kpu.depthwise_weights_as_taps(weights)
    acc = ((patches.astype(np.int64) - case["zp"]) * taps).sum(axis=1) + bias
    np.testing.assert_array_equal(acc.reshape(oh, ow, c), want)
    # requantized: per channel, as requantize of the reference accumulators
    rng = np.random.default_rng(case["seed"])
    m, s = rng.integers(2**30, 2**31, c), rng.integers(-12, 2, c)
    got = kpu.depthwise_conv2d(
        inp, weights, bias=bias, input_zp=case["zp"], multiplier=m, shift=s, output_zp=3, rounding=rounding, **geometry
    )
    expect = [
        [
            [
                min(max(ref_single(int(v), int(m[k]), int(s[k])) + 3, -128), 127) if rounding == "single" else None
                for k, v in enumerate(px)
            ]
            for px in row
        ]
        for row in want
    ]
    if rounding == "single":
        np.testing.assert_array_equal(got, np.array(expect, dtype=np.int64).reshape(got.shape))
    else:
        np.testing.assert_array_equal(got, kpu.requantize(want, m, s, output_zp=3))


def test_depthwise_refuses_depth_multiplier_above_one():
    with pytest.raises(ValueError, match="depth multiplier 1"):
        kpu.depthwise_conv2d(np.zeros((3, 3, 2), np.int8), np.zeros((2, 3, 3, 2), np.int8))


@medium
@given(st.integers(1, 3), st.integers(1, 40), st.integers(1, 9), st.integers(-128, 127), st.integers(0, 2**32 - 1))
def test_fully_connected_matches_loops(batch, k, n, zp, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (batch, k)).astype(np.int8)
    w = rng.integers(-128, 128, (n, k)).astype(np.int8)
    bias = rng.integers(-5000, 5000, n).astype(np.int32)
    want = [
        [int(bias[j]) + sum((int(x[b, i]) - zp) * int(w[j, i]) for i in range(k)) for j in range(n)]
        for b in range(batch)
    ]
    np.testing.assert_array_equal(kpu.fully_connected(x, w, bias=bias, input_zp=zp), want)


# ---------------------------------------------------------------- host ops


def ref_add(a: int, b: int, za: int, zb: int, zo: int, p: dict, lo: int, hi: int) -> int:
    """TFLite reference AddFunc in Python ints with Fraction rounding (double rounding per MBQM)."""

    def mbqm(x: int, m: int, s: int) -> int:  # s <= 0 here: SRDHM then RoundingDivideByPOT
        high = (2 * x * m + 2**31) >> 32 if not (x == m == I32_MIN) else I32_MAX
        return half_away(Fraction(high, 2**-s))

    s1 = mbqm((a - za) << p["left_shift"], p["input1_multiplier"], p["input1_shift"])
    s2 = mbqm((b - zb) << p["left_shift"], p["input2_multiplier"], p["input2_shift"])
    return min(max(mbqm(s1 + s2, p["output_multiplier"], p["output_shift"]) + zo, lo), hi)


add_scales = st.floats(1e-3, 1.0).map(lambda f: float(np.float32(f)))


@medium
@given(
    add_scales,
    add_scales,
    add_scales,
    st.integers(-128, 127),
    st.integers(-128, 127),
    st.integers(-128, 127),
    st.integers(0, 2**32 - 1),
)
def test_add_matches_python_ints_and_the_real_sum(s1, s2, so, z1, z2, zo, seed):
    if max(s1, s2) / so > 2**10:  # TFLite needs the output multiplier < 1
        return
    rng = np.random.default_rng(seed)
    a, b = (rng.integers(-128, 128, 64).astype(np.int8) for _ in range(2))
    p = kpu.add_quant_params(s1, s2, so)
    got = kpu.add(a, b, input1_zp=z1, input2_zp=z2, output_zp=zo, params=p, act_min=-128, act_max=127)
    want = [ref_add(int(x), int(y), z1, z2, zo, p, -128, 127) for x, y in zip(a, b, strict=True)]
    np.testing.assert_array_equal(got, want)
    real = (s1 * (a.astype(np.float64) - z1) + s2 * (b.astype(np.float64) - z2)) / so + zo
    inside = (real > -128) & (real < 127)
    assert np.all(np.abs(got[inside] - real[inside]) <= 0.5 + 1e-3)  # the nearest step, up to 2**-20 rescale error


@medium
@given(
    st.integers(1, 9),
    st.integers(1, 9),
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 3),
    st.sampled_from(["same", "valid"]),
    st.integers(0, 2**32 - 1),
)
def test_average_pool_matches_loops_with_half_away_rounding(h, w, c, fh, fw, stride, padding, seed):
    h, w = (max(h, fh), max(w, fw)) if padding == "valid" else (h, w)
    x = np.random.default_rng(seed).integers(-128, 128, (h, w, c)).astype(np.int8)
    got = kpu.average_pool2d(x, (fh, fw), stride=stride, padding=padding)
    oh, ow = got.shape[:2]
    pt = max((oh - 1) * stride + fh - h, 0) // 2 if padding == "same" else 0
    pl = max((ow - 1) * stride + fw - w, 0) // 2 if padding == "same" else 0
    for oy, ox, ch in itertools.product(range(oh), range(ow), range(c)):
        cells = [
            int(x[y, xx, ch])
            for y in range(oy * stride - pt, oy * stride - pt + fh)
            for xx in range(ox * stride - pl, ox * stride - pl + fw)
            if 0 <= y < h and 0 <= xx < w
        ]
        assert got[oy, ox, ch] == half_away(Fraction(sum(cells), len(cells)))


@fast
@given(st.floats(-300, 300, width=32), st.floats(1e-3, 2.0).map(lambda f: float(np.float32(f))), st.integers(-128, 127))
@example(0.5, 1.0, 0)
@example(-0.5, 1.0, 0)
@example(2.5, 1.0, 0)
def test_quantize_rounds_half_away_and_dequantize_is_exact(x, scale, zp):
    q = int(kpu.quantize(np.float32(x), scale, zp))
    ratio = Fraction(float(np.float32(np.float32(x) / np.float32(scale))))  # the kernel divides in float32
    assert q == min(max(half_away(ratio) + zp, -128), 127)
    assert float(kpu.dequantize(np.int8(q), scale, zp)) == float(
        np.float32(Fraction(float(np.float32(scale))) * (q - zp))
    )


@fast
@given(
    st.lists(st.integers(-128, 127), min_size=1, max_size=16),
    st.floats(1e-3, 0.5).map(lambda f: float(np.float32(f))),
    st.sampled_from([1.0, 0.5, 2.0]),
)
def test_softmax_is_within_one_step_of_float(values, scale, beta):
    x = np.array([values], dtype=np.int8)
    got = kpu.softmax(x, beta=beta, input_scale=scale).astype(np.int64)
    z = beta * scale * (x.astype(np.float64) - x.max())
    want = np.exp(z) / np.exp(z).sum() * 256 - 128  # output scale 1/256, zero point -128
    assert np.all(np.abs(got - np.clip(want, -128, 127)) <= 1.0)
