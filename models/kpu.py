"""Golden model of the KPU int8 MAC array (rtl/kpu/), numpy int64, bit exact.

What the RTL computes for one output element (row m, column n):

    acc      = wrap32( sum_k (A[m,k] - input_zp) * B[k,n] + bias[n] )
    raw mode : result = acc                                   (int32)
    otherwise: result = clamp(MBQM(acc, multiplier[n], shift[n]) + output_zp,
                              act_min, act_max)               (int8)

MBQM is TFLite's `MultiplyByQuantizedMultiplier`; `rounding="double"` (the
default, TFLite's reference kernels) is the gemmlowp double-rounding form below,
`rounding="single"` the TFLITE_SINGLE_ROUNDING form (acc*M + 2**(30-s)) >> (31-s)
(see `multiply_by_quantized_multiplier`). `rounding="fp32"` is not an MBQM: it is
XNNPACK's requantization (what TFLite's default interpreter runs), with the
column's `multiplier` holding the IEEE-754 binary32 bit pattern of a per-channel
float scale (`fp32_bits`) and `shift` ignored:

    result = clamp(rint(float32(acc) * scale) + output_zp, act_min, act_max)

float32(acc) rounds to nearest even for |acc| > 2**24, the product is one float32
multiply (round to nearest even), rint rounds halves to even (see
`fp32_multiply_round`). Double rounding:

    left_shift  = max(shift, 0);  right_shift = max(-shift, 0)
    MBQM(x, M, s) = RoundingDivideByPOT(
                        SaturatingRoundingDoublingHighMul(x * 2**left_shift, M),
                        right_shift)

Left shift overflow: TFLite's reference code computes `x * (1 << left_shift)`
as a plain int32 multiply (and the NEON path uses the non-saturating
`vshlq_s32`), i.e. two's complement wrap-around on real targets. The model and
the RTL both implement exactly that wrap (modulo 2**32), not saturation.

No-overflow bound of the int32 accumulator:
    input_zp in [-128, 127], A int8  =>  |A - input_zp| <= 255
    B int8                           =>  |B| <= 128
    one product                      <=  255 * 128 = 32,640
    K <= 4096 products               <=  133,693,440  < 2**31 - 1
so for K <= 4096 the accumulator never wraps, and adding a bias with
|bias| <= 2**31 - 1 - 133,693,440 = 2,013,790,207 cannot wrap either. Outside
that range the RTL accumulator wraps modulo 2**32 and so does this model
(`wrap32`), so model and RTL still agree bit for bit.

Parameter ranges accepted (ValueError naming the problem otherwise):
    input_zp, output_zp, act_min, act_max in [-128, 127], act_min <= act_max
    multiplier: any int32 (TFLite produces [2**30, 2**31) or 0)
    shift in [-31, 30] (TFLite's range)

conv2d is TFLite Conv2D (NHWC, OHWI weights, per-output-channel quantization)
with one image, any KHxKW, stride 1..4, dilation 1..2; `lower_conv2d` (im2col +
`conv_weights_as_gemm`) turns it into the gemm the array runs. depthwise_conv2d
is TFLite DepthwiseConv2D with depth multiplier 1 only; `depthwise_patches` +
`depthwise_weights_as_taps` are its lowering (per PE: pixel row, channel column,
one beat per filter tap). fully_connected is TFLite FullyConnected as a gemm.

Host-side ops of int8 networks, with TFLite's reference integer semantics:
`add` (+ `add_quant_params`; rounding="single" is XNNPACK's qs8 add),
`average_pool2d`, `quantize`/`dequantize`, and a bit-exact int8 `softmax`
(gemmlowp fixed-point exp / reciprocal, as reference_ops::Softmax).

Max-pool (the RTL's op_pool): `conv2d(..., pool=True)` applies TFLite MaxPool
2x2 stride 2 VALID (`maxpool2x2`) to the requantized (or raw int32) result.
On the array the driver orders the im2col rows with `pool_order(OH, OW)` so
that every 4 consecutive GEMM rows are one pooling window; the array then
outputs the lane-wise max of each group of 4 rows (`maxpool_rows`).
"""

from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
INT8_MIN = -128
INT8_MAX = 127
SHIFT_MIN = -31
SHIFT_MAX = 30

# |A - zp| * |B| * K_SAFE stays below 2**31 (see module docstring).
K_SAFE = 4096
ACC_BOUND = 255 * 128 * K_SAFE  # 133,693,440


# --------------------------------------------------------------------------
# helpers


def wrap32(x) -> np.ndarray:
    """Two's complement wrap of int64 values to int32 range (kept as int64)."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + 2**31) & 0xFFFFFFFF) - 2**31


def _as_int64(name: str, x, lo: int, hi: int) -> np.ndarray:
    """Integer array-like -> int64 array, checking every element is in [lo, hi]."""
    arr = np.asarray(x)
    if arr.dtype == object:
        try:
            arr = arr.astype(np.int64)
        except (OverflowError, TypeError, ValueError):
            raise ValueError(f"{name} must hold integers in [{lo}, {hi}]") from None
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > hi:
        raise ValueError(f"{name} out of range [{lo}, {hi}]: max {int(arr.max())}")
    arr = arr.astype(np.int64)
    if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
        bad = arr[(arr < lo) | (arr > hi)].ravel()[0]
        raise ValueError(f"{name} out of range [{lo}, {hi}]: {int(bad)}")
    return arr


def _scalar(name: str, x, lo: int, hi: int) -> int:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {type(x).__name__}")
    if not lo <= int(x) <= hi:
        raise ValueError(f"{name} out of range [{lo}, {hi}]: {int(x)}")
    return int(x)


def _check_array(name: str, x, dtype, ndim: int) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a numpy array of {np.dtype(dtype).name}, got {type(x).__name__}")
    if x.dtype != dtype:
        raise ValueError(f"{name} must have dtype {np.dtype(dtype).name}, got {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {x.shape}")
    return x


def _per_channel(name: str, x, n: int, lo: int, hi: int) -> np.ndarray:
    """Scalar or shape (n,) integer array -> int64 array of shape (n,)."""
    arr = _as_int64(name, x, lo, hi)
    if arr.ndim == 0:
        return np.full(n, int(arr), dtype=np.int64)
    if arr.shape != (n,):
        raise ValueError(f"{name} must be a scalar or have shape ({n},), got {arr.shape}")
    return arr


# --------------------------------------------------------------------------
# requantization primitives (gemmlowp / TFLite reference, vectorized)


def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 values.

    (a*b + nudge) / 2**31 with C truncating division, nudge = 2**30 for a
    non-negative product and 1 - 2**30 otherwise; the one overflowing case
    INT32_MIN * INT32_MIN saturates to INT32_MAX.
    """
    a = _as_int64("a", a, INT32_MIN, INT32_MAX)
    b = _as_int64("b", b, INT32_MIN, INT32_MAX)
    a, b = np.broadcast_arrays(a, b)
    ab = a * b  # |ab| <= 2**62: exact in int64
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    t = ab + nudge
    q = np.where(t >= 0, t >> 31, -((-t) >> 31))  # truncation toward zero
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    return np.where(overflow, np.int64(INT32_MAX), q).astype(np.int64)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: x / 2**exponent rounded half away from zero.

    Written in gemmlowp's mask/remainder/threshold form; exponent in [0, 31].
    """
    x = _as_int64("x", x, INT32_MIN, INT32_MAX)
    e = _as_int64("exponent", exponent, 0, 31)
    x, e = np.broadcast_arrays(x, e)
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0).astype(np.int64)
    return ((x >> e) + (remainder > threshold).astype(np.int64)).astype(np.int64)


ROUNDINGS = ("double", "single", "fp32")
INTEGER_ROUNDINGS = ("double", "single")  # the two MultiplyByQuantizedMultiplier builds (multiplier, shift)


def _check_rounding(rounding) -> str:
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {', '.join(ROUNDINGS)}, got {rounding!r}")
    return rounding


def fp32_bits(scale) -> np.ndarray:
    """float32 scales -> their IEEE-754 bit patterns as int32 values (int64 array): what the multiplier
    field carries in rounding="fp32"."""
    return np.asarray(scale, dtype=np.float32).view(np.int32).astype(np.int64)


def fp32_scales(bits) -> np.ndarray:
    """The float32 scales whose bit patterns `bits` (int32 values) hold; non-finite scales are refused."""
    b = _as_int64("multiplier (fp32 scale bits)", bits, INT32_MIN, INT32_MAX)
    scale = b.astype(np.int32).view(np.float32)
    if not np.all(np.isfinite(scale)):
        bad = int(b[~np.isfinite(scale)].ravel()[0]) & 0xFFFFFFFF
        raise ValueError(f"fp32 scale must be finite, got bit pattern 0x{bad:08x} (Inf or NaN)")
    return scale


def fp32_multiply_round(x, scale_bits) -> np.ndarray:
    """rint(float32(x) * scale) as int64, saturated to +-2**31 (XNNPACK's fp32 requantization before the
    zero point and clamp; rint and the integer clamp commute, so clamping after is exact).

    float32(x): int32 -> binary32, round to nearest even; one binary32 multiply, round to nearest even
    (numpy's IEEE arithmetic, subnormals kept); rint: halves to even."""
    x = _as_int64("x", x, INT32_MIN, INT32_MAX)
    scale = fp32_scales(scale_bits)
    with np.errstate(over="ignore"):
        product = x.astype(np.float32) * scale
    bound = np.float32(2.0**31)
    return np.rint(np.clip(product, -bound, bound)).astype(np.int64)


def multiply_by_quantized_multiplier(x, multiplier, shift, rounding: str = "double") -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier, in either of TFLite's two builds.

    rounding="double" (reference kernels, gemmlowp): shift > 0 is a left shift of
    x before the high multiply (int32 wrap, as the reference `x * (1 << left_shift)`),
    shift < 0 a rounding right shift (ties away from zero) after it.

    rounding="single" (TFLITE_SINGLE_ROUNDING, what XNNPACK / optimized kernels
    compute): (x*M + 2**(30-shift)) >> (31-shift) in int64 with an arithmetic
    (floor) shift, so exact ties round towards +inf, also for negative x; a left
    shift is folded into the total shift (no int32 wrap of x << shift). TFLite
    DCHECKs the result fits int32; here it saturates to int32, which gives the
    same int8 after the activation clamp as the exact value.

    rounding="fp32" has no (multiplier, shift) form: see `fp32_multiply_round`.
    """
    if _check_rounding(rounding) == "fp32":
        raise ValueError("rounding 'fp32' is not a MultiplyByQuantizedMultiplier: use fp32_multiply_round")
    x = _as_int64("x", x, INT32_MIN, INT32_MAX)
    m = _as_int64("multiplier", multiplier, INT32_MIN, INT32_MAX)
    s = _as_int64("shift", shift, SHIFT_MIN, SHIFT_MAX)
    x, m, s = np.broadcast_arrays(x, m, s)
    if rounding == "single":
        total = 31 - s  # 1..62
        # |x*m| <= 2**62 and the nudge <= 2**61: exact in int64.
        result = (x * m + (np.int64(1) << (total - 1))) >> total
        return np.clip(result, INT32_MIN, INT32_MAX).astype(np.int64)
    left = np.maximum(s, 0)
    right = np.maximum(-s, 0)
    shifted = wrap32(x << left)  # |x << 30| < 2**62: exact before the wrap
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, m), right)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real ~= multiplier * 2**(shift - 31).

    multiplier in [2**30, 2**31) (or 0 for real == 0). Raises ValueError when
    the shift would leave [-31, 30].
    """
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"real multiplier must be finite and >= 0, got {real}")
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)  # real = q * 2**shift, q in [0.5, 1)
    q_fixed = math.floor(q * (1 << 31) + 0.5)  # TfLiteRound: half away from zero (q > 0)
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:  # TFLite flushes tiny multipliers to zero
        return 0, 0
    if shift > SHIFT_MAX:
        raise ValueError(f"real multiplier {real} needs shift {shift} > {SHIFT_MAX}")
    return int(q_fixed), int(shift)


# --------------------------------------------------------------------------
# gemm / conv2d / depthwise / fully connected


def _requant_scalars(output_zp, act_min, act_max) -> tuple[int, int, int]:
    output_zp = _scalar("output_zp", output_zp, INT8_MIN, INT8_MAX)
    act_min = _scalar("act_min", act_min, INT8_MIN, INT8_MAX)
    act_max = _scalar("act_max", act_max, INT8_MIN, INT8_MAX)
    if act_min > act_max:
        raise ValueError(f"act_min ({act_min}) > act_max ({act_max})")
    return output_zp, act_min, act_max


def requantize(
    acc, multiplier, shift, *, output_zp=0, act_min=INT8_MIN, act_max=INT8_MAX, rounding: str = "double"
) -> np.ndarray:
    """int32 accumulators [.., N] -> int8: clamp(MBQM + output_zp, act_min, act_max).

    rounding="fp32": multiplier holds the float32 scale bits (`fp32_bits`), shift is ignored (still
    range-checked), and MBQM is `fp32_multiply_round`."""
    output_zp, act_min, act_max = _requant_scalars(output_zp, act_min, act_max)
    if _check_rounding(rounding) == "fp32":
        _as_int64("shift", shift, SHIFT_MIN, SHIFT_MAX)
        scaled = fp32_multiply_round(acc, multiplier)
    else:
        scaled = multiply_by_quantized_multiplier(acc, multiplier, shift, rounding)
    # TFLite order: max with act_min, then min with act_max; the range is int8 so
    # the final int8 saturation is implied.
    return np.minimum(np.maximum(scaled + output_zp, act_min), act_max).astype(np.int8)


def _bias64(bias, n: int) -> np.ndarray:
    if bias is None:
        return np.zeros(n, dtype=np.int64)
    _check_array("bias", bias, np.int32, 1)
    if bias.shape != (n,):
        raise ValueError(f"bias must have shape ({n},), got {bias.shape}")
    return bias.astype(np.int64)


def _finish(acc, n: int, multiplier, shift, output_zp, act_min, act_max, rounding) -> np.ndarray:
    """int64 accumulators [..., n] (bias added) -> raw int32 or requantized int8."""
    _check_rounding(rounding)
    acc = wrap32(acc)
    if multiplier is None:
        if shift is not None:
            raise ValueError("shift given without multiplier")
        # output_zp/act_* are ignored in raw mode, as the RTL ignores them.
        _requant_scalars(output_zp, act_min, act_max)
        return acc.astype(np.int32)
    if shift is None:
        raise ValueError("multiplier given without shift")
    m = _per_channel("multiplier", multiplier, n, INT32_MIN, INT32_MAX)
    s = _per_channel("shift", shift, n, SHIFT_MIN, SHIFT_MAX)
    return requantize(acc, m, s, output_zp=output_zp, act_min=act_min, act_max=act_max, rounding=rounding)


def gemm(
    a: np.ndarray,
    b: np.ndarray,
    *,
    bias=None,
    input_zp: int = 0,
    multiplier=None,
    shift=None,
    output_zp: int = 0,
    act_min: int = INT8_MIN,
    act_max: int = INT8_MAX,
    rounding: str = "double",
) -> np.ndarray:
    """(A - input_zp) @ B + bias, then requantized per output column.

    a: int8 [M, K], b: int8 [K, N], bias: int32 [N] (or None = 0).
    multiplier None -> the raw int32 accumulators (wrapped to int32 as the RTL
    does, see the module docstring); otherwise int8 [M, N] requantized with
    per-column multiplier/shift (scalars broadcast) and the given rounding.
    """
    _check_array("a", a, np.int8, 2)
    _check_array("b", b, np.int8, 2)
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"inner dimensions differ: a is {a.shape}, b is {b.shape}")
    if a.shape[1] == 0:
        raise ValueError("K must be at least 1")
    n = b.shape[1]
    input_zp = _scalar("input_zp", input_zp, INT8_MIN, INT8_MAX)
    bias64 = _bias64(bias, n)
    # Exact in int64 for any K < 2**46; the wrap models the 32-bit accumulator.
    acc = (a.astype(np.int64) - input_zp) @ b.astype(np.int64) + bias64
    return _finish(acc, n, multiplier, shift, output_zp, act_min, act_max, rounding)


def fully_connected(
    inp: np.ndarray,
    weights: np.ndarray,
    *,
    bias=None,
    input_zp: int = 0,
    multiplier=None,
    shift=None,
    output_zp: int = 0,
    act_min: int = INT8_MIN,
    act_max: int = INT8_MAX,
    rounding: str = "double",
) -> np.ndarray:
    """TFLite int8 FullyConnected: inp int8 [B, K], weights int8 [N, K] (TFLite layout) -> [B, N].

    Per-tensor (scalar) or per-channel multiplier/shift; weights zero point 0."""
    _check_array("weights", weights, np.int8, 2)
    return gemm(
        inp,
        np.ascontiguousarray(weights.T),
        bias=bias,
        input_zp=input_zp,
        multiplier=multiplier,
        shift=shift,
        output_zp=output_zp,
        act_min=act_min,
        act_max=act_max,
        rounding=rounding,
    )


def _pair(name: str, value, lo: int, hi: int) -> tuple[int, int]:
    """An int or an (h, w) pair of ints in [lo, hi]."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"{name} must be an integer or an (h, w) pair, got {value!r}")
    if not all(lo <= v <= hi for v in pair):
        raise ValueError(f"{name} must be {lo}..{hi}, got {value!r}")
    return int(pair[0]), int(pair[1])


STRIDE_MAX = 4
DILATION_MAX = 2


def conv_output_size(size: int, k: int, stride: int, padding: str, dilation: int = 1) -> tuple[int, int]:
    """TFLite output size and padding-before for one spatial axis (effective kernel (k-1)*dilation+1)."""
    eff = (k - 1) * dilation + 1
    if padding == "same":
        out = -(-size // stride)
        pad_total = max((out - 1) * stride + eff - size, 0)
        return out, pad_total // 2
    if padding == "valid":
        if size < eff:
            raise ValueError(f"'valid' padding needs input size >= kernel extent, got {size} < {eff}")
        return (size - eff) // stride + 1, 0
    raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")


def _conv_geometry(shape, kh, kw, stride, padding, dilation, stride_max: int = STRIDE_MAX):
    """Checks the arguments; returns (sh, sw), (dh, dw), (oh, pad_top), (ow, pad_left)."""
    if padding not in ("same", "valid"):
        raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
    sh, sw = _pair("stride", stride, 1, stride_max)
    dh, dw = _pair("dilation", dilation, 1, DILATION_MAX)
    if kh < 1 or kw < 1:
        raise ValueError(f"kernel must be at least 1x1, got {kh}x{kw}")
    h, w = shape[0], shape[1]
    if min(shape) == 0:
        raise ValueError(f"input has an empty dimension: shape {tuple(shape)}")
    return (sh, sw), (dh, dw), conv_output_size(h, kh, sh, padding, dh), conv_output_size(w, kw, sw, padding, dw)


def _padded(inp, fill, kh, kw, strides, dilations, rows, cols, dtype):
    """inp placed at (pad_top, pad_left) in a buffer big enough for every tap's strided slice."""
    (oh, pad_top), (ow, pad_left) = rows, cols
    h, w = inp.shape[:2]
    ph = max(pad_top + h, (oh - 1) * strides[0] + (kh - 1) * dilations[0] + 1)
    pw = max(pad_left + w, (ow - 1) * strides[1] + (kw - 1) * dilations[1] + 1)
    buf = np.full((ph, pw, inp.shape[2]), fill, dtype=dtype)
    buf[pad_top : pad_top + h, pad_left : pad_left + w] = inp
    return buf


def _tap(buf, ky, kx, strides, dilations, oh, ow):
    """The [OH, OW, C] input values that kernel tap (ky, kx) multiplies."""
    y0, x0 = ky * dilations[0], kx * dilations[1]
    return buf[y0 : y0 + strides[0] * (oh - 1) + 1 : strides[0], x0 : x0 + strides[1] * (ow - 1) + 1 : strides[1]]


def im2col(
    inp: np.ndarray,
    kh: int,
    kw: int,
    *,
    stride=1,
    padding: str = "same",
    input_zp: int = 0,
    dilation=1,
) -> tuple[np.ndarray, tuple[int, int]]:
    """Patches of an int8 [H, W, Cin] image as an int8 [OH*OW, KH*KW*Cin] matrix.

    Any KH x KW, stride 1..4 and dilation 1..2 (an int or an (h, w) pair).
    Column index is (ky*KW + kx)*Cin + ci, matching `conv_weights_as_gemm`.
    Padded positions hold input_zp so they contribute 0 once the array
    subtracts the zero point. Returns (patches, (OH, OW)).
    """
    _check_array("input", inp, np.int8, 3)
    input_zp = _scalar("input_zp", input_zp, INT8_MIN, INT8_MAX)
    strides, dilations, rows, cols = _conv_geometry(inp.shape, kh, kw, stride, padding, dilation)
    (oh, _), (ow, _) = rows, cols
    buf = _padded(inp, input_zp, kh, kw, strides, dilations, rows, cols, np.int8)
    patches = np.empty((oh, ow, kh, kw, inp.shape[2]), dtype=np.int8)
    for ky in range(kh):
        for kx in range(kw):
            patches[:, :, ky, kx, :] = _tap(buf, ky, kx, strides, dilations, oh, ow)
    return patches.reshape(oh * ow, kh * kw * inp.shape[2]), (oh, ow)


def conv_weights_as_gemm(weights: np.ndarray) -> np.ndarray:
    """int8 [Cout, KH, KW, Cin] weights as the int8 [KH*KW*Cin, Cout] B matrix."""
    _check_array("weights", weights, np.int8, 4)
    return np.ascontiguousarray(weights.reshape(weights.shape[0], -1).T)


def depthwise_patches(
    inp: np.ndarray, kh: int, kw: int, *, stride=1, padding: str = "same", input_zp: int = 0, dilation=1
) -> tuple[np.ndarray, tuple[int, int]]:
    """Depthwise lowering: int8 [OH*OW, KH*KW, C] patches (tap t = ky*KW + kx) and (OH, OW).

    Output pixel p, channel c = sum_t (patches[p, t, c] - input_zp) * W[t, c] + bias[c]
    with W = `depthwise_weights_as_taps(weights)`: per channel a dot product of
    length KH*KW, independent of the other channels (what a depthwise tile of the
    array computes with one channel per column and one output pixel per row)."""
    patches, (oh, ow) = im2col(inp, kh, kw, stride=stride, padding=padding, input_zp=input_zp, dilation=dilation)
    return patches.reshape(oh * ow, kh * kw, inp.shape[2]), (oh, ow)


def depthwise_weights_as_taps(weights: np.ndarray) -> np.ndarray:
    """int8 [1, KH, KW, C] depthwise weights as int8 [KH*KW, C] (tap-major)."""
    _check_array("weights", weights, np.int8, 4)
    if weights.shape[0] != 1:
        raise ValueError(f"depthwise weights must be [1, KH, KW, C] (depth multiplier 1), got {list(weights.shape)}")
    return np.ascontiguousarray(weights.reshape(-1, weights.shape[3]))


def maxpool2x2(x: np.ndarray) -> np.ndarray:
    """TFLite MaxPool 2x2 stride 2 VALID of [H, W, C]: [H // 2, W // 2, C], same dtype.

    An odd last row/column belongs to no full window and is dropped (floor)."""
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"maxpool2x2 needs [H, W, C], got shape {list(x.shape)}")
    oh, ow, c = x.shape[0] // 2, x.shape[1] // 2, x.shape[2]
    if oh == 0 or ow == 0:
        raise ValueError(f"2x2 max-pool needs at least 2x2 pixels, got {x.shape[0]}x{x.shape[1]}")
    return x[: 2 * oh, : 2 * ow].reshape(oh, 2, ow, 2, c).max(axis=(1, 3))


def pool_order(oh: int, ow: int) -> np.ndarray:
    """Row permutation of an [OH*OW, ...] raster-order matrix (row y*OW + x) for pooling.

    Window by window in raster order of the pooled [OH//2, OW//2] output, each
    window's 4 pixels (y, x), (y, x+1), (y+1, x), (y+1, x+1); pixels in no full
    window are left out. Returns int64 indices, 4 * (OH//2) * (OW//2) of them."""
    py, px = np.meshgrid(np.arange(oh // 2), np.arange(ow // 2), indexing="ij")
    dy, dx = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    rows = (2 * py[..., None] + dy) * ow + (2 * px[..., None] + dx)
    return rows.reshape(-1).astype(np.int64)


def maxpool_rows(x: np.ndarray) -> np.ndarray:
    """What the array's pool stage outputs: the column-wise max of each group of 4 rows."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] % 4 != 0:
        raise ValueError(f"pooled rows come in groups of 4: got shape {list(x.shape)}")
    return x.reshape(x.shape[0] // 4, 4, x.shape[1]).max(axis=1)


def conv2d(
    inp: np.ndarray,
    weights: np.ndarray,
    *,
    stride=1,
    padding: str = "same",
    bias=None,
    input_zp: int = 0,
    multiplier=None,
    shift=None,
    output_zp: int = 0,
    act_min: int = INT8_MIN,
    act_max: int = INT8_MAX,
    pool: bool = False,
    dilation=1,
    rounding: str = "double",
) -> np.ndarray:
    """TFLite int8 Conv2D of one NHWC image: returns [OH, OW, Cout].

    pool=True follows it with `maxpool2x2` (after requantization): [OH//2, OW//2, Cout].

    inp int8 [H, W, Cin], weights int8 [Cout, KH, KW, Cin], any KH x KW, stride
    1..4, dilation 1..2 (int or (h, w)). Raw int32 when multiplier is None, else
    int8 (per-channel requant), as gemm; output_zp and act_min/act_max are
    ignored in raw mode (as in the RTL).
    """
    _check_array("input", inp, np.int8, 3)
    _check_array("weights", weights, np.int8, 4)
    cout, kh, kw, cin = weights.shape
    if cin != inp.shape[2]:
        raise ValueError(f"weights have Cin={cin} but the input has {inp.shape[2]} channels")
    if cout == 0:
        raise ValueError("weights have Cout=0")
    input_zp = _scalar("input_zp", input_zp, INT8_MIN, INT8_MAX)
    strides, dilations, rows, cols = _conv_geometry(inp.shape, kh, kw, stride, padding, dilation)
    (oh, _), (ow, _) = rows, cols
    bias64 = _bias64(bias, cout)
    # Computed directly (shifted windows), not through im2col, so the tests'
    # conv2d == gemm(im2col) check compares two different formulations.
    centred = _padded(inp.astype(np.int64) - input_zp, 0, kh, kw, strides, dilations, rows, cols, np.int64)
    w64 = weights.astype(np.int64)
    acc = np.zeros((oh, ow, cout), dtype=np.int64)
    for ky in range(kh):
        for kx in range(kw):
            acc += _tap(centred, ky, kx, strides, dilations, oh, ow) @ w64[:, ky, kx, :].T
    out = _finish(acc + bias64, cout, multiplier, shift, output_zp, act_min, act_max, rounding)
    return maxpool2x2(out) if pool else out


def lower_conv2d(
    x: np.ndarray,
    weights: np.ndarray,
    *,
    stride=1,
    padding: str = "same",
    input_zp: int = 0,
    pool: bool = False,
    dilation=1,
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    """The one conv-to-GEMM lowering (tests, CLI, bench, network runner): im2col rows (in
    `pool_order` when pooled, so each 4 rows are one 2x2 window) and the weights as [K, Cout].
    Returns (a [M, K], b [K, Cout], (OH, OW, Cout)) of the convolution before pooling."""
    weights = np.asarray(weights)
    if weights.ndim != 4:
        raise ValueError(f"weights must be int8 [Cout, KH, KW, Cin], got shape {list(weights.shape)}")
    a, (oh, ow) = im2col(
        x, weights.shape[1], weights.shape[2], stride=stride, padding=padding, input_zp=input_zp, dilation=dilation
    )
    if pool:
        a = a[pool_order(oh, ow)]
    return a, conv_weights_as_gemm(weights), (oh, ow, weights.shape[0])


def depthwise_conv2d(
    inp: np.ndarray,
    weights: np.ndarray,
    *,
    stride=1,
    padding: str = "same",
    dilation=1,
    bias=None,
    input_zp: int = 0,
    multiplier=None,
    shift=None,
    output_zp: int = 0,
    act_min: int = INT8_MIN,
    act_max: int = INT8_MAX,
    rounding: str = "double",
) -> np.ndarray:
    """TFLite int8 DepthwiseConv2D of one NHWC image, depth multiplier 1 only: [OH, OW, C].

    inp int8 [H, W, C], weights int8 [1, KH, KW, C], bias int32 [C]; each output
    channel c convolves input channel c only. Raw int32 when multiplier is None,
    else int8 with per-channel multiplier/shift, as conv2d.
    """
    _check_array("input", inp, np.int8, 3)
    taps = depthwise_weights_as_taps(weights)
    _, kh, kw, c = weights.shape
    if c != inp.shape[2]:
        raise ValueError(f"depthwise weights have C={c} but the input has {inp.shape[2]} channels")
    input_zp = _scalar("input_zp", input_zp, INT8_MIN, INT8_MAX)
    strides, dilations, rows, cols = _conv_geometry(inp.shape, kh, kw, stride, padding, dilation)
    (oh, _), (ow, _) = rows, cols
    bias64 = _bias64(bias, c)
    centred = _padded(inp.astype(np.int64) - input_zp, 0, kh, kw, strides, dilations, rows, cols, np.int64)
    acc = np.zeros((oh, ow, c), dtype=np.int64)
    for ky in range(kh):
        for kx in range(kw):
            acc += _tap(centred, ky, kx, strides, dilations, oh, ow) * taps[ky * kw + kx].astype(np.int64)
    return _finish(acc + bias64, c, multiplier, shift, output_zp, act_min, act_max, rounding)


# --------------------------------------------------------------------------
# host-side ops of TFLite int8 networks (reference kernel integer semantics)


def _srdhm(a, b) -> np.ndarray:
    return saturating_rounding_doubling_high_mul(a, b)


def _rdbpot(x, e) -> np.ndarray:
    return rounding_divide_by_pot(x, e)


def add_quant_params(input1_scale: float, input2_scale: float, output_scale: float) -> dict:
    """TFLite add.cc Prepare for int8: left_shift 20 and three (multiplier, shift) pairs.

    Scales are float32 as stored in the model; the arithmetic follows add.cc
    (max of the two float scales, doubled in double; (1 << 20) * output_scale in float)."""
    s1, s2, so = np.float32(input1_scale), np.float32(input2_scale), np.float32(output_scale)
    left_shift = 20
    twice_max = 2 * float(max(s1, s2))
    params = {"left_shift": left_shift}
    for name, real in (
        ("input1", float(s1) / twice_max),
        ("input2", float(s2) / twice_max),
        ("output", twice_max / float(np.float32((1 << left_shift) * so))),
    ):
        params[f"{name}_multiplier"], params[f"{name}_shift"] = quantize_multiplier(real)
    params["single"] = _add_single_rounding_params(s1 / so, s2 / so)
    return params


def _add_single_rounding_params(a_output_scale: np.float32, b_output_scale: np.float32) -> dict | None:
    """XNNPACK's qs8 add parameters (what the default TFLite interpreter runs; one rounding).

    Both float32 scale ratios become integer multipliers of about 21 bits sharing one right
    shift, chosen from the larger ratio's float exponent: shift = 20 - exponent."""
    a, b = np.float32(a_output_scale), np.float32(b_output_scale)
    exponent = int(np.array(max(a, b), np.float32).view(np.uint32) >> 23) - 127
    shift = 20 - exponent
    if not 12 <= shift <= 30:  # XNNPACK refuses such an ADD (TFLite then runs its own kernel)
        return None

    def multiplier(ratio: np.float32) -> int:  # ratio * 2**shift, by adding to the float exponent, then lrintf
        bits = np.array(ratio, np.float32).view(np.uint32) + np.uint32(shift << 23)
        return int(np.rint(bits.view(np.float32)))

    return {"a_multiplier": multiplier(a), "b_multiplier": multiplier(b), "shift": shift}


def add(
    x1,
    x2,
    *,
    input1_zp: int,
    input2_zp: int,
    output_zp: int,
    params: dict,
    act_min: int = INT8_MIN,
    act_max: int = INT8_MAX,
    rounding: str = "double",
) -> np.ndarray:
    """TFLite int8 ADD, numpy broadcasting; params from `add_quant_params`.

    rounding="double" (reference_integer_ops::AddFunc): each input (x - zp) << 20,
    rescaled to the common scale; the sum rescaled to the output scale (three
    double-rounding MBQMs), plus output_zp, clamped. rounding="single": XNNPACK's
    qs8 add (the default interpreter): (x1 - zp1) * m1 + (x2 - zp2) * m2 with ~21-bit
    multipliers, one rounding arithmetic shift, plus output_zp, clamped."""
    if _check_rounding(rounding) == "fp32":
        raise ValueError("ADD has no fp32 requantization (XNNPACK's qs8 add is rounding='single')")
    if rounding == "single":  # XNNPACK: both inputs scaled into one int32 sum, one rounding shift (ties up)
        p = params["single"]
        if p is None:
            raise ValueError("ADD scale ratios outside XNNPACK's range [2**-10, 2**8): no single-rounding add")
        acc = (
            (np.asarray(x1, np.int64) - input1_zp) * p["a_multiplier"]
            + (np.asarray(x2, np.int64) - input2_zp) * p["b_multiplier"]
            + (1 << (p["shift"] - 1))
        )
        return np.clip((acc >> p["shift"]) + output_zp, act_min, act_max).astype(np.int8)
    ls = params["left_shift"]
    v1 = (np.asarray(x1, np.int64) - input1_zp) << ls
    v2 = (np.asarray(x2, np.int64) - input2_zp) << ls
    s1 = multiply_by_quantized_multiplier(v1, params["input1_multiplier"], params["input1_shift"], rounding)
    s2 = multiply_by_quantized_multiplier(v2, params["input2_multiplier"], params["input2_shift"], rounding)
    raw = (
        multiply_by_quantized_multiplier(wrap32(s1 + s2), params["output_multiplier"], params["output_shift"], rounding)
        + output_zp
    )
    return np.clip(raw, act_min, act_max).astype(np.int8)


def average_pool2d(
    inp: np.ndarray, filter_hw, *, stride=1, padding: str = "valid", act_min: int = INT8_MIN, act_max: int = INT8_MAX
) -> np.ndarray:
    """TFLite int8 AVERAGE_POOL_2D (reference_integer_ops::AveragePool) of [H, W, C].

    Sum over the in-bounds part of each window, divided by the count of in-bounds
    taps rounding half away from zero (C truncating division), clamped. Input and
    output share scale and zero point (TFLite requires it for int8)."""
    _check_array("input", inp, np.int8, 3)
    fh, fw = filter_hw
    strides, _, (oh, pad_top), (ow, pad_left) = _conv_geometry(
        inp.shape,
        fh,
        fw,
        stride,
        padding,
        1,
        stride_max=2**31 - 1,  # any stride (TFLite allows one past the input)
    )
    h, w, c = inp.shape
    out = np.empty((oh, ow, c), dtype=np.int8)
    x64 = inp.astype(np.int64)
    for oy in range(oh):
        y0 = oy * strides[0] - pad_top
        ys = slice(max(y0, 0), min(y0 + fh, h))
        for ox in range(ow):
            x0 = ox * strides[1] - pad_left
            xs = slice(max(x0, 0), min(x0 + fw, w))
            window = x64[ys, xs]
            count = window.shape[0] * window.shape[1]
            acc = window.sum(axis=(0, 1))
            half = count // 2
            q = np.where(acc > 0, (acc + half) // count, -((-(acc - half)) // count))  # C division truncates
            out[oy, ox] = np.clip(q, act_min, act_max)
    return out


def quantize(x, scale: float, zero_point: int) -> np.ndarray:
    """TFLite QUANTIZE float32 -> int8 (AffineQuantize): round(x / scale) half away from zero + zp."""
    q = np.asarray(x, np.float32) / np.float32(scale)  # float32 division, as the kernel
    q = q.astype(np.float64)
    rounded = np.sign(q) * np.floor(np.abs(q) + 0.5)
    return np.clip(rounded + zero_point, INT8_MIN, INT8_MAX).astype(np.int8)


def dequantize(q, scale: float, zero_point: int) -> np.ndarray:
    """TFLite DEQUANTIZE int8 -> float32: double(scale) * (q - zp), cast to float."""
    return (float(np.float32(scale)) * (np.asarray(q, np.int64) - zero_point)).astype(np.float32)


# gemmlowp fixed point, int32 raw values (F<n> = n integer bits).
def _sat_shl(x, e: int) -> np.ndarray:
    """gemmlowp SaturatingRoundingMultiplyByPOT<e> for e > 0."""
    threshold = (1 << (31 - e)) - 1
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, x << e))


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a):
    x = a + (1 << 28)  # + 1/8 in F0
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4 = _srdhm(x2, x2)
    x4_over_4 = _rdbpot(x4, 2)
    poly = _rdbpot(_srdhm(x4_over_4 + x3, 715827883) + x2, 1)  # 715827883 = 1/3 in F0
    constant = 1895147668  # exp(-1/8) in F0
    return constant + _srdhm(constant, x + poly)


def _exp_on_negative_values_f5(a):
    """gemmlowp exp_on_negative_values for F5 input (26 fractional bits) -> F0."""
    one_quarter = 1 << 24
    a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(_sat_shl(a_mod_quarter_minus_one_quarter, 5))
    remainder = a_mod_quarter_minus_one_quarter - a
    for exponent, multiplier in (
        (-2, 1672461947),
        (-1, 1302514674),
        (0, 790015084),
        (1, 290630308),
        (2, 39332535),
        (3, 720401),
        (4, 242),
    ):
        result = np.where(remainder & (1 << (26 + exponent)), _srdhm(result, multiplier), result)
    return np.where(a == 0, INT32_MAX, result)


def _one_over_one_plus_x_for_x_in_0_1(a):
    """gemmlowp one_over_one_plus_x_for_x_in_0_1 (F0 -> F0), Newton-Raphson in F2."""
    s = a + np.int64(INT32_MAX)
    half_denominator = np.where(s >= 0, (s + 1) // 2, -((-(s - 1)) // 2))  # RoundingHalfSum, C division
    x = 1515870810 + _srdhm(half_denominator, -1010580540)  # 48/17 - 32/17 * d, in F2
    for _ in range(3):
        one_minus = (1 << 29) - _srdhm(half_denominator, x)
        x = x + _sat_shl(_srdhm(x, one_minus), 2)
    return _sat_shl(x, 1)


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """TFLite softmax.cc Prepare (reference kernel): (input_multiplier, input_left_shift, diff_min)."""
    real = min(float(np.float32(beta)) * float(np.float32(input_scale)) * (1 << 26), (1 << 31) - 1.0)
    multiplier, left_shift = quantize_multiplier(real)
    radius = math.floor(1.0 * ((1 << 5) - 1) * (1 << 26) / (1 << left_shift))
    return multiplier, left_shift, -radius


def softmax(inp, *, beta: float, input_scale: float) -> np.ndarray:
    """TFLite int8 -> int8 SOFTMAX, reference kernel (gemmlowp fixed point, output scale 1/256, zp -128),
    over the last axis."""
    multiplier, left_shift, diff_min = softmax_params(beta, input_scale)
    x = np.asarray(inp, np.int64)
    diff = x - x.max(axis=-1, keepdims=True)
    valid = diff >= diff_min
    rescaled = _srdhm(wrap32(diff << left_shift), multiplier)  # MultiplyByQuantizedMultiplierGreaterThanOne
    exps = _exp_on_negative_values_f5(rescaled)
    sum_of_exps = wrap32(np.where(valid, _rdbpot(exps, 12), 0).sum(axis=-1, keepdims=True))  # F12
    headroom_plus_one = 32 - np.frexp(sum_of_exps.astype(np.float64))[1].astype(np.int64)  # count leading zeros
    num_bits_over_unit = 12 - headroom_plus_one
    shifted_sum_minus_one = wrap32(((sum_of_exps << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    shifted_scale = _one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one)
    exponent = np.broadcast_to(num_bits_over_unit + 31 - 8, x.shape)
    unsat = _rdbpot(_srdhm(np.broadcast_to(shifted_scale, x.shape), exps), exponent)
    out = np.clip(unsat - 128, INT8_MIN, INT8_MAX)
    return np.where(valid, out, INT8_MIN).astype(np.int8)
