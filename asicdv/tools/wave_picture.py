"""A picture of the waveform at a failure: the cycles before the first mismatch, as an SVG.

The waves rerun of a failure bucket leaves a dump (VCD, or FST with lz4). pywellen reads it;
each of the top's ports is sampled at the rising clock edges of a window that ends where the
test failed (a test stops at its first mismatch, so the simulated end time is the mismatch); and
wavedrom draws the window. A GTKWave save file beside it opens the full dump at that time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

UNITS_PER_NS = {"fs": 1e6, "ps": 1e3, "ns": 1.0, "us": 1e-3, "ms": 1e-6, "s": 1e-9}


@dataclass(frozen=True)
class Picture:
    svg: Path
    gtkw: Path
    start_ns: float
    end_ns: float
    signals: tuple[str, ...]


def _top_ports(waveform, clock: str) -> tuple[object, list]:
    """The clock and the other ports of the top (the simulator's `$rootio` scope, else the first
    scope's own signals)."""
    variables = list(waveform.all_vars())
    ports = [v for v in variables if v.full_name.startswith("$rootio.")]
    if not ports:
        top = variables[0].full_name.split(".")[0] if variables else ""
        ports = [v for v in variables if v.full_name.count(".") == 1 and v.full_name.startswith(top + ".")]
    by_name = {v.name: v for v in ports}
    if clock not in by_name:
        raise ValueError(f"no clock {clock!r} among the dump's ports ({', '.join(by_name) or 'none'})")
    return by_name[clock], [v for v in ports if v.name != clock]


def _wave(values: list, width: int) -> tuple[str, list[str]]:
    """wavedrom characters for one signal sampled once per cycle (None: unknown)."""
    wave, data, previous = [], [], object()
    for value in values:
        if value == previous:
            wave.append(".")
            continue
        previous = value
        if value is None or (isinstance(value, str) and not value.isdigit()):
            wave.append("x")
        elif width == 1:
            wave.append(str(int(value)))
        else:
            wave.append("=")
            data.append(f"{int(value):x}")
    return "".join(wave), data


def render(
    dump: Path, end_ns: float, out: Path, *, clock: str = "clk", period_ns: float = 10.0, cycles: int = 24
) -> Picture:
    """Draw the `cycles` clock periods before `end_ns` of `dump` into `out`.svg and `out`.gtkw."""
    import json

    import pywellen
    import wavedrom

    waveform = pywellen.Waveform(str(dump))
    unit = str(waveform.timescale.unit).lower().rsplit(".", 1)[-1]
    per_ns = UNITS_PER_NS[unit] / waveform.timescale.factor  # dump time units in one ns
    clock_var, ports = _top_ports(waveform, clock)
    end = max(period_ns, end_ns)
    start = max(0.0, end - cycles * period_ns)
    # Sample just before each rising edge: the values the DUT saw at that edge.
    edges = [start + i * period_ns for i in range(int((end - start) // period_ns) + 1)]
    sample_at = [max(0, int((t - period_ns / 4) * per_ns)) for t in edges]
    lanes = [{"name": clock, "wave": "p" + "." * (len(edges) - 1)}]
    for var in ports:
        values = [var.signal.value_at(t) for t in sample_at]
        wave, data = _wave(values, var.bitwidth)
        lane = {"name": var.name, "wave": wave}
        if data:
            lane["data"] = data
        lanes.append(lane)
    source = {
        "signal": lanes,
        "head": {"text": f"{start:.0f} ns .. {end:.0f} ns: the cycles before the failure"},
        "config": {"hscale": 2},
    }
    svg, gtkw = out.with_suffix(".svg"), out.with_suffix(".gtkw")
    svg.write_text(wavedrom.render(json.dumps(source)).tostring())
    names = [clock_var.full_name, *(v.full_name for v in ports)]
    marker = int(end * per_ns)
    gtkw.write_text(
        f'[dumpfile] "{dump.resolve()}"\n[timestart] {int(start * per_ns)}\n'
        f"*-20.000000 {marker} {' '.join(['-1'] * 26)}\n" + "".join(f"{n.replace('$rootio.', '')}\n" for n in names)
    )
    return Picture(svg, gtkw, start, end, tuple(v.name for v in ports))
