"""`asicdv kpu net` on the RTL: a real network (DS-CNN keyword spotting: 10x4 stride-2 stem, depthwise 3x3 and
pointwise convs, FC) in one simulation, every layer bit-exact against the TFLite reference kernels."""

import json

import pytest

from asicdv import project
from asicdv.tools import cli

KWS = project.current().data("mlperf_tiny") / "keyword_spotting.tflite"


@pytest.mark.skipif(not KWS.is_file(), reason="../shared/data/mlperf_tiny is not there")
def test_keyword_spotting_on_the_rtl_is_bit_exact(capsys):
    code = cli.main(["kpu", "net", str(KWS), "--check", "--seed", "11", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["bit_exact"] and result["engine"] == "RTL"
    layers = {op: [r for r in result["layers"] if r["op"] == op] for op in ("CONV_2D", "DEPTHWISE_CONV_2D")}
    convs, depthwise = layers["CONV_2D"], layers["DEPTHWISE_CONV_2D"]
    assert len(convs) == 5 and all(r["on"] == "RTL" and r["cycles"] > 0 for r in convs)
    # pointwise 1x1 convs, 125 pixels x 64 x 64 on the 8x8 array: measured 97.5%
    assert all(r["utilization"] > 0.9 for r in convs)
    # the goal: >= 80% MAC utilization on depthwise 3x3 layers with C >= 8
    assert len(depthwise) == 4 and all(r["on"] == "RTL" and r["utilization"] >= 0.8 for r in depthwise)
    fc = next(r for r in result["layers"] if r["op"] == "FULLY_CONNECTED")
    assert fc["rounding"] == "single" and fc["on"] == "RTL"
    assert result["cycles"] == sum(r["cycles"] or 0 for r in result["layers"])
