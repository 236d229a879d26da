"""The KPU's three requantization modes in models/kpu.py against the independent references of
models/requant_ref.py, and those references against the definitions they port (no simulator)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import kpu, requant_ref, tflite_net

INT32 = st.one_of(
    st.sampled_from([-(2**31), 2**31 - 1, 0, 1, -1, 2**24 + 1, -(2**24) - 1]), st.integers(-(2**31), 2**31 - 1)
)
SHIFT = st.one_of(st.sampled_from([-31, 30, 0, -1]), st.integers(-31, 30))
SCALE = st.one_of(
    st.sampled_from([0.0, -0.0, 0.5, 0.25, 2.0**-149, 2.0**-126, 1e-40, 3.0, 2.0**100]),
    st.floats(2.0**-20, 2.0**-3, width=32),
    st.floats(-(2.0**30), 2.0**30, width=32),
)
INT8 = st.integers(-128, 127)


# ---------------------------------------------------------------------------- fp32


@settings(max_examples=1000, deadline=None)
@given(acc=INT32, scale=SCALE, zp=INT8, bounds=st.lists(INT8, min_size=2, max_size=2))
def test_fp32_model_matches_the_xnnpack_port(acc, scale, zp, bounds):
    lo, hi = sorted(bounds)
    bits = int(kpu.fp32_bits(np.float32(scale)))
    got = kpu.requantize(np.array([acc]), np.array([bits]), 0, output_zp=zp, act_min=lo, act_max=hi, rounding="fp32")
    assert int(got[0]) == requant_ref.xnnpack_fp32(acc, bits, zp, lo, hi)


@pytest.mark.parametrize(
    "acc, scale, want",
    [
        (7, 0.5, 4),  # 3.5: ties to even
        (5, 0.5, 2),  # 2.5
        (-5, 0.5, -2),
        (-7, 0.5, -4),
        (16777217, 2.0**-18, 64),  # int32 -> binary32 rounds 2^24 + 1 to 2^24 (even): 64.0
        (16908289, 2.0**-18, 64),  # 129 * 2^17 + 1 rounds (to even) to 129 * 2^17: 64.5 -> 64
        (23, 2.8043479919433594, 64),  # exactly 64.5 + 2^-18: the product rounds to 64.5, then to 64
        (2**31 - 1, 2.0**-100, 0),
        (1000, 0.0, 0),
        (-3, 1000.0, -128),
    ],
)
def test_fp32_double_roundings(acc, scale, want):
    """Hand-worked cases of XNNPACK's three roundings (int -> float, the product, float -> int)."""
    bits = int(kpu.fp32_bits(np.float32(scale)))
    assert requant_ref.xnnpack_fp32(acc, bits, 0, -128, 127) == want
    assert int(kpu.requantize(np.array([acc]), np.array([bits]), 0, rounding="fp32")[0]) == want


@settings(max_examples=1000, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_binary32_emulation_matches_the_hardware_conversion(value):
    """requant_ref rounds exact rationals to binary32 as IEEE does (numpy's float64 -> float32 is RNE)."""
    with np.errstate(over="ignore"):
        hardware = float(np.float32(value))
    emulated = requant_ref.round_to_binary32(Fraction(value))
    assert emulated == hardware, (value, emulated, hardware)


def test_fp32_refuses_non_finite_scales_and_other_modes_refuse_fp32():
    nan_bits = int(np.array(np.nan, np.float32).view(np.int32))
    with pytest.raises(ValueError, match="finite"):
        kpu.requantize(np.array([1]), np.array([nan_bits]), 0, rounding="fp32")
    with pytest.raises(ValueError, match="not a MultiplyByQuantizedMultiplier"):
        kpu.multiply_by_quantized_multiplier(1, 1 << 30, 0, rounding="fp32")
    with pytest.raises(ValueError, match="rounding must be one of double, single, fp32"):
        kpu.requantize(np.array([1]), 1 << 30, 0, rounding="half")


def test_xnnpack_scales_are_float32_left_to_right():
    """input_scale * kernel_scale / output_scale in float32, as XNNPACK's create functions (not in double)."""
    rng = np.random.default_rng(3)
    s_in, s_out = np.float32(0.0234), np.float32(0.0871)
    s_w = rng.uniform(1e-4, 1e-2, 64).astype(np.float32)
    got = tflite_net.xnnpack_scales(s_in, s_w, s_out)
    for c in range(64):
        product = requant_ref.round_to_binary32(Fraction(float(s_in)) * Fraction(float(s_w[c])))
        want = requant_ref.round_to_binary32(product / Fraction(float(s_out)))
        assert Fraction(float(got[c])) == want
    in_double = (float(s_in) * s_w.astype(np.float64) / float(s_out)).astype(np.float32)
    assert (in_double != got).any()  # the float32 order matters for some channels


def test_xnnpack_activation_range_rounds_to_even():
    # RELU6 with 6 / scale = 100.5 exactly: XNNPACK (lrintf) gives 100, TFLite (round half away) 101.
    scale = 6 / 100.5
    assert float(np.float32(6.0) / np.float32(scale)) == 100.5
    assert tflite_net.xnnpack_activation_range(3, scale, 0, "t") == (0, 100)
    assert tflite_net.activation_range(3, scale, 0, "t") == (0, 101)
    assert tflite_net.xnnpack_activation_range(0, 0.1, -5, "t") == (-128, 127)
    assert tflite_net.xnnpack_activation_range(1, 0.1, -5, "t") == (-5, 127)


# ---------------------------------------------------------------------------- single rounding


def tflite_single_rounding(x: int, multiplier: int, shift: int) -> int:
    """TFLite's TFLITE_SINGLE_ROUNDING MultiplyByQuantizedMultiplier as written in common.h (int64)."""
    total_shift = 31 - shift
    return (x * multiplier + (1 << (total_shift - 1))) >> total_shift


@settings(max_examples=1000, deadline=None)
@given(x=INT32, multiplier=st.one_of(st.just(0), st.integers(2**30, 2**31 - 1), st.integers(0, 2**31 - 1)), shift=SHIFT)
def test_cmsis_nn_port_against_the_published_semantics(x, multiplier, shift):
    exact = requant_ref.single_rounding_exact(x, multiplier, shift)
    model = int(kpu.multiply_by_quantized_multiplier(x, multiplier, shift, rounding="single"))
    assert model == exact  # models/kpu.py: the published semantics, saturated outside int32
    if requant_ref.single_rounding_in_domain(x, multiplier, shift):
        assert tflite_single_rounding(x, multiplier, shift) == exact
    if requant_ref.cmsis_nn_in_domain(x, multiplier, shift):
        assert requant_ref.cmsis_nn_single_rounding(x, multiplier, shift) == exact


@pytest.mark.parametrize(
    "x, multiplier, shift, want",
    [
        (3, 1 << 30, 0, 2),  # 1.5 rounds up
        (-3, 1 << 30, 0, -1),  # -1.5 rounds up (towards +inf), unlike gemmlowp's -2
        (5, 1 << 30, -1, 1),  # 1.25
        (-6, 1 << 30, -1, -1),  # -1.5 -> -1
        (100, 0, 7, 0),  # multiplier 0
        (1, (1 << 31) - 1, 30, 2**30),  # (2^31 - 1) / 2 = 2^30 - 1/2: half up
    ],
)
def test_single_rounding_hand_cases(x, multiplier, shift, want):
    assert requant_ref.single_rounding_exact(x, multiplier, shift) == want
    assert int(kpu.multiply_by_quantized_multiplier(x, multiplier, shift, rounding="single")) == want


def test_cmsis_nn_narrowing_wraps_outside_its_domain():
    """CMSIS-NN narrows the once-shifted product to int32: outside that, its result is not the exact one."""
    x, m, s = -389986740, 1382612245, 3
    assert not requant_ref.cmsis_nn_in_domain(x, m, s) and requant_ref.single_rounding_in_domain(x, m, s)
    assert requant_ref.cmsis_nn_single_rounding(x, m, s) != requant_ref.single_rounding_exact(x, m, s)


# ---------------------------------------------------------------------------- double rounding


@settings(max_examples=1000, deadline=None)
@given(x=INT32, multiplier=st.integers(-(2**31), 2**31 - 1), shift=SHIFT)
def test_double_rounding_model_matches_the_gemmlowp_port(x, multiplier, shift):
    model = int(kpu.multiply_by_quantized_multiplier(x, multiplier, shift, rounding="double"))
    assert model == requant_ref.double_rounding(x, multiplier, shift)
