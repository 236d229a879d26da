"""Independent per-element references for the KPU's three requantization modes (Python ints and Fractions).

Each is a port of one published definition, written apart from `models/kpu.py` (numpy) so that a test can
compare the two, and the RTL with either:

- `double_rounding`: gemmlowp's SaturatingRoundingDoublingHighMul then RoundingDivideByPOT, as TFLite's
  reference MultiplyByQuantizedMultiplier (shift > 0: `x * (1 << shift)` in int32, wrapping).
- `cmsis_nn_single_rounding`: CMSIS-NN's `arm_nn_requantize` built with CMSIS_NN_USE_SINGLE_ROUNDING
  (TFLite's TFLITE_SINGLE_ROUNDING MultiplyByQuantizedMultiplier as CMSIS-NN writes it):
      total_shift = 31 - shift
      new_val     = (int64) val * multiplier
      result      = (int32) (new_val >> (total_shift - 1))
      result      = (result + 1) >> 1
  i.e. val * multiplier / 2**total_shift rounded half up (ties towards +inf). The int32 narrowing of
  the once-shifted product wraps when that does not fit (`cmsis_nn_in_domain`: the result is then
  within about +-2**30); TFLite's own form DCHECKs only that the result fits int32. `single_rounding_exact` is the
  published semantics itself, floor(x*M / 2**(31-s) + 1/2) as a Fraction, saturated to int32 (what the
  RTL and models/kpu.py do outside the DCHECK's domain).
- `xnnpack_fp32`: XNNPACK's qs8 fp32 requantization in the order of its scalar "fmagic" kernels
  (qs8-qc8w-gemm ...-minmax-fp32-scalar-fmagic): vfpacc = (float) acc; vfpacc *= scale; clamp to
  [output_min - zp, output_max - zp] in float; + magic bias 12582912.0f (round to nearest even);
  - (magic bias bits - zp). Float arithmetic is emulated exactly: every binary32 result is the exact
  rational rounded to 24 significant bits, ties to even, with binary32's exponent range (subnormals,
  overflow to infinity) — no float hardware involved.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
F32_MANTISSA = 24  # significant bits of binary32
F32_MIN_EXP = -126  # smallest normal exponent
F32_MAX = (2 - Fraction(1, 2**23)) * 2**127


def _wrap32(x: int) -> int:
    return ((x + 2**31) & 0xFFFFFFFF) - 2**31


# ---------------------------------------------------------------------------- double rounding (gemmlowp)


def double_rounding(x: int, multiplier: int, shift: int) -> int:
    """TFLite reference MultiplyByQuantizedMultiplier: gemmlowp SRDHM then RoundingDivideByPOT."""
    left, right = max(shift, 0), max(-shift, 0)
    a = _wrap32(x * (1 << left))
    if a == INT32_MIN and multiplier == INT32_MIN:
        high = INT32_MAX
    else:
        ab = a * multiplier
        nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
        t = ab + nudge
        high = t // (1 << 31) if t >= 0 else -((-t) // (1 << 31))  # C division truncates
    if right == 0:
        return high
    exact = Fraction(high, 1 << right)  # round half away from zero
    return math.floor(exact + Fraction(1, 2)) if exact >= 0 else -math.floor(-exact + Fraction(1, 2))


# ---------------------------------------------------------------------------- single rounding (CMSIS-NN)


def cmsis_nn_single_rounding(val: int, multiplier: int, shift: int) -> int:
    """CMSIS-NN arm_nn_requantize, CMSIS_NN_USE_SINGLE_ROUNDING branch, with C's int32 narrowing (wraps)."""
    total_shift = 31 - shift
    new_val = val * multiplier  # int64: |val * multiplier| <= 2**62
    result = _wrap32(new_val >> (total_shift - 1))  # arithmetic shift, then the int32 narrowing
    return _wrap32(result + 1) >> 1


def cmsis_nn_in_domain(val: int, multiplier: int, shift: int) -> bool:
    """Whether CMSIS-NN's int32 intermediate (and its + 1) fits, so `cmsis_nn_single_rounding` is exact."""
    return INT32_MIN <= (val * multiplier) >> (30 - shift) < INT32_MAX


def single_rounding_exact(x: int, multiplier: int, shift: int) -> int:
    """The published semantics of TFLITE_SINGLE_ROUNDING: x * M * 2**(shift - 31), rounded half up, as an
    exact rational; saturated to int32 where TFLite's DCHECK would fire."""
    exact = Fraction(x * multiplier, 1 << (31 - shift))
    return min(max(math.floor(exact + Fraction(1, 2)), INT32_MIN), INT32_MAX)


def single_rounding_in_domain(x: int, multiplier: int, shift: int) -> bool:
    """Whether the exact single-rounding result fits int32 (TFLite's DCHECK holds)."""
    exact = Fraction(x * multiplier, 1 << (31 - shift))
    return INT32_MIN <= math.floor(exact + Fraction(1, 2)) <= INT32_MAX


# ---------------------------------------------------------------------------- fp32 (XNNPACK)


def round_to_binary32(value: Fraction) -> Fraction | float:
    """The binary32 nearest to an exact rational (ties to even), subnormals included; +-inf on overflow
    (returned as a float infinity)."""
    if value == 0:
        return Fraction(0)
    sign = -1 if value < 0 else 1
    mag = abs(value)
    exponent = mag.numerator.bit_length() - mag.denominator.bit_length()  # 2**exponent <= mag < 2**(exponent+2)
    if Fraction(2) ** exponent > mag:
        exponent -= 1
    quantum_exp = max(exponent, F32_MIN_EXP) - (F32_MANTISSA - 1)
    quantum = Fraction(2) ** quantum_exp
    steps = mag / quantum
    rounded = math.floor(steps)
    rest = steps - rounded
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and rounded % 2 == 1):
        rounded += 1
    result = rounded * quantum
    if result > F32_MAX:
        return sign * math.inf
    return sign * result


def binary32_value(bits: int) -> Fraction | float:
    """The value of an IEEE-754 binary32 bit pattern (int32 or uint32), exactly; infinities as floats."""
    (value,) = struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))
    if math.isnan(value):
        raise ValueError(f"0x{bits & 0xFFFFFFFF:08x} is a NaN")
    return value if math.isinf(value) else Fraction(value)


def _f32_mul(a, b):
    if isinstance(a, float) or isinstance(b, float):  # an infinity
        product = float(a) * float(b)
        if math.isnan(product):
            raise ValueError("inf * 0 in the fp32 requantization")
        return product
    return round_to_binary32(a * b)


def xnnpack_fp32(acc: int, scale_bits: int, output_zp: int, output_min: int, output_max: int) -> int:
    """XNNPACK qs8 fp32 requantization of one accumulator, scalar fmagic order, exact emulation."""
    vfpacc = round_to_binary32(Fraction(acc))  # (float) vacc: round to nearest even
    vfpacc = _f32_mul(vfpacc, binary32_value(scale_bits))  # vfpacc *= vscale
    lo, hi = Fraction(output_min - output_zp), Fraction(output_max - output_zp)
    vfpacc = max(vfpacc, lo)  # math_max_f32(vfpacc, voutput_min_less_zero_point)
    vfpacc = min(vfpacc, hi)  # math_min_f32(vfpacc, voutput_max_less_zero_point)
    # vfpacc += 12582912.0f: |vfpacc| <= 255, so the sum lies in [2**23, 2**24), where binary32's spacing is
    # 1: the float add rounds vfpacc to an integer, ties to even; the bits minus the magic bias's bits
    # are that integer.
    magic = Fraction(12582912)
    biased = round_to_binary32(Fraction(vfpacc) + magic)
    return int(biased - magic) + output_zp
