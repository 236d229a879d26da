"""Mutation testing: `asicdv mutate BLOCK [-n N] [--seed S] [-j N] [--variant V]`.

Mutation sites come from slang's SystemVerilog front end (pyslang): the syntax tree gives the
exact source range of every operator, constant, condition and assignment, and the elaborated
design gives each assignment's width (for the stuck bit) and tells which code a variant
actually builds (a mutant of the pipelined engine is never run on the iterative variant).
pyslang was chosen over Yosys `mutate` because Yosys mutates its netlist, and mapping a
netlist mutation back to a one-token source change (a diff a designer can read, a file
Verilator can build with the project's own flags) is not possible in general.

Operators (each mutant is exactly one change to one file):
  binary   an operator swapped (+ -, == !=, < <=, && ||, & |, ^ &, << >>, * +)
  const    a constant plus or minus one (same size and base)
  cond     an if / ?: condition inverted: c -> !(c)
  stuck    one bit of an assignment's value stuck at 0 or 1
  drop     a procedural assignment dropped (replaced by an empty statement)

Mutants are numbered: the seed shuffles each operator's sites and the lists are interleaved,
so (sources, seed, index) always gives the same mutant. Each mutant is built once (its own
build cache key: the mutated source) and run on the block's smoke tests, fastest first,
stopping at the first failure. A build error or a hang (timeout: 3x the unmutated run) counts
as killed and is reported apart. Equivalent mutants are judged by hand in
rtl/<block>/mutation_equivalents.yaml (file, line, original, replacement, reason); every other
survivor then goes to a formal equivalence check (asicdv.tools.mutation_formal; --no-equiv skips
it): proved equivalent leaves the score's denominator, not equivalent comes with a distinguishing
trace replayed as a cocotb test. The score is printed before and after that check.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import random
import re
import shutil
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from asicdv import UserError
from asicdv import project as projects
from asicdv.tools import mutation_formal
from asicdv.tools import simulator as sim
from asicdv.tools.blocks import Block, get_block
from asicdv.tools.coverage_run import smoke_seed, smoke_tests

OPERATORS = ("binary", "const", "cond", "stuck", "drop")
SWAPS = {
    "+": "-",
    "-": "+",
    "*": "+",
    "==": "!=",
    "!=": "==",
    "<": "<=",
    "<=": "<",
    ">": ">=",
    ">=": ">",
    "&&": "||",
    "||": "&&",
    "&": "|",
    "|": "&",
    "^": "&",
    "<<": ">>",
    ">>": "<<",
    ">>>": ">>",
}
# Constants here would change a width or a structure, not a value the tests can see.
_NO_CONST_UNDER = {
    "ElementSelect",
    "SimpleRangeSelect",
    "AscendingRangeSelect",
    "DescendingRangeSelect",
    "VariableDimension",
    "RangeDimensionSpecifier",
    "MultipleConcatenationExpression",
    "ParameterDeclaration",
    "LoopGenerate",
}
_BEHAVIOUR = {"ContinuousAssign", "AlwaysBlock", "AlwaysCombBlock", "AlwaysFFBlock", "AlwaysLatchBlock"}


@dataclass(frozen=True)
class Mutant:
    operator: str
    file: Path  # the original source
    start: int  # byte range replaced
    end: int
    original: str
    replacement: str
    line: int
    anchor: int = -1  # offset of the syntax node the elaborated design must contain
    index: int = -1  # position in the numbered list (set by generate)

    @property
    def name(self) -> str:
        return f"m{self.index:03d}-{self.operator}-{self.file.name}:{self.line}"

    def apply(self, text: bytes) -> bytes:
        return text[: self.start] + self.replacement.encode() + text[self.end :]

    def diff(self) -> str:
        before = self.file.read_text()
        after = self.apply(self.file.read_bytes()).decode()
        rel = (
            self.file.relative_to(projects.current().root)
            if self.file.is_relative_to(projects.current().root)
            else self.file
        )
        return "".join(
            difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{rel}", f"b/{rel}", n=1)
        )


def _kind(node) -> str:
    return str(node.kind).split(".")[-1]


def _ancestors(node):
    node = node.parent
    while node is not None:
        yield _kind(node)
        node = node.parent


def _range(node) -> tuple[int, int]:
    return node.sourceRange.start.offset, node.sourceRange.end.offset


def _const_replacements(size: str, base: str, digits: str) -> list[str]:
    """value-1 and value+1 written like the original (same size and base), when they fit."""
    radix = {"d": 10, "h": 16, "b": 2, "o": 8}.get(base.lower().lstrip("'s")[:1])
    clean = digits.replace("_", "")
    if radix is None or not clean or re.search(r"[xXzZ?]", clean):
        return []
    value = int(clean, radix)
    width = int(size) if size else None
    out = []
    for new in (value - 1, value + 1):
        if new < 0 or (width is not None and new >= 1 << width):
            continue
        text = {10: str(new), 16: format(new, "x"), 2: format(new, "b"), 8: format(new, "o")}[radix]
        out.append(f"{size}{base}{text}")
    return out


def _literal_value(node) -> int | None:
    """The value of a sized or unsized literal without x/z, else None."""
    kind = _kind(node)
    if kind == "IntegerLiteralExpression" and node.literal.rawText.isdigit():
        return int(node.literal.rawText)
    if kind == "IntegerVectorExpression":
        radix = {"d": 10, "h": 16, "b": 2, "o": 8}.get(node.base.rawText.lower().lstrip("'s")[:1])
        digits = node.value.rawText.replace("_", "")
        if radix and digits and not re.search(r"[xXzZ?]", digits):
            return int(digits, radix)
    return None


def _constant(expression, context) -> int | None:
    """The value of an expression the elaborated design fixes (a literal, a localparam), else None."""
    import pyslang

    try:
        value = getattr(expression.eval(context), "value", None)
        if isinstance(value, pyslang.SVInt) and not value.hasUnknown:
            return int(value)
    except Exception:  # not a constant expression: slang says so in its own way
        return None
    return None


def _elaborate(
    block: Block, variant: str
) -> tuple[dict[tuple[str, int], tuple[int, int | None]], set[tuple[str, int]]]:
    """With the variant's parameters: {(file, offset of an assignment): (LHS width, RHS value when
    constant)} and the set of
    (file, offset) of every expression/statement the elaborated design contains."""
    import pyslang
    from pyslang import ast, syntax

    options = ast.CompilationOptions()
    options.paramOverrides = [f"{k}={v}" for k, v in block.variant(variant).items()]
    options.topModules = {block.top}
    compilation = ast.Compilation(pyslang.Bag([options]))
    for source in block.sources:
        compilation.addSyntaxTree(syntax.SyntaxTree.fromFile(str(source)))
    widths: dict[tuple[str, int], tuple[int, int | None]] = {}
    present: set[tuple[str, int]] = set()
    manager = compilation.sourceManager
    context = ast.EvalContext(compilation.getRoot())

    def visit(obj):
        if isinstance(obj, ast.GenerateBlockSymbol) and obj.isUninstantiated:
            return ast.VisitAction.Skip  # the branch of a generate-if these parameters do not build
        node = getattr(obj, "syntax", None)
        if node is not None and isinstance(obj, (ast.Expression, ast.Statement)):
            key = (str(Path(manager.getFileName(node.sourceRange.start)).resolve()), node.sourceRange.start.offset)
            present.add(key)
            if isinstance(obj, ast.AssignmentExpression) and obj.left.type.bitWidth:
                widths[key] = (obj.left.type.bitWidth, _constant(obj.right, context))
        return ast.VisitAction.Advance

    compilation.getRoot().visit(visit)
    return widths, present


def sites(block: Block, files: list[Path], widths: dict[tuple[str, int], tuple[int, int | None]]) -> list[Mutant]:
    """Every mutation site of the given files, in source order."""
    return [mutant for path in files for mutant in _file_sites(path, widths)]


_ASSIGNMENTS = ("NonblockingAssignmentExpression", "AssignmentExpression")


def _file_sites(path: Path, widths: dict[tuple[str, int], tuple[int, int | None]]) -> list[Mutant]:
    from pyslang import syntax

    out: list[Mutant] = []
    text = path.read_bytes()
    nodes = []
    syntax.SyntaxTree.fromFile(str(path)).root.visit(
        lambda n: nodes.append(n) if not str(n.kind).startswith("TokenKind") else None
    )
    resolved = str(path.resolve())

    def add(operator, start, end, replacement, anchor):
        original = text[start:end].decode()
        if replacement != original:
            line = text.count(b"\n", 0, start) + 1
            out.append(Mutant(operator, path, start, end, original, replacement, line, anchor))

    for node in nodes:
        kind = _kind(node)
        ancestors = set(_ancestors(node))
        if not ancestors & _BEHAVIOUR:
            continue  # declarations, parameters, generate structure: not behaviour
        start, end = _range(node)
        is_assignment = "Assignment" in kind  # `x <= y` is an assignment, not a comparison
        if kind.endswith("Expression") and hasattr(node, "operatorToken") and hasattr(node, "left"):
            token = node.operatorToken
            # a replication count is a width, not a value: {(AW+1){1'b0}} -> {(AW-1){1'b0}} is still zero
            if not is_assignment and token.rawText in SWAPS and "MultipleConcatenationExpression" not in ancestors:
                offset = token.location.offset
                add("binary", offset, offset + len(token.rawText), SWAPS[token.rawText], start)
        elif kind in ("IntegerVectorExpression", "IntegerLiteralExpression"):
            if ancestors & _NO_CONST_UNDER:
                continue
            if kind == "IntegerLiteralExpression":
                if node.literal.rawText.isdigit():
                    value = int(node.literal.rawText)
                    for new in (value - 1, value + 1):
                        if new >= 0:
                            add("const", start, end, str(new), start)
            else:
                size = node.size.rawText if node.size is not None else ""
                for new in _const_replacements(size, node.base.rawText, node.value.rawText):
                    add("const", start, end, new, start)
        elif kind in ("ConditionalStatement", "ConditionalExpression"):
            p_start, p_end = _range(node.predicate)
            anchor = p_start if kind == "ConditionalExpression" else start
            add("cond", p_start, p_end, f"!({text[p_start:p_end].decode()})", anchor)
        elif kind == "ExpressionStatement" and _kind(node.expr) in _ASSIGNMENTS:
            add("drop", start, end, ";", start)
        if kind in _ASSIGNMENTS:
            width, constant = widths.get((resolved, start), (0, None))
            if width:
                r_start, r_end = _range(node.right)
                value = text[r_start:r_end].decode()
                bit = zlib.crc32(f"{path.name}:{start}".encode()) % width
                if constant is None:
                    constant = _literal_value(node.right)
                # On a constant, the polarity the bit already has is no change at all: skip it.
                if constant is None or not constant >> bit & 1:
                    add("stuck", r_start, r_end, f"(({value}) | ({width}'d1 << {bit}))", start)
                if constant is None or constant >> bit & 1:
                    add("stuck", r_start, r_end, f"(({value}) & ~({width}'d1 << {bit}))", start)
    return out


def own_files(block: Block) -> list[Path]:
    """The block's own RTL (rtl/<block>/): a used block's RTL is mutated with that block."""
    return [s for s in block.sources if s.parent.name == block.name] or list(block.sources)


def generate(block: Block, count: int, seed: int, variants: list[str] | None = None) -> list[Mutant]:
    """The first `count` mutants of the block for this seed (all of them when count is 0).

    Only sites the elaborated design contains under at least one of the variants are kept."""
    variants = variants or list(block.variants)
    widths: dict[tuple[str, int], int] = {}
    present: set[tuple[str, int]] = set()
    for variant in variants:
        w, p = _elaborate(block, variant)
        widths.update(w)
        present |= p
    everything = [m for m in sites(block, own_files(block), widths) if (str(m.file.resolve()), m.anchor) in present]
    rng = random.Random(seed)
    by_operator = {op: [m for m in everything if m.operator == op] for op in OPERATORS}
    for op in OPERATORS:
        rng.shuffle(by_operator[op])
    ordered: list[Mutant] = []
    while any(by_operator.values()):
        for op in OPERATORS:
            if by_operator[op]:
                ordered.append(by_operator[op].pop(0))
    chosen = ordered[:count] if count else ordered
    return [dataclasses.replace(m, index=i) for i, m in enumerate(chosen)]


def variants_of(mutant: Mutant, block: Block, variants: list[str], present: dict[str, set]) -> list[str]:
    return [v for v in variants if (str(mutant.file.resolve()), mutant.anchor) in present[v]]


# ---------------------------------------------------------------- equivalents


@dataclass(frozen=True)
class Judgement:
    file: str
    line: int
    original: str
    replacement: str
    reason: str

    def matches(self, mutant: Mutant) -> bool:
        return (
            mutant.file.name == self.file
            and mutant.line == self.line
            and mutant.original.strip() == self.original.strip()
            and mutant.replacement.strip() == self.replacement.strip()
        )


def load_equivalents(block: Block) -> list[Judgement]:
    path = block.project.root / "rtl" / block.name / "mutation_equivalents.yaml"
    if not path.exists():
        return []
    try:
        entries = yaml.safe_load(path.read_text()) or []
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    out = []
    for index, entry in enumerate(entries if isinstance(entries, list) else [None]):
        keys = ("file", "line", "original", "replacement", "reason")
        if not isinstance(entry, dict) or any(k not in entry for k in keys) or not str(entry["reason"]).strip():
            raise UserError(f"{path} entry {index + 1}: needs {', '.join(keys)} (a non-empty reason)")
        out.append(
            Judgement(
                str(entry["file"]),
                int(entry["line"]),
                str(entry["original"]),
                str(entry["replacement"]),
                str(entry["reason"]).strip(),
            )
        )
    return out


# ---------------------------------------------------------------- running


@dataclass
class Outcome:
    mutant: Mutant
    status: str  # killed | survived | equivalent (by hand) | proved_equivalent (formal) | build_error | hang
    killed_by: str = ""  # the variant:test that failed
    tests_run: list[str] = field(default_factory=list)
    detail: str = ""
    seconds: float = 0.0
    formal: str = ""  # a survivor's equivalence check: proved | not_equivalent | bounded | undecided
    formal_detail: str = ""
    killing_test: str = ""  # not equivalent: the command replaying the distinguishing trace
    formal_seconds: float = 0.0

    def as_dict(self) -> dict:
        m = self.mutant
        return {
            "index": m.index,
            "name": m.name,
            "operator": m.operator,
            "file": str(m.file.relative_to(projects.current().root)),
            "line": m.line,
            "original": m.original,
            "replacement": m.replacement,
            "status": self.status,
            "killed_by": self.killed_by,
            "tests_run": self.tests_run,
            "detail": self.detail[:2000],
            "seconds": round(self.seconds, 1),
            "formal": self.formal,
            "formal_detail": self.formal_detail,
            "killing_test": self.killing_test,
            "formal_seconds": self.formal_seconds,
            "diff": m.diff(),
        }


def mutant_block(block: Block, mutant: Mutant, directory: Path) -> Block:
    """The block with the mutated file in place of the original (same file name, so the same
    module and the build key changes with the content)."""
    directory.mkdir(parents=True, exist_ok=True)
    mutated = directory / mutant.file.name
    mutated.write_bytes(mutant.apply(mutant.file.read_bytes()))
    sources = tuple(mutated if s == mutant.file else s for s in block.sources)
    # -Wno-fatal: a mutant that only draws a lint warning is still a design the tests must catch.
    return dataclasses.replace(block, sources=sources, build_args=(*block.build_args, "-Wno-fatal"))


def baseline(block: Block, variant: str, tests: list[str], run_root: Path, log) -> dict[str, float]:
    """Run the unmutated design: every test's wall time. Tests that fail here are left out."""
    build = sim.build(block, variant, build_root=block.project.build / "mutants")
    walls: dict[str, float] = {}
    for test in tests:
        result = sim.run(
            build, test, smoke_seed(block.name, variant, test), run_dir=run_root / "baseline" / variant / test
        )
        if result.passed:
            walls[test] = result.wall_s
        else:
            log(
                f"warning: {block.name}[{variant}] {test} fails on the unmutated design; left out: "
                f"{result.message.splitlines()[0] if result.message else ''}"
            )
    return walls


def run_mutant(block: Block, mutant: Mutant, plan: dict[str, dict[str, float]], work: Path) -> Outcome:
    """Build the mutant for each variant that contains it and run the tests, fastest first, until one fails."""
    start = time.monotonic()
    outcome = Outcome(mutant, "survived")
    source_dir = work / "src" / f"m{mutant.index:03d}"  # no ":" in a path make sees
    mutated = mutant_block(block, mutant, source_dir)
    try:
        for variant, walls in plan.items():
            try:
                build = sim.build(mutated, variant, build_root=work / "builds")
            except sim.BuildError as exc:
                outcome.status, outcome.killed_by, outcome.detail = "build_error", f"{variant}:build", str(exc)
                return outcome
            try:
                for test, wall in sorted(walls.items(), key=lambda tw: tw[1]):
                    outcome.tests_run.append(f"{variant}:{test}")
                    seed = smoke_seed(block.name, variant, test)
                    result = sim.run(
                        build,
                        test,
                        seed,
                        run_dir=work / "runs" / f"m{mutant.index:03d}" / variant / test,
                        timeout_s=max(3 * wall, wall + 10),
                    )
                    if not result.passed:
                        hung = result.message.startswith("simulation hung")
                        outcome.status = "hang" if hung else "killed"
                        outcome.killed_by = f"{variant}:{test}"
                        outcome.detail = result.message.splitlines()[0] if result.message else ""
                        return outcome
            finally:
                shutil.rmtree(build.directory, ignore_errors=True)  # a mutant build is used once
        return outcome
    finally:
        outcome.seconds = time.monotonic() - start
        shutil.rmtree(source_dir, ignore_errors=True)


def mutate(args: argparse.Namespace) -> int:
    block = get_block(args.block)
    variants = [args.variant] if args.variant else list(block.variants)
    for v in variants:
        block.variant(v)
    if args.n < 0 or args.jobs < 1 or args.equiv_depth < 1:
        raise UserError("-n must be >= 0, -j >= 1 and --equiv-depth >= 1")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    print(
        f"mutate {block.name}: seed {seed} (reproduce: asicdv mutate {block.name} -n {args.n} --seed {seed}"
        f"{f' --variant {args.variant}' if args.variant else ''})",
        flush=True,
    )
    mutants = generate(block, args.n, seed, variants)
    if args.only is not None:
        mutants = [m for m in mutants if m.index in args.only]
    present = {v: _elaborate(block, v)[1] for v in variants}
    out_dir = Path(args.out) if args.out else projects.current().results / "mutate" / block.name
    work = projects.current().build / "mutants" / block.name
    out_dir.mkdir(parents=True, exist_ok=True)
    tests = [args.test] if args.test else smoke_tests(block)
    for t in tests:
        block.test(t)
    walls = {v: baseline(block, v, tests, work, print) for v in variants}
    baseline_failures = {v: [t for t in tests if t not in w] for v, w in walls.items()}
    if not all(walls.values()):
        raise RuntimeError(f"no test passes on the unmutated {block.name} ({', '.join(variants)}): nothing to measure")
    equivalents = load_equivalents(block)
    print(
        f"{len(mutants)} mutant(s); tests per variant, fastest first: "
        + "; ".join(f"{v}: {len(w)} ({sum(w.values()):.0f} s)" for v, w in walls.items()),
        flush=True,
    )
    lock = threading.Lock()

    def one(mutant: Mutant) -> Outcome:
        judgement = next((j for j in equivalents if j.matches(mutant)), None)
        if judgement:
            outcome = Outcome(mutant, "equivalent", detail=judgement.reason)
        else:
            plan = {v: walls[v] for v in variants_of(mutant, block, variants, present)}
            outcome = run_mutant(block, mutant, plan, work)
        with lock:
            print(
                f"{mutant.name:40} {outcome.status:11} {outcome.killed_by or ''} ({outcome.seconds:.0f} s)", flush=True
            )
        return outcome

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        outcomes = list(pool.map(one, mutants))
    survivors = [o for o in outcomes if o.status == "survived"]
    if survivors and not args.no_equiv:
        print(f"before automatic equivalence: {score_line(summarize(block.name, seed, outcomes, walls, 0))}")
        print(f"{len(survivors)} survivor(s): formal equivalence check (miter, depth {args.equiv_depth})", flush=True)

        def decide(outcome: Outcome) -> None:
            mutant = outcome.mutant
            mutation_formal.decide(
                block,
                outcome,
                variants_of(mutant, block, variants, present),
                out_dir,
                args.equiv_depth,
                args.equiv_timeout,
            )
            with lock:
                print(
                    f"{mutant.name:40} {mutation_formal.describe(outcome)} ({outcome.formal_seconds:.0f} s)", flush=True
                )

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            list(pool.map(decide, survivors))
    report = summarize(block.name, seed, outcomes, walls, time.monotonic() - start)
    report["baseline_failures"] = baseline_failures  # tests left out: they fail without a mutant
    (out_dir / "report.json").write_text(json.dumps(report, indent=1))
    (out_dir / "summary.md").write_text(markdown(report))
    print(headline(report))
    print(f"report: {out_dir / 'summary.md'}  {out_dir / 'report.json'}")
    return 0


STATUSES = ("killed", "build_error", "hang", "survived", "equivalent", "proved_equivalent")


def summarize(block: str, seed: int, outcomes: list[Outcome], walls: dict, seconds: float) -> dict:
    counts = {s: sum(o.status == s for o in outcomes) for s in STATUSES}
    killed_total = counts["killed"] + counts["build_error"] + counts["hang"]
    before = len(outcomes) - counts["equivalent"]  # the hand-judged ones only
    after = before - counts["proved_equivalent"]
    return {
        "block": block,
        "seed": seed,
        "mutants": len(outcomes),
        "counts": counts,
        "kill_rate": round(100.0 * killed_total / after, 1) if after else None,
        "kill_rate_before_formal": round(100.0 * killed_total / before, 1) if before else None,
        "not_equivalent_with_trace": sum(o.formal == "not_equivalent" for o in outcomes),
        "tests": {v: sorted(w) for v, w in walls.items()},
        "seconds": round(seconds),
        "outcomes": [o.as_dict() for o in outcomes],
    }


def score_line(report: dict, key: str = "kill_rate") -> str:
    c = report["counts"]
    killed = c["killed"] + c["build_error"] + c["hang"]
    rate = "n/a" if report[key] is None else f"{report[key]:.1f}%"
    denominator = report["mutants"] - c["equivalent"] - (c["proved_equivalent"] if key == "kill_rate" else 0)
    return f"kill rate {rate} ({killed} of {denominator} non-equivalent mutants)"


def headline(report: dict) -> str:
    c = report["counts"]
    proved = c.get("proved_equivalent", 0)
    line = (
        f"{report['block']}: {report['mutants']} mutants: killed {c['killed']} + build errors {c['build_error']} "
        f"+ hangs {c['hang']}, survived {c['survived']}, equivalent {c['equivalent']} (by hand) + {proved} (proved); "
        f"{score_line(report)} (gate: >= 95%)"
    )
    if "kill_rate_before_formal" in report and (proved or report.get("not_equivalent_with_trace")):
        line += (
            f"; before automatic equivalence {score_line(report, 'kill_rate_before_formal')}; "
            f"{report['not_equivalent_with_trace']} survivor(s) with a killing trace"
        )
    return line


def markdown(report: dict) -> str:
    lines = [
        f"# Mutation testing: {report['block']}",
        "",
        headline(report),
        "",
        f"Seed {report['seed']}; {report['seconds']} s. Tests: "
        + "; ".join(f"{v}: {', '.join(t)}" for v, t in report["tests"].items()),
        "",
        "| mutant | status | killed by / reason |",
        "|---|---|---|",
    ]
    left_out = {v: t for v, t in report.get("baseline_failures", {}).items() if t}
    if left_out:
        lines[4:4] = [f"**Left out (fail on the unmutated design):** {left_out}", ""]
    for o in report["outcomes"]:
        why = o["killed_by"] or (o["detail"] if o["status"] == "equivalent" else "") or o.get("formal_detail", "")
        lines.append(f"| {o['name']} `{o['original']}` → `{o['replacement']}` | {o['status']} | {why} |")
    for o in report["outcomes"]:
        if o["status"] == "survived":
            lines += [
                "",
                f"## Survivor {o['name']}",
                "",
                f"Tests run: {', '.join(o['tests_run'])}",
                "",
                *([f"Formal: {o['formal']}: {o['formal_detail']}", ""] if o.get("formal") else []),
                *([f"Killing test: `{o['killing_test']}`", ""] if o.get("killing_test") else []),
                "```diff",
                o["diff"].rstrip(),
                "```",
            ]
    return "\n".join(lines) + "\n"


def register(subparsers) -> None:
    parser = subparsers.add_parser("mutate", help="mutation testing of a block's RTL against its smoke tests")
    parser.add_argument("block", help="block name (e.g. sha256)")
    parser.add_argument("-n", type=int, default=30, help="number of mutants (0: every site; default 30)")
    parser.add_argument("--seed", type=int, help="seed choosing the mutants (default: random, printed)")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="mutants built and run in parallel (default 1)")
    parser.add_argument("--variant", help="only this variant (default: every variant that contains the site)")
    parser.add_argument("--test", help="only this test (default: the block's smoke tests)")
    parser.add_argument("--only", type=int, nargs="+", metavar="INDEX", help="run only these mutant indices")
    parser.add_argument("--out", help="report folder (default results/mutate/BLOCK)")
    parser.add_argument("--no-equiv", action="store_true", help="no formal equivalence check of the survivors")
    parser.add_argument(
        "--equiv-depth", type=int, default=12, help="induction length of the survivors' equivalence check (default 12)"
    )
    parser.add_argument(
        "--equiv-timeout",
        type=float,
        default=600,
        help="seconds per equivalence check; past it the survivor stays undecided (default 600)",
    )
    parser.set_defaults(handler=mutate)
