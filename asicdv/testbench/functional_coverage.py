"""Functional coverage: covergroups declared up front, collected per run, holes reported.

Blocks declare coverpoints and crosses with cocotb-coverage (`CoverPoint`, `CoverCross`
decorators on a sampling function, every bin listed up front) in `tb/<block>/coverage.py`, and
their scoreboards call the sampling functions. We chose cocotb-coverage over pyvsc: it is pure
Python with no solver to install, its bins and crosses are what SystemVerilog covergroups have, and
it exports and merges its own XML/YAML database; we need no constraint solver (hypothesis draws
the stimulus).

At the end of every run `BlockTest` writes `coverage.json` (every coverpoint and cross with every
declared bin and its hits: a bin with 0 hits is a hole) and `coverage.xml` (cocotb-coverage's own
database) into the run's directory; a regression merges the JSON files by summing hits.
"""

from __future__ import annotations

import json
from pathlib import Path

from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db

__all__ = ["CoverCross", "CoverPoint", "bins", "hit_count", "holes", "merge", "sample_bin", "summary", "write"]


def _label(bin_) -> str:
    return ",".join(map(str, bin_)) if isinstance(bin_, tuple) else str(bin_)


def bins() -> dict[str, dict[str, int]]:
    """Every declared coverpoint and cross of this simulation: {name: {bin: hits}}."""
    return {
        name: {_label(b): hits for b, hits in item.detailed_coverage.items()}
        for name, item in coverage_db.items()
        if isinstance(item, (CoverPoint, CoverCross))
    }


def sample_bin(point: str, label: str) -> None:
    """One hit of a declared coverpoint's bin, named by its coverage.json label: what the point's own
    sampling function records when its transformation lands in that bin (the hit, the coverage
    level up the tree, the bin's callbacks). For a stimulus that reaches a bin without a
    transaction of the block's sampler (a formal witness replayed as a directed test)."""
    item = coverage_db.get(point)
    if not isinstance(item, CoverPoint):
        raise KeyError(f"no coverpoint {point!r} declared (declared: {', '.join(sorted(bins())) or 'none'})")
    keys = {_label(label_): key for label_, key in zip(item.detailed_coverage, item._hits, strict=True)}
    if label not in keys:
        raise KeyError(f"coverpoint {point} has no bin {label!r} (bins: {', '.join(keys)})")
    before = item.coverage
    item._hits[keys[label]] += 1  # cocotb-coverage has no public call that hits a bin by name
    if keys[label] in item._bins_callbacks:
        item._bins_callbacks[keys[label]]()
    item._parent._update_coverage(item.coverage - before)


def hit_count() -> int:
    """Bins hit so far: `summary(bins())[0]` without building the dicts (read after every
    hypothesis example; a bin once hit stays hit, so the difference of two counts is the new bins)."""
    return sum(
        1
        for item in coverage_db.values()
        if isinstance(item, (CoverPoint, CoverCross))
        for hits in _hits(item).values()
        if hits
    )


def _hits(item) -> dict:
    """An item's {bin: hits}: `detailed_coverage` builds a new dict per call for a labelled point."""
    hits = getattr(item, "_hits", None)
    return hits if isinstance(hits, dict) else item.detailed_coverage


def holes(points: dict[str, dict[str, int]]) -> list[str]:
    return [f"{name}[{b}]" for name, counts in sorted(points.items()) for b, hits in counts.items() if hits == 0]


def summary(points: dict[str, dict[str, int]]) -> tuple[int, int]:
    """(bins hit, bins declared)."""
    counts = [hits for point in points.values() for hits in point.values()]
    return sum(1 for hits in counts if hits), len(counts)


def merge(files: list[Path]) -> dict[str, dict[str, int]]:
    """Sum the hits of several runs' coverage.json (bins declared in any of them)."""
    merged: dict[str, dict[str, int]] = {}
    for path in files:
        for name, counts in json.loads(Path(path).read_text()).items():
            point = merged.setdefault(name, {})
            for b, hits in counts.items():
                point[b] = point.get(b, 0) + hits
    return merged


def write(directory: Path) -> dict[str, dict[str, int]] | None:
    """coverage.json and coverage.xml into `directory`; None when the block declares no coverage."""
    points = bins()
    if not points:
        return None
    (directory / "coverage.json").write_text(json.dumps(points, indent=1, sort_keys=True))
    coverage_db.export_to_xml(str(directory / "coverage.xml"))
    return points
