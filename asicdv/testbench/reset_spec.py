"""A block's reset as the host hands it to the simulation (ASICDV_RESET). Apart from clocking.py
so that host-side code (asicdv.tools.blocks) reads block.yaml without importing cocotb."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ResetSpec:
    name: str = "rst"
    active_high: bool = True
    cycles: int = 3

    def to_env(self) -> str:
        return f"{self.name},{'high' if self.active_high else 'low'},{self.cycles}"

    @classmethod
    def from_env(cls) -> ResetSpec:
        text = os.environ.get("ASICDV_RESET")
        if not text:
            return cls()
        name, active, cycles = text.split(",")
        return cls(name, active == "high", int(cycles))
