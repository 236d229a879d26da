"""KPU int8 MAC array testbench."""
