"""Golden model of the KPU int8 MAC array (rtl/kpu/), numpy int64, bit exact.

What the RTL computes for one output element (row m, column n):

    acc      = wrap32( sum_k (A[m,k] - input_zp) * B[k,n] + bias[n] )
    raw mode : result = acc                                   (int32)
    otherwise: result = clamp(MBQM(acc, multiplier[n], shift[n]) + output_zp,
                              act_min, act_max)               (int8)

MBQM is TFLite's reference `MultiplyByQuantizedMultiplier` (gemmlowp
double-rounding form):

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
with one image; `im2col` + `conv_weights_as_gemm` turn it into a gemm, which is
how the testbench runs a convolution on the array.

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


def multiply_by_quantized_multiplier(x, multiplier, shift) -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier (reference, double rounding).

    shift > 0 is a left shift of x before the high multiply (int32 wrap, as the
    reference `x * (1 << left_shift)`), shift < 0 a rounding right shift after.
    """
    x = _as_int64("x", x, INT32_MIN, INT32_MAX)
    m = _as_int64("multiplier", multiplier, INT32_MIN, INT32_MAX)
    s = _as_int64("shift", shift, SHIFT_MIN, SHIFT_MAX)
    x, m, s = np.broadcast_arrays(x, m, s)
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
    q_fixed = round(q * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:  # TFLite flushes tiny multipliers to zero
        return 0, 0
    if shift > SHIFT_MAX:
        raise ValueError(f"real multiplier {real} needs shift {shift} > {SHIFT_MAX}")
    return int(q_fixed), int(shift)


# --------------------------------------------------------------------------
# gemm / conv2d


def _requant_scalars(output_zp, act_min, act_max) -> tuple[int, int, int]:
    output_zp = _scalar("output_zp", output_zp, INT8_MIN, INT8_MAX)
    act_min = _scalar("act_min", act_min, INT8_MIN, INT8_MAX)
    act_max = _scalar("act_max", act_max, INT8_MIN, INT8_MAX)
    if act_min > act_max:
        raise ValueError(f"act_min ({act_min}) > act_max ({act_max})")
    return output_zp, act_min, act_max


def requantize(acc, multiplier, shift, *, output_zp=0, act_min=INT8_MIN, act_max=INT8_MAX) -> np.ndarray:
    """int32 accumulators [.., N] -> int8: clamp(MBQM + output_zp, act_min, act_max)."""
    output_zp, act_min, act_max = _requant_scalars(output_zp, act_min, act_max)
    scaled = multiply_by_quantized_multiplier(acc, multiplier, shift)
    # TFLite order: max with act_min, then min with act_max; the range is int8 so
    # the final int8 saturation is implied.
    return np.minimum(np.maximum(scaled + output_zp, act_min), act_max).astype(np.int8)


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
) -> np.ndarray:
    """(A - input_zp) @ B + bias, then requantized per output column.

    a: int8 [M, K], b: int8 [K, N], bias: int32 [N] (or None = 0).
    multiplier None -> the raw int32 accumulators (wrapped to int32 as the RTL
    does, see the module docstring); otherwise int8 [M, N] requantized with
    per-column multiplier/shift (scalars broadcast).
    """
    _check_array("a", a, np.int8, 2)
    _check_array("b", b, np.int8, 2)
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"inner dimensions differ: a is {a.shape}, b is {b.shape}")
    if a.shape[1] == 0:
        raise ValueError("K must be at least 1")
    n = b.shape[1]
    input_zp = _scalar("input_zp", input_zp, INT8_MIN, INT8_MAX)
    if bias is None:
        bias64 = np.zeros(n, dtype=np.int64)
    else:
        _check_array("bias", bias, np.int32, 1)
        if bias.shape != (n,):
            raise ValueError(f"bias must have shape ({n},), got {bias.shape}")
        bias64 = bias.astype(np.int64)
    # Exact in int64 for any K < 2**46; the wrap models the 32-bit accumulator.
    acc = wrap32((a.astype(np.int64) - input_zp) @ b.astype(np.int64) + bias64)
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
    return requantize(acc, m, s, output_zp=output_zp, act_min=act_min, act_max=act_max)


def conv_output_size(size: int, k: int, stride: int, padding: str) -> tuple[int, int]:
    """TFLite output size and padding-before for one spatial axis."""
    if padding == "same":
        out = -(-size // stride)
        pad_total = max((out - 1) * stride + k - size, 0)
        return out, pad_total // 2
    if padding == "valid":
        if size < k:
            raise ValueError(f"'valid' padding needs input size >= kernel size, got {size} < {k}")
        return (size - k) // stride + 1, 0
    raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")


def _check_conv_args(stride, padding, kh, kw):
    if stride not in (1, 2) or isinstance(stride, bool):
        raise ValueError(f"stride must be 1 or 2, got {stride!r}")
    if padding not in ("same", "valid"):
        raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}")
    if (kh, kw) not in ((1, 1), (3, 3)):
        raise ValueError(f"kernel must be 1x1 or 3x3, got {kh}x{kw}")


def im2col(
    inp: np.ndarray, kh: int, kw: int, *, stride: int = 1, padding: str = "same", input_zp: int = 0
) -> tuple[np.ndarray, tuple[int, int]]:
    """Patches of an int8 [H, W, Cin] image as an int8 [OH*OW, KH*KW*Cin] matrix.

    Column index is (ky*KW + kx)*Cin + ci, matching `conv_weights_as_gemm`.
    Padded positions hold input_zp so they contribute 0 once the array
    subtracts the zero point. Returns (patches, (OH, OW)).
    """
    _check_array("input", inp, np.int8, 3)
    _check_conv_args(stride, padding, kh, kw)
    input_zp = _scalar("input_zp", input_zp, INT8_MIN, INT8_MAX)
    h, w, cin = inp.shape
    if min(h, w, cin) == 0:
        raise ValueError(f"input has an empty dimension: shape {inp.shape}")
    oh, pad_top = conv_output_size(h, kh, stride, padding)
    ow, pad_left = conv_output_size(w, kw, stride, padding)
    # Pad generously on every side; the slice below takes what TFLite would see.
    padded = np.full((h + kh + 2 * stride, w + kw + 2 * stride, cin), input_zp, dtype=np.int8)
    padded[pad_top : pad_top + h, pad_left : pad_left + w] = inp
    cols = np.empty((oh, ow, kh, kw, cin), dtype=np.int8)
    for ky in range(kh):
        for kx in range(kw):
            cols[:, :, ky, kx, :] = padded[ky : ky + stride * oh : stride, kx : kx + stride * ow : stride]
    return cols.reshape(oh * ow, kh * kw * cin), (oh, ow)


def conv_weights_as_gemm(weights: np.ndarray) -> np.ndarray:
    """int8 [Cout, KH, KW, Cin] weights as the int8 [KH*KW*Cin, Cout] B matrix."""
    _check_array("weights", weights, np.int8, 4)
    return np.ascontiguousarray(weights.reshape(weights.shape[0], -1).T)


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
    stride: int = 1,
    padding: str = "same",
    bias=None,
    input_zp: int = 0,
    multiplier=None,
    shift=None,
    output_zp: int = 0,
    act_min: int = INT8_MIN,
    act_max: int = INT8_MAX,
    pool: bool = False,
) -> np.ndarray:
    """TFLite int8 Conv2D of one NHWC image: returns [OH, OW, Cout].

    pool=True follows it with `maxpool2x2` (after requantization): [OH//2, OW//2, Cout].

    inp int8 [H, W, Cin], weights int8 [Cout, KH, KW, Cin] (1x1 or 3x3).
    Raw int32 when multiplier is None, else int8 (per-channel requant), as gemm;
    output_zp and act_min/act_max are ignored in raw mode (as in the RTL).
    """
    _check_array("input", inp, np.int8, 3)
    _check_array("weights", weights, np.int8, 4)
    cout, kh, kw, cin = weights.shape
    if cin != inp.shape[2]:
        raise ValueError(f"weights have Cin={cin} but the input has {inp.shape[2]} channels")
    if cout == 0:
        raise ValueError("weights have Cout=0")
    _check_conv_args(stride, padding, kh, kw)
    input_zp = _scalar("input_zp", input_zp, INT8_MIN, INT8_MAX)
    h, w, _ = inp.shape
    oh, pad_top = conv_output_size(h, kh, stride, padding)
    ow, pad_left = conv_output_size(w, kw, stride, padding)
    if bias is None:
        bias64 = np.zeros(cout, dtype=np.int64)
    else:
        _check_array("bias", bias, np.int32, 1)
        if bias.shape != (cout,):
            raise ValueError(f"bias must have shape ({cout},), got {bias.shape}")
        bias64 = bias.astype(np.int64)
    # Computed directly (shifted windows), not through im2col, so the tests'
    # conv2d == gemm(im2col) check compares two different formulations.
    centred = np.zeros((h + kh + 2 * stride, w + kw + 2 * stride, cin), dtype=np.int64)
    centred[pad_top : pad_top + h, pad_left : pad_left + w] = inp.astype(np.int64) - input_zp
    w64 = weights.astype(np.int64)
    acc = np.zeros((oh, ow, cout), dtype=np.int64)
    for ky in range(kh):
        for kx in range(kw):
            window = centred[ky : ky + stride * oh : stride, kx : kx + stride * ow : stride]
            acc += window @ w64[:, ky, kx, :].T
    acc = wrap32(acc + bias64)
    if multiplier is None:
        if shift is not None:
            raise ValueError("shift given without multiplier")
        _requant_scalars(output_zp, act_min, act_max)
        out = acc.astype(np.int32)
    else:
        if shift is None:
            raise ValueError("multiplier given without shift")
        m = _per_channel("multiplier", multiplier, cout, INT32_MIN, INT32_MAX)
        s = _per_channel("shift", shift, cout, SHIFT_MIN, SHIFT_MAX)
        out = requantize(acc, m, s, output_zp=output_zp, act_min=act_min, act_max=act_max)
    return maxpool2x2(out) if pool else out


def lower_conv2d(
    x: np.ndarray, weights: np.ndarray, *, stride: int = 1, padding: str = "same", input_zp: int = 0, pool: bool = False
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    """The one conv-to-GEMM lowering (tests, CLI, bench, network runner): im2col rows (in
    `pool_order` when pooled, so each 4 rows are one 2x2 window) and the weights as [K, Cout].
    Returns (a [M, K], b [K, Cout], (OH, OW, Cout)) of the convolution before pooling."""
    weights = np.asarray(weights)
    if weights.ndim != 4:
        raise ValueError(f"weights must be int8 [Cout, KH, KW, Cin], got shape {list(weights.shape)}")
    a, (oh, ow) = im2col(x, weights.shape[1], weights.shape[2], stride=stride, padding=padding, input_zp=input_zp)
    if pool:
        a = a[pool_order(oh, ow)]
    return a, conv_weights_as_gemm(weights), (oh, ow, weights.shape[0])
