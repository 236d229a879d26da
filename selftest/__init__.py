"""The framework's own tests (the chip's are in tests/ and tb/), with a fixture project of
their own in selftest/fixture/."""
