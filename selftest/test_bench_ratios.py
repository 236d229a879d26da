"""cocotb against each native build of a side-by-side row (asicdv.tools.bench.ratios), without a simulator."""

from asicdv.tools import bench


def test_ratios_against_each_native_build_that_was_run():
    row = {
        "cocotb": {"cycles_per_s": 100, "cycles_per_s_after_startup": 900},
        "native": {"cycles_per_s": 1000},
        "native_o3": {"cycles_per_s": 1500},
    }
    assert bench.ratios(row) == {
        "default": {"whole_process": 0.1, "simulation": 0.9},
        "o3": {"whole_process": 0.0667, "simulation": 0.6},
    }
    del row["native_o3"]
    assert set(bench.ratios(row)) == {"default"}
