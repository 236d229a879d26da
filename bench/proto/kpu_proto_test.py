"""Overhead prototype (issue 11): one GEMM on kpu_top_simsrc (HDL clock, operand beats played
from a memory filled with one $readmemh), results read by the same Python StreamSink as the
BFM's; the bench compares the result matrix with the model."""

import cocotb
import numpy as np
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge, Timer

from asicdv import service
from asicdv.stream import Stream, StreamSink

# Native-harness word record -> (bit offset, width) of each field in the memory record.
FIELDS = [
    ("a", 2, 64),
    ("b", 2, 64),
    ("last", 1, 1),
    ("bias", 8, 256),
    ("mult", 8, 256),
    ("shift", 2, 48),
    ("in_zp", 1, 8),
    ("out_zp", 1, 8),
    ("act_min", 1, 8),
    ("act_max", 1, 8),
    ("raw", 1, 1),
    ("pool", 1, 1),
]


def records_to_hex(words: np.ndarray) -> str:
    recs = words.reshape(-1, sum(n for _, n, _ in FIELDS)).astype(object)
    value = np.zeros(len(recs), dtype=object)
    col, bit = 0, 0
    for _, nwords, width in FIELDS:
        field = np.zeros(len(recs), dtype=object)
        for i in range(nwords):
            field = field | (recs[:, col + i] << (32 * i))
        value = value | ((field & ((1 << width) - 1)) << bit)
        col, bit = col + nwords, bit + width
    return "\n".join(format(v, "x") for v in value) + "\n"


@cocotb.test()
async def ProtoGemm(dut):
    request = service.request()
    words = np.fromfile(request["beats"], dtype="<u4")
    with open("beats.hex", "w") as f:
        f.write(records_to_hex(words))
    n_beats = len(words) // sum(n for _, n, _ in FIELDS)
    rows, cols = request["rows"], request["cols"]
    dut.load.value = 0
    dut.rst.value = 1
    await Timer(30, "ns")
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    sink = StreamSink(Stream.from_prefix(dut, "res"), 10.0)
    await RisingEdge(dut.clk)
    start = get_sim_time("ns")
    dut.n_beats.value = n_beats
    dut.load.value = 1
    await RisingEdge(dut.clk)
    dut.load.value = 0
    out = []
    for _ in range(request["result_beats"]):
        beat = await sink.recv()
        out.append(beat["data"].to_bytes(4 * cols, "little"))
    np.frombuffer(b"".join(out), dtype="<u4").tofile(request["out"])
    service.respond({"cycles": round((get_sim_time("ns") - start) / 10.0), "rows": rows})
