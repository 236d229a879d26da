"""Run the overhead prototype: the iterative/pipelined miner 2^16 job, GPI clock vs HDL clock,
interleaved; hits compared with hashlib; native harness for the limit."""

import dataclasses
import json
import statistics
import sys

from asicdv import ROOT, bench, sim
from asicdv.blocks import get_block

variant = sys.argv[1] if len(sys.argv) > 1 else "iterative"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
extra = sys.argv[3:]  # extra verilator flags for all flows, e.g. -O3 --x-assign fast
proto = ROOT / "bench" / "proto"
base = get_block("sha256d")
plain = dataclasses.replace(base, build_args=tuple(base.build_args) + tuple(extra))
hdl = dataclasses.replace(
    base,
    top="sha256d_miner_hdlclk",
    sources=tuple(base.sources) + (proto / "sha256d_miner_hdlclk.v",),
    build_args=tuple(base.build_args)
    + ("--timing", "--timescale", "1ns/1ps", "-CFLAGS", "-std=c++20 -fcoroutines")
    + tuple(extra),
)
job = bench.miner_job(1 << 16, 8)
expected = bench.miner_hits_hashlib(job)
request = {
    "midstates": [list(job.midstates[0])],
    "tail": job.tail.hex(),
    "nonce_start": job.nonce_start,
    "nonce_end": job.nonce_end,
    "target": f"{job.target:064x}",
}
builds = {"gpi": sim.build(plain, variant), "hdl": sim.build(hdl, variant)}
exe = bench.native_executable(builds["gpi"])
walls = {"gpi": [], "hdl": [], "native": []}
cycles = {}
for _ in range(runs):
    for flow in ("gpi", "hdl"):
        env = {"ASICDV_HDL_CLOCK": "1"} if flow == "hdl" else {}
        r = sim.run(
            builds[flow],
            "ProtoMine",
            1,
            module="bench.proto.proto_clock_test",
            request=request,
            run_dir=ROOT / "results" / "proto" / flow,
            extra_env=env,
        )
        assert r.passed, r.message
        hits = [(h["midstate"], h["nonce"]) for h in r.response["hits"]]
        assert hits == expected, (flow, len(hits), len(expected))
        walls[flow].append(r.wall_s)
        cycles[flow] = r.sim_time_ns / 10
    info, hits, wall = bench.run_miner_native(exe, job)
    assert hits == expected
    walls["native"].append(wall)
    cycles["native"] = info["cycles"]
out = {
    f: {
        "cycles": cycles[f],
        "median_s": statistics.median(w),
        "runs": w,
        "cycles_per_s": cycles[f] / statistics.median(w),
    }
    for f, w in walls.items()
}
for f in ("gpi", "hdl"):
    out[f]["ratio"] = out[f]["cycles_per_s"] / out["native"]["cycles_per_s"]
print(json.dumps({"variant": variant, "extra_flags": extra, **out}, indent=1))
