"""Reference model of mac (mac_pipe): what a user writes into the hook models/mac.py."""

from __future__ import annotations


def expected(stream: str, beat: dict[str, int]) -> dict[str, list[dict[str, int]]]:
    """Every beat taken on `in` gives one result on `out`: y = a * b + c, 16 bits."""
    return {"out": [{"y": (beat["a"] * beat["b"] + beat["c"]) & 0xFFFF}]}
