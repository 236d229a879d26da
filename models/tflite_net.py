"""TFLite int8 networks on the KPU: read a .tflite flatbuffer, lower its layers, run them layer by layer.

The flatbuffer is read with the interpreter package's own generated schema module
(`ai_edge_litert.schema_py_generated`, object API), not a hand-written reader.

CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED are array layers: lowered here, once,
to what the array computes (`im2col` + GEMM, depthwise patches, FC as GEMM) and
handed to an executor — `ModelExecutor` (golden model, models/kpu.py) or the RTL
executor of the `asicdv kpu net` command. Everything else runs on the host with
TFLite's reference integer semantics (models/kpu.py). Per-channel (multiplier, shift)
come from kpu.quantize_multiplier of double(s_in) * double(s_w[c]) / double(s_out),
as TFLite's PopulateConvolutionQuantizationParams.

Supported: int8 activations (float32 only into QUANTIZE / out of DEQUANTIZE),
int8 weights with zero point 0 (per-tensor or per-channel scales), int32 bias,
batch 1, depthwise multiplier 1. Anything else raises UnsupportedModel naming the
op or tensor.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from models import kpu

OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
TYPE_NAMES = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
DTYPES = {
    "INT8": np.int8,
    "INT32": np.int32,
    "FLOAT32": np.float32,
    "INT16": np.int16,
    "UINT8": np.uint8,
    "INT64": np.int64,
    "BOOL": np.bool_,
}
ARRAY_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
HOST_OPS = ("ADD", "AVERAGE_POOL_2D", "RESHAPE", "QUANTIZE", "DEQUANTIZE", "SOFTMAX", "SHAPE", "STRIDED_SLICE", "PACK")
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


# What `rounding` means per op: "double" is the TFLite reference kernels (BUILTIN_REF) and "single" the default
# XNNPACK interpreter. Measured on ai-edge-litert 2.3.0 with the three MLPerf Tiny models: the reference
# CONV_2D / DEPTHWISE_CONV_2D / ADD round twice (gemmlowp), but the reference FULLY_CONNECTED int8 kernel rounds
# once (0 mismatches with single rounding, several with double, over 10 random inputs).
REFERENCE_ROUNDING = {"FULLY_CONNECTED": "single"}


def layer_rounding(op: str, rounding: str) -> str:
    """The requantizer rounding that makes `op` bit-exact with the runtime `rounding` names.

    "double": the reference kernels (FULLY_CONNECTED rounds once there); "single": integer single rounding
    everywhere (XNNPACK's qs8 ADD is single rounding); "fp32": XNNPACK, whose convolutions and FC
    requantize in float32 and whose ADD is its integer qs8 add ("single")."""
    kpu._check_rounding(rounding)
    if rounding == "double":
        return REFERENCE_ROUNDING.get(op, "double")
    if rounding == "fp32" and op in ARRAY_OPS:
        return "fp32"
    return "single"


def xnnpack_scales(s_in: float, s_w: np.ndarray, s_out: float) -> np.ndarray:
    """XNNPACK's per-channel requantization scale, all in float32 as its create functions compute it
    (convolution-nhwc.c / fully-connected-nc.c: input_scale * kernel_scale[c] / output_scale, left to right)."""
    product = np.float32(s_in) * np.asarray(s_w, np.float32)
    return (product / np.float32(s_out)).astype(np.float32)


XNNPACK_ACTIVATIONS = {
    "NONE": (-math.inf, math.inf),
    "RELU": (0.0, math.inf),
    "RELU_N1_TO_1": (-1.0, 1.0),
    "RELU6": (0.0, 6.0),
}  # the TFLite XNNPACK delegate's ConvertActivationToOutputRange


def xnnpack_activation_range(fused: int, scale: float, zero_point: int, where: str) -> tuple[int, int]:
    """XNNPACK's int8 output range of a fused activation: xnn_qs8_quantize of the delegate's float bounds,
    lrintf(clamp(bound / scale + (float) zero_point, -128, 127)) in float32, ties to even (TFLite's
    CalculateActivationRangeQuantized rounds half away from zero instead)."""
    if fused not in ACTIVATIONS:
        raise UnsupportedModel(f"{where}: fused activation {fused} is not supported")

    def q(bound: float) -> int:
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            v = np.float32(bound) / np.float32(scale) + np.float32(zero_point)
        return int(np.rint(np.clip(v, np.float32(-128), np.float32(127))))

    lo, hi = XNNPACK_ACTIVATIONS[ACTIVATIONS[fused]]
    return q(lo), q(hi)


class UnsupportedModel(ValueError):
    """The file is not a model this runner supports; the message names the op or tensor."""


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    type: str
    scale: np.ndarray  # float32, empty if not quantized
    zero_point: np.ndarray  # int64
    quantized_dimension: int
    data: np.ndarray | None  # constant tensors

    @property
    def dtype(self):
        return DTYPES[self.type]

    def describe(self) -> str:
        return f"tensor {self.index} '{self.name}'"


@dataclass
class Layer:
    """One operator of the graph; `lowered` holds what the array executes for array ops."""

    index: int
    op: str
    inputs: list[int]
    outputs: list[int]
    options: object
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    macs: int = 0
    params: dict = field(default_factory=dict)

    @property
    def on_array(self) -> bool:
        return self.op in ARRAY_OPS


def _round_half_away(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def activation_range(fused: int, scale: float, zero_point: int, where: str) -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for int8 outputs."""
    if fused not in ACTIVATIONS:
        raise UnsupportedModel(f"{where}: fused activation {fused} is not supported")
    name = ACTIVATIONS[fused]
    scale32 = np.float32(scale)

    def q(f: float) -> int:
        return zero_point + _round_half_away(float(np.float32(f) / scale32))

    lo, hi = kpu.INT8_MIN, kpu.INT8_MAX
    if name == "RELU":
        lo = max(lo, q(0.0))
    elif name == "RELU6":
        lo, hi = max(lo, q(0.0)), min(hi, q(6.0))
    elif name == "RELU_N1_TO_1":
        lo, hi = max(lo, q(-1.0)), min(hi, q(1.0))
    return lo, hi


class Network:
    """A parsed .tflite model (subgraph 0) with its layers checked and lowered."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        try:
            buf = self.path.read_bytes()
        except OSError as exc:
            raise UnsupportedModel(f"{self.path}: cannot read ({exc.strerror})") from None
        if len(buf) < 8 or not schema.Model.ModelBufferHasIdentifier(buf, 0):
            raise UnsupportedModel(f"{self.path}: not a TFLite model (no 'TFL3' flatbuffer identifier)")
        try:
            model = schema.ModelT.InitFromPackedBuf(buf, 0)
        except Exception as exc:  # noqa: BLE001 -- a corrupt flatbuffer raises anything from struct.error to IndexError
            raise UnsupportedModel(f"{self.path}: truncated or corrupt TFLite flatbuffer ({exc})") from None
        if not model.subgraphs:
            raise UnsupportedModel(f"{self.path}: the model has no subgraph")
        if len(model.subgraphs) > 1:
            raise UnsupportedModel(f"{self.path}: {len(model.subgraphs)} subgraphs (control flow) are not supported")
        graph = model.subgraphs[0]
        self.tensors = [self._tensor(model, buf, i, t) for i, t in enumerate(graph.tensors)]
        self.inputs, self.outputs = [int(i) for i in graph.inputs], [int(i) for i in graph.outputs]
        if len(self.inputs) != 1:
            raise UnsupportedModel(f"{self.path}: {len(self.inputs)} model inputs; only one is supported")
        self.layers = []
        for index, op in enumerate(graph.operators):
            code = model.operatorCodes[op.opcodeIndex]
            name = OP_NAMES.get(max(code.builtinCode, code.deprecatedBuiltinCode), "CUSTOM")
            if name == "CUSTOM" or name not in ARRAY_OPS + HOST_OPS:
                custom = f" '{code.customCode.decode()}'" if code.customCode else ""
                raise UnsupportedModel(f"op {index} {name}{custom}: unsupported op")
            layer = Layer(index, name, [int(i) for i in op.inputs], [int(i) for i in op.outputs], op.builtinOptions)
            self._prepare(layer)
            self.layers.append(layer)

    # ---------------------------------------------------------------- parsing

    @staticmethod
    def _tensor(model, buf: bytes, index: int, t) -> Tensor:
        type_name = TYPE_NAMES.get(t.type, str(t.type))
        name = t.name.decode() if isinstance(t.name, bytes) else str(t.name)
        q = t.quantization
        scale = np.asarray(q.scale if q is not None and q.scale is not None else [], np.float32)
        zp = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [], np.int64)
        data = None
        buffer = model.buffers[t.buffer] if 0 < t.buffer < len(model.buffers) else None
        if buffer is not None and type_name in DTYPES:
            raw = None
            if buffer.data is not None and len(buffer.data):
                raw = np.asarray(buffer.data, np.uint8).tobytes()
            elif buffer.offset > 1:
                raw = buf[buffer.offset : buffer.offset + buffer.size]
            if raw is not None:
                shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
                if len(raw) != int(np.prod(shape)) * np.dtype(DTYPES[type_name]).itemsize:
                    raise UnsupportedModel(
                        f"tensor {index} '{name}': {len(raw)} bytes of data for {type_name} {list(shape)}"
                    )
                data = np.frombuffer(raw, dtype=DTYPES[type_name]).reshape(shape)
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
        return Tensor(index, name, shape, type_name, scale, zp, int(q.quantizedDimension if q else 0), data)

    def _act(self, index: int, where: str) -> Tensor:
        """An int8 per-tensor quantized activation tensor."""
        t = self.tensors[index]
        if t.type != "INT8":
            raise UnsupportedModel(f"{where}: {t.describe()} is {t.type}; only int8 activations are supported")
        if t.scale.size != 1 or t.zero_point.size != 1:
            raise UnsupportedModel(f"{where}: {t.describe()} is not per-tensor quantized")
        return t

    def _weights(self, index: int, where: str, channel_dim: int) -> Tensor:
        t = self.tensors[index]
        if t.type != "INT8":
            raise UnsupportedModel(f"{where}: weights {t.describe()} are {t.type}; only int8 weights are supported")
        if t.data is None:
            raise UnsupportedModel(f"{where}: weights {t.describe()} are not constant")
        if t.scale.size == 0:
            raise UnsupportedModel(f"{where}: weights {t.describe()} are not quantized")
        if np.any(t.zero_point != 0):
            kind = "per-tensor" if t.zero_point.size == 1 else "per-channel"
            raise UnsupportedModel(f"{where}: weights {t.describe()} are {kind} asymmetric (zero point != 0)")
        if t.scale.size > 1 and (t.quantized_dimension != channel_dim or t.scale.size != t.shape[channel_dim]):
            raise UnsupportedModel(
                f"{where}: weights {t.describe()} are quantized along axis "
                f"{t.quantized_dimension}, expected {channel_dim}"
            )
        return t

    def _bias(self, layer: Layer, n: int, where: str):
        if len(layer.inputs) < 3 or layer.inputs[2] < 0:
            return None
        t = self.tensors[layer.inputs[2]]
        if t.type != "INT32" or t.data is None or t.data.shape != (n,):
            raise UnsupportedModel(f"{where}: bias {t.describe()} must be a constant int32 [{n}], got {t.type}")
        return t.data.astype(np.int32)

    def _requant(self, layer: Layer, inp: Tensor, weights: Tensor, out: Tensor, n: int, where: str) -> dict:
        s_in, s_out = float(inp.scale[0]), float(out.scale[0])
        scales = np.broadcast_to(weights.scale, (n,))
        if layer.op == "FULLY_CONNECTED" and weights.scale.size == 1:
            # fully_connected.cc per-tensor: GetQuantizedConvolutionMultipler multiplies the scales in float.
            pairs = [kpu.quantize_multiplier(float(np.float32(s_in) * weights.scale[0]) / s_out)] * n
        else:  # PopulateConvolutionQuantizationParams: double(s_in) * double(s_w[c]) / double(s_out)
            pairs = [kpu.quantize_multiplier(s_in * float(s_w) / s_out) for s_w in scales]
        fused, out_zp = layer.options.fusedActivationFunction, int(out.zero_point[0])
        act_min, act_max = activation_range(fused, s_out, out_zp, where)
        fp32_min, fp32_max = xnnpack_activation_range(fused, s_out, out_zp, where)
        return {
            "bias": self._bias(layer, n, where),
            "input_zp": int(inp.zero_point[0]),
            "multiplier": np.array([m for m, _ in pairs], np.int64),
            "shift": np.array([s for _, s in pairs], np.int64),
            "output_zp": int(out.zero_point[0]),
            "act_min": act_min,
            "act_max": act_max,
            # rounding "fp32": XNNPACK's float scales (their bits in the multiplier field) and output range
            "fp32": {
                "multiplier": kpu.fp32_bits(xnnpack_scales(s_in, scales, s_out)),
                "shift": np.zeros(n, np.int64),
                "act_min": fp32_min,
                "act_max": fp32_max,
            },
        }

    def _prepare(self, layer: Layer) -> None:
        where = f"op {layer.index} {layer.op}"
        o = layer.options
        if layer.op in ARRAY_OPS:
            inp, out = self._act(layer.inputs[0], where), self._act(layer.outputs[0], where)
            if len(inp.shape) == 4 and inp.shape[0] != 1:
                raise UnsupportedModel(f"{where}: batch {inp.shape[0]} (only batch 1 is supported)")
        if layer.op == "CONV_2D":
            w = self._weights(layer.inputs[1], where, 0)
            cout, kh, kw, cin = w.shape
            if inp.shape[3] != cin:
                raise UnsupportedModel(f"{where}: grouped convolution (input {inp.shape[3]} channels, weights {cin})")
            self._window_params(layer, o, inp, w, out, kh, kw, cout, where)
            layer.macs = int(np.prod(out.shape[1:3])) * cout * kh * kw * cin
        elif layer.op == "DEPTHWISE_CONV_2D":
            w = self._weights(layer.inputs[1], where, 3)
            _, kh, kw, c = w.shape
            if o.depthMultiplier not in (0, 1) or c != inp.shape[3]:
                raise UnsupportedModel(f"{where}: depth multiplier {c // max(inp.shape[3], 1)} (only 1 is supported)")
            self._window_params(layer, o, inp, w, out, kh, kw, c, where)
            layer.macs = int(np.prod(out.shape[1:3])) * c * kh * kw
        elif layer.op == "FULLY_CONNECTED":
            w = self._weights(layer.inputs[1], where, 0)
            n, k = w.shape
            if int(np.prod(inp.shape)) % k:
                raise UnsupportedModel(f"{where}: input of {int(np.prod(inp.shape))} elements is not a multiple of {k}")
            if getattr(o, "keepNumDims", False):
                raise UnsupportedModel(f"{where}: keep_num_dims is not supported")
            layer.params = {"weights": w.data, **self._requant(layer, inp, w, out, n, where)}
            layer.macs = int(np.prod(inp.shape)) // k * n * k
        elif layer.op == "ADD":
            a, b, out = (self._act(i, where) for i in (*layer.inputs[:2], layer.outputs[0]))
            act_min, act_max = activation_range(
                o.fusedActivationFunction, float(out.scale[0]), int(out.zero_point[0]), where
            )
            layer.params = {
                "input1_zp": int(a.zero_point[0]),
                "input2_zp": int(b.zero_point[0]),
                "output_zp": int(out.zero_point[0]),
                "act_min": act_min,
                "act_max": act_max,
                "params": kpu.add_quant_params(a.scale[0], b.scale[0], out.scale[0]),
            }
        elif layer.op == "AVERAGE_POOL_2D":
            inp, out = self._act(layer.inputs[0], where), self._act(layer.outputs[0], where)
            if inp.scale[0] != out.scale[0] or inp.zero_point[0] != out.zero_point[0]:
                raise UnsupportedModel(f"{where}: input and output quantization differ")
            act_min, act_max = activation_range(
                o.fusedActivationFunction, float(out.scale[0]), int(out.zero_point[0]), where
            )
            layer.params = {
                "filter_hw": (o.filterHeight, o.filterWidth),
                "stride": (o.strideH, o.strideW),
                "padding": self._padding(o, where),
                "act_min": act_min,
                "act_max": act_max,
            }
        elif layer.op == "SOFTMAX":
            inp, out = self._act(layer.inputs[0], where), self._act(layer.outputs[0], where)
            if out.scale[0] != np.float32(1 / 256) or out.zero_point[0] != -128:
                raise UnsupportedModel(f"{where}: int8 softmax output must have scale 1/256 and zero point -128")
            layer.params = {"beta": float(o.beta), "input_scale": float(inp.scale[0])}
        elif layer.op == "QUANTIZE":
            src, out = self.tensors[layer.inputs[0]], self._act(layer.outputs[0], where)
            if src.type != "FLOAT32":
                raise UnsupportedModel(f"{where}: {src.describe()} is {src.type}; only float32 -> int8 is supported")
        elif layer.op == "DEQUANTIZE":
            src, out = self._act(layer.inputs[0], where), self.tensors[layer.outputs[0]]
            if out.type != "FLOAT32":
                raise UnsupportedModel(f"{where}: {out.describe()} is {out.type}; only int8 -> float32 is supported")
        elif layer.op == "RESHAPE":
            src, out = self.tensors[layer.inputs[0]], self.tensors[layer.outputs[0]]
            if int(np.prod(src.shape)) != int(np.prod(out.shape)):
                raise UnsupportedModel(f"{where}: {src.shape} -> {out.shape} changes the element count")
        elif layer.op == "STRIDED_SLICE":
            src = self.tensors[layer.inputs[0]]
            if len(src.shape) != 1 or o.ellipsisMask or o.newAxisMask or o.offset:
                raise UnsupportedModel(f"{where}: only 1-D slices without ellipsis/new-axis/offset are supported")
            if any(self.tensors[i].shape != (1,) for i in layer.inputs[1:4]):
                raise UnsupportedModel(f"{where}: begin/end/strides must hold one value each")
        layer.in_shape = self.tensors[layer.inputs[0]].shape
        layer.out_shape = self.tensors[layer.outputs[0]].shape

    def _window_params(self, layer: Layer, o, inp: Tensor, w: Tensor, out: Tensor, kh, kw, n, where: str) -> None:
        """A convolution's (regular or depthwise) window geometry and per-channel requantization."""
        layer.params = {
            "weights": w.data,
            "kh": kh,
            "kw": kw,
            "stride": (o.strideH, o.strideW),
            "dilation": (o.dilationHFactor, o.dilationWFactor),
            "padding": self._padding(o, where),
            **self._requant(layer, inp, w, out, n, where),
        }
        self._check_geometry(layer, where)

    @staticmethod
    def _padding(options, where: str) -> str:
        if options.padding == schema.Padding.SAME:
            return "same"
        if options.padding == schema.Padding.VALID:
            return "valid"
        raise UnsupportedModel(f"{where}: padding {options.padding} is not supported")

    def _check_geometry(self, layer: Layer, where: str) -> None:
        p = layer.params
        try:
            h, w = self.tensors[layer.inputs[0]].shape[1:3]
            oh, _ = kpu.conv_output_size(h, p["kh"], p["stride"][0], p["padding"], p["dilation"][0])
            ow, _ = kpu.conv_output_size(w, p["kw"], p["stride"][1], p["padding"], p["dilation"][1])
            kpu._pair("stride", p["stride"], 1, kpu.STRIDE_MAX)
            kpu._pair("dilation", p["dilation"], 1, kpu.DILATION_MAX)
        except ValueError as exc:
            raise UnsupportedModel(f"{where}: {exc}") from None
        if (oh, ow) != tuple(self.tensors[layer.outputs[0]].shape[1:3]):
            raise UnsupportedModel(f"{where}: output shape {self.tensors[layer.outputs[0]].shape} is not {oh}x{ow}")

    # ---------------------------------------------------------------- running

    @property
    def input(self) -> Tensor:
        return self.tensors[self.inputs[0]]

    def random_input(self, seed: int) -> np.ndarray:
        """Uniform random int8 values; for a float input, their dequantized floats (QUANTIZE gives them back)."""
        rng = np.random.default_rng(seed)
        t = self.input
        q = rng.integers(-128, 128, size=t.shape, dtype=np.int64)
        if t.type == "FLOAT32":
            consumer = next((layer for layer in self.layers if t.index in layer.inputs), None)
            if consumer is None or consumer.op != "QUANTIZE":
                return q.astype(np.float32)
            out = self.tensors[consumer.outputs[0]]
            return kpu.dequantize(q, out.scale[0], out.zero_point[0])
        return q.astype(t.dtype)

    def check_input(self, x: np.ndarray) -> None:
        t = self.input
        if x.dtype != t.dtype:
            raise ValueError(f"input must have dtype {np.dtype(t.dtype).name} ({t.describe()}), got {x.dtype}")
        if tuple(x.shape) != t.shape:
            raise ValueError(f"input must have shape {list(t.shape)} ({t.describe()}), got {list(x.shape)}")

    def steps(self, x: np.ndarray, rounding: str = "double", on_layer=None):
        """The network as a generator, so that sync and async (in-simulation) executors share it.

        Yields (layer, lowered, layer_rounding) for each array layer and expects (output, info) sent
        back; runs the host layers itself; on_layer(layer, info) after each layer. Returns
        (values: tensor index -> array, infos: layer index -> info)."""
        self.check_input(x)
        values = {i: t.data for i, t in enumerate(self.tensors) if t.data is not None}
        values[self.inputs[0]] = x
        infos = {}
        for layer in self.layers:
            info = {}
            op_rounding = layer_rounding(layer.op, rounding)
            if layer.on_array:
                out, info = yield layer, lower(layer, values[layer.inputs[0]]), op_rounding
            else:
                out = host_op(self, layer, values, op_rounding)
            tensor = self.tensors[layer.outputs[0]]
            values[layer.outputs[0]] = np.asarray(out).astype(tensor.dtype, copy=False).reshape(tensor.shape)
            infos[layer.index] = info
            if on_layer is not None:
                on_layer(layer, info)
        return values, infos

    def run(self, x: np.ndarray, executor, *, rounding: str = "double", on_layer=None) -> dict[int, np.ndarray]:
        """Every tensor's value (index -> array), feeding each layer the previous layers' outputs;
        executor.run(layer, lowered, rounding) -> (output, info) runs the array layers."""
        steps = self.steps(x, rounding, on_layer)
        try:
            step = next(steps)
            while True:
                step = steps.send(executor.run(*step))
        except StopIteration as stop:
            return stop.value[0]


@dataclass
class Lowered:
    """What the array executes for one layer.

    kind "gemm": out[M, N] = requant((a - input_zp) @ b + bias); a int8 [M, K], b int8 [K, N].
    kind "depthwise": out[P, C] = requant(sum_t (a[P, t, C] - input_zp) * b[t, C] + bias); a int8 [P, T, C],
    b int8 [T, C]."""

    kind: str
    a: np.ndarray
    b: np.ndarray
    requant: dict  # the integer roundings' parameters (multiplier, shift), as models.kpu.gemm takes them
    fp32: dict = field(default_factory=dict)  # rounding "fp32": multiplier (scale bits), shift, act_min/max

    def requant_for(self, rounding: str) -> dict:
        """models.kpu.gemm's requantization keywords for `rounding` (fp32: the float scales' bits)."""
        if kpu._check_rounding(rounding) == "fp32" and self.requant["multiplier"] is not None:
            return {**self.requant, **self.fp32}
        return self.requant


def lower(layer: Layer, x: np.ndarray) -> Lowered:
    """The one lowering of an array layer (used by the golden-model and the RTL executors alike)."""
    p = layer.params
    requant = {k: p[k] for k in ("bias", "input_zp", "multiplier", "shift", "output_zp", "act_min", "act_max")}
    fp32 = p["fp32"]
    if layer.op == "FULLY_CONNECTED":
        k = p["weights"].shape[1]
        return Lowered("gemm", x.reshape(-1, k), np.ascontiguousarray(p["weights"].T), requant, fp32)
    geometry = {"stride": p["stride"], "padding": p["padding"], "dilation": p["dilation"], "input_zp": p["input_zp"]}
    if layer.op == "CONV_2D":
        a, b, _ = kpu.lower_conv2d(x[0], p["weights"], **geometry)
        return Lowered("gemm", a, b, requant, fp32)
    a, _ = kpu.depthwise_patches(x[0], p["kh"], p["kw"], **geometry)
    return Lowered("depthwise", a, kpu.depthwise_weights_as_taps(p["weights"]), requant, fp32)


class ModelExecutor:
    """Array layers on the golden model (models/kpu.py), from the lowered operands."""

    name = "model"

    def run(self, layer: Layer, lowered: Lowered, rounding: str):
        return execute_on_model(lowered, rounding), {}


def execute_on_model(lowered: Lowered, rounding: str) -> np.ndarray:
    r = lowered.requant_for(rounding)
    if lowered.kind == "gemm":
        return kpu.gemm(lowered.a, lowered.b, rounding=rounding, **r)
    acc = ((lowered.a.astype(np.int64) - r["input_zp"]) * lowered.b.astype(np.int64)).sum(axis=1)
    acc = kpu.wrap32(acc + (r["bias"].astype(np.int64) if r["bias"] is not None else 0))
    if r["multiplier"] is None:  # raw int32 accumulators, as gemm
        return acc.astype(np.int32)
    return kpu.requantize(
        acc,
        r["multiplier"],
        r["shift"],
        output_zp=r["output_zp"],
        act_min=r["act_min"],
        act_max=r["act_max"],
        rounding=rounding,
    )


def host_op(net: Network, layer: Layer, values: dict, rounding: str) -> np.ndarray:
    """The layers that stay on the host, with TFLite reference integer semantics."""
    p, x = layer.params, values.get(layer.inputs[0])
    t_in, t_out = net.tensors[layer.inputs[0]], net.tensors[layer.outputs[0]]
    if layer.op == "ADD":
        return kpu.add(x, values[layer.inputs[1]], rounding=rounding, **p)
    if layer.op == "AVERAGE_POOL_2D":
        return kpu.average_pool2d(
            x[0], p["filter_hw"], stride=p["stride"], padding=p["padding"], act_min=p["act_min"], act_max=p["act_max"]
        )[None]
    if layer.op == "SOFTMAX":
        return kpu.softmax(x, beta=p["beta"], input_scale=p["input_scale"])
    if layer.op == "QUANTIZE":
        return kpu.quantize(x, t_out.scale[0], t_out.zero_point[0])
    if layer.op == "DEQUANTIZE":
        return kpu.dequantize(x, t_in.scale[0], t_in.zero_point[0])
    if layer.op == "RESHAPE":
        return x.reshape(t_out.shape)
    if layer.op == "SHAPE":
        return np.array(x.shape, dtype=t_out.dtype)
    if layer.op == "PACK":
        return np.stack([values[i] for i in layer.inputs], axis=layer.options.axis).astype(t_out.dtype)
    if layer.op == "STRIDED_SLICE":
        return _strided_slice_1d(layer, x, *(values[i] for i in layer.inputs[1:4]))
    raise UnsupportedModel(f"op {layer.index} {layer.op}: unsupported op")


def _strided_slice_1d(layer: Layer, x: np.ndarray, begin, end, strides) -> np.ndarray:
    """STRIDED_SLICE of a 1-D tensor (the shape arithmetic converters emit); begin/end/shrink masks."""
    o = layer.options
    if x.ndim != 1 or o.ellipsisMask or o.newAxisMask:
        raise UnsupportedModel(f"op {layer.index} STRIDED_SLICE: only 1-D slices without ellipsis/new-axis masks")
    b = None if o.beginMask & 1 else int(begin[0])
    e = None if o.endMask & 1 else int(end[0])
    if o.shrinkAxisMask & 1:
        return np.asarray(x[b], dtype=x.dtype)
    return x[b : e : int(strides[0])]


def reference_tensors(path: Path | str, x: np.ndarray, rounding: str, indices) -> dict[int, np.ndarray]:
    """The TFLite interpreter's value of each tensor in `indices` for input x (all tensors preserved).

    rounding "double": reference kernels (BUILTIN_REF); "single" and "fp32": the default interpreter (XNNPACK
    delegate)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType  # heavy: only when checking

    resolver = OpResolverType.BUILTIN_REF if rounding == "double" else OpResolverType.AUTO
    with warnings.catch_warnings():  # "preserve_all_tensors is for debugging": that is what it is for here
        warnings.simplefilter("ignore", UserWarning)
        interpreter = Interpreter(
            model_path=str(path), experimental_op_resolver_type=resolver, experimental_preserve_all_tensors=True
        )
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    return {i: interpreter.get_tensor(i) for i in indices}
