"""Golden models: plain Python/numpy, no simulator or cocotb imports."""
