"""Each op of the network runner against the TFLite interpreter over random parameters, not only those of the
shipped models: one-operator .tflite models (tests/tflite_single_op.py) run by `models.tflite_net.Network`
(parsing, QuantizeMultiplier, activation ranges, lowering, host ops) and by the interpreter."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import kpu, tflite_net
from tests.tflite_single_op import Builder, invoke, options
from tests.tflite_single_op import schema as S

few = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
scales = st.floats(1e-3, 0.1).map(lambda f: float(np.float32(f)))
zps = st.integers(-128, 127)
activations = st.sampled_from([0, 1, 3])  # NONE, RELU, RELU6
paddings = st.sampled_from([S.Padding.SAME, S.Padding.VALID])


def run_both(path, inputs, rounding="double"):
    net = tflite_net.Network(path)
    ours = net.run(inputs[0], tflite_net.ModelExecutor(), rounding=rounding)[net.outputs[0]]
    return ours, invoke(path, inputs, reference=rounding == "double")


def conv_geometry(draw, depthwise):
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    padding = draw(paddings)
    h = draw(st.integers((kh - 1) * dh + 1, 12))
    w = draw(st.integers((kw - 1) * dw + 1, 12))
    return kh, kw, sh, sw, dh, dw, padding, h, w


@st.composite
def conv_layers(draw, depthwise=False):
    kh, kw, sh, sw, dh, dw, padding, h, w = conv_geometry(draw, depthwise)
    cin = draw(st.integers(1, 5))
    cout = cin if depthwise else draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return {
        "kh": kh,
        "kw": kw,
        "stride": (sh, sw),
        "dilation": (dh, dw),
        "padding": padding,
        "h": h,
        "w": w,
        "cin": cin,
        "cout": cout,
        "in_scale": draw(scales),
        "in_zp": draw(zps),
        "out_zp": draw(zps),
        "out_scale": draw(st.floats(0.05, 2.0).map(lambda f: float(np.float32(f)))),
        "act": draw(activations),
        "w_scales": rng.uniform(1e-3, 0.05, cout).astype(np.float32),
        "rng": rng,
    }


def build_conv(tmp_path, p, depthwise):
    b = Builder()
    mode = "same" if p["padding"] == S.Padding.SAME else "valid"
    oh, _ = kpu.conv_output_size(p["h"], p["kh"], p["stride"][0], mode, p["dilation"][0])
    ow, _ = kpu.conv_output_size(p["w"], p["kw"], p["stride"][1], mode, p["dilation"][1])
    rng = p["rng"]
    wshape = (1, p["kh"], p["kw"], p["cout"]) if depthwise else (p["cout"], p["kh"], p["kw"], p["cin"])
    weights = rng.integers(-127, 128, wshape).astype(np.int8)
    bias = rng.integers(-20000, 20000, p["cout"]).astype(np.int32)
    x = b.tensor((1, p["h"], p["w"], p["cin"]), np.int8, p["in_scale"], p["in_zp"])
    wt = b.tensor(wshape, np.int8, p["w_scales"], np.zeros(p["cout"]), weights, axis=3 if depthwise else 0)
    bt = b.tensor((p["cout"],), np.int32, p["w_scales"] * np.float32(p["in_scale"]), np.zeros(p["cout"]), bias)
    y = b.tensor((1, oh, ow, p["cout"]), np.int8, p["out_scale"], p["out_zp"])
    common = {
        "padding": p["padding"],
        "strideH": p["stride"][0],
        "strideW": p["stride"][1],
        "dilationHFactor": p["dilation"][0],
        "dilationWFactor": p["dilation"][1],
        "fusedActivationFunction": p["act"],
    }
    if depthwise:
        b.op(
            S.BuiltinOperator.DEPTHWISE_CONV_2D,
            [x, wt, bt],
            [y],
            S.BuiltinOptions.DepthwiseConv2DOptions,
            options(S.DepthwiseConv2DOptionsT, depthMultiplier=1, **common),
        )
    else:
        b.op(
            S.BuiltinOperator.CONV_2D,
            [x, wt, bt],
            [y],
            S.BuiltinOptions.Conv2DOptions,
            options(S.Conv2DOptionsT, **common),
        )
    path = b.save(tmp_path / "conv.tflite", [x], [y])
    return path, rng.integers(-128, 128, (1, p["h"], p["w"], p["cin"])).astype(np.int8)


@few
@given(conv_layers())
def test_conv2d_any_kernel_stride_dilation_vs_tflite(tmp_path_factory, p):
    path, x = build_conv(tmp_path_factory.mktemp("conv"), p, depthwise=False)
    ours, theirs = run_both(path, [x])
    np.testing.assert_array_equal(ours, theirs)


@few
@given(conv_layers(depthwise=True))
def test_depthwise_conv2d_vs_tflite(tmp_path_factory, p):
    path, x = build_conv(tmp_path_factory.mktemp("dw"), p, depthwise=True)
    ours, theirs = run_both(path, [x])
    np.testing.assert_array_equal(ours, theirs)


@few
@given(
    st.integers(1, 3),
    st.integers(1, 64),
    st.integers(1, 16),
    scales,
    zps,
    zps,
    activations,
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_fully_connected_vs_tflite(tmp_path_factory, batch, k, n, in_scale, in_zp, out_zp, act, per_channel, seed):
    rng = np.random.default_rng(seed)
    b = Builder()
    w_scales = rng.uniform(1e-3, 0.05, n if per_channel else 1).astype(np.float32)
    x = b.tensor((batch, k), np.int8, in_scale, in_zp)
    wt = b.tensor((n, k), np.int8, w_scales, np.zeros(w_scales.size), rng.integers(-127, 128, (n, k)))
    bt = b.tensor(
        (n,), np.int32, w_scales * np.float32(in_scale), np.zeros(w_scales.size), rng.integers(-20000, 20000, n)
    )
    y = b.tensor((batch, n), np.int8, 0.5, out_zp)
    b.op(
        S.BuiltinOperator.FULLY_CONNECTED,
        [x, wt, bt],
        [y],
        S.BuiltinOptions.FullyConnectedOptions,
        options(S.FullyConnectedOptionsT, fusedActivationFunction=act),
    )
    path = b.save(tmp_path_factory.mktemp("fc") / "fc.tflite", [x], [y])
    ours, theirs = run_both(path, [rng.integers(-128, 128, (batch, k)).astype(np.int8)])
    np.testing.assert_array_equal(ours, theirs)


@few
@given(
    st.integers(1, 40),
    st.floats(1e-3, 1.0).map(lambda f: float(np.float32(f))),
    zps,
    st.sampled_from([1.0, 0.5, 2.0, 0.3]),
    st.integers(0, 2**32 - 1),
)
def test_softmax_bit_exact_vs_tflite(tmp_path_factory, n, in_scale, in_zp, beta, seed):
    b = Builder()
    x = b.tensor((1, n), np.int8, in_scale, in_zp)
    y = b.tensor((1, n), np.int8, 1 / 256, -128)
    b.op(S.BuiltinOperator.SOFTMAX, [x], [y], S.BuiltinOptions.SoftmaxOptions, options(S.SoftmaxOptionsT, beta=beta))
    path = b.save(tmp_path_factory.mktemp("softmax") / "softmax.tflite", [x], [y])
    x = np.random.default_rng(seed).integers(-128, 128, (1, n)).astype(np.int8)
    ours, theirs = run_both(path, [x])
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(ours, invoke(path, [x], reference=False))  # the default interpreter agrees


def build_add(tmp_path, n, s1, s2, so, z1, z2, zo, act):
    b = Builder()
    x1, x2 = b.tensor((1, n), np.int8, s1, z1), b.tensor((1, n), np.int8, s2, z2)
    y = b.tensor((1, n), np.int8, so, zo)
    b.op(
        S.BuiltinOperator.ADD,
        [x1, x2],
        [y],
        S.BuiltinOptions.AddOptions,
        options(S.AddOptionsT, fusedActivationFunction=act),
    )
    return b.save(tmp_path / "add.tflite", [x1, x2], [y])


@few
@given(
    scales,
    scales,
    st.floats(0.01, 0.2).map(lambda f: float(np.float32(f))),
    zps,
    zps,
    zps,
    activations,
    st.sampled_from(["double", "single"]),
    st.integers(0, 2**32 - 1),
)
def test_add_vs_tflite_reference_and_xnnpack(tmp_path_factory, s1, s2, so, z1, z2, zo, act, rounding, seed):
    """double: the reference kernel; single: XNNPACK's qs8 add in the default interpreter."""
    rng = np.random.default_rng(seed)
    path = build_add(tmp_path_factory.mktemp("add"), 256, s1, s2, so, z1, z2, zo, act)
    a, c = (rng.integers(-128, 128, (1, 256)).astype(np.int8) for _ in range(2))
    act_min, act_max = tflite_net.activation_range(act, so, zo, "ADD")
    params = kpu.add_quant_params(s1, s2, so)
    ours = kpu.add(
        a,
        c,
        input1_zp=z1,
        input2_zp=z2,
        output_zp=zo,
        params=params,
        act_min=act_min,
        act_max=act_max,
        rounding=rounding,
    )
    np.testing.assert_array_equal(ours, invoke(path, [a, c], reference=rounding == "double"))


@few
@given(
    st.integers(1, 12),
    st.integers(1, 12),
    st.integers(1, 4),
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(1, 4),
    paddings,
    scales,
    zps,
    st.integers(0, 2**32 - 1),
)
def test_average_pool_vs_tflite(tmp_path_factory, h, w, c, fh, fw, sh, sw, padding, scale, zp, seed):
    h, w = max(h, fh), max(w, fw)
    mode = "same" if padding == S.Padding.SAME else "valid"
    oh, _ = kpu.conv_output_size(h, fh, sh, mode)
    ow, _ = kpu.conv_output_size(w, fw, sw, mode)
    b = Builder()
    x = b.tensor((1, h, w, c), np.int8, scale, zp)
    y = b.tensor((1, oh, ow, c), np.int8, scale, zp)
    b.op(
        S.BuiltinOperator.AVERAGE_POOL_2D,
        [x],
        [y],
        S.BuiltinOptions.Pool2DOptions,
        options(S.Pool2DOptionsT, padding=padding, strideH=sh, strideW=sw, filterHeight=fh, filterWidth=fw),
    )
    path = b.save(tmp_path_factory.mktemp("pool") / "pool.tflite", [x], [y])
    ours, theirs = run_both(path, [np.random.default_rng(seed).integers(-128, 128, (1, h, w, c)).astype(np.int8)])
    np.testing.assert_array_equal(ours, theirs)


@few
@given(st.integers(1, 64), st.floats(1e-3, 1.0).map(lambda f: float(np.float32(f))), zps, st.integers(0, 2**32 - 1))
def test_quantize_and_dequantize_vs_tflite(tmp_path_factory, n, scale, zp, seed):
    rng = np.random.default_rng(seed)
    # arbitrary floats, exact ties (k + 1/2) * scale and out-of-range values
    x = np.concatenate([rng.uniform(-200, 200, n) * scale, (rng.integers(-140, 140, n) + 0.5) * scale])
    x = x.astype(np.float32)[None]
    b = Builder()
    xf, q = b.tensor(x.shape, np.float32), b.tensor(x.shape, np.int8, scale, zp)
    yf = b.tensor(x.shape, np.float32)
    b.op(S.BuiltinOperator.QUANTIZE, [xf], [q], S.BuiltinOptions.NONE, None)
    b.op(S.BuiltinOperator.DEQUANTIZE, [q], [yf], S.BuiltinOptions.NONE, None)
    path = b.save(tmp_path_factory.mktemp("quant") / "quant.tflite", [xf], [yf])
    net = tflite_net.Network(path)
    values = net.run(x, tflite_net.ModelExecutor())
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    interpreter.set_tensor(xf, x)
    interpreter.invoke()
    np.testing.assert_array_equal(values[q], interpreter.get_tensor(q))
    np.testing.assert_array_equal(values[yf], interpreter.get_tensor(yf))
