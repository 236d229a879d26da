"""Test-impact selection measured on real commits of this repository (docs/farm-and-history.md).

For each RTL-changing commit C (parent P): how many of the nightly's runs `--changed-since P` selects
as if the checkout were at C, at the block level and with `--coverage-from` (the per-test line
coverage of a smoke-coverage regression), with --sample 0. Then, for each test-only broken variant of
tb/test_broken_variants.py, the real RTL lines its wrapper stands in for, and whether the test that
catches it is still selected.

    .venv/bin/python scripts/impact_figures.py [--coverage-from DIR] [COMMIT ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from asicdv import UserError, project
from asicdv.tools import diff_hunks, impact, impact_coverage, test_reach
from asicdv.tools.blocks import all_blocks
from asicdv.tools.regress.config import load, plan, resolve

# Each broken wrapper as a one-line edit of the real RTL: at the line its expression stands in for
# (a port or an assign: no coverage point, so the whole block runs), and at the nearest statement
# inside an always block that the same bug could be written in (where coverage decides). The text is
# a piece of the first line, checked against the coverage's revision.
BUG_LINES = {
    "sha256 chaining": [("rtl/sha256/sha256_core.v", [78, 79], "chain   <= in_chain")],
    "sha256 one length": [
        ("rtl/sha256/sha256_core.v", [46], "assign out_digest = digest"),
        ("rtl/sha256/sha256_core.v", [85], "digest <= sum"),
    ],
    "sha256 protocol": [
        ("rtl/sha256/sha256_core.v", [46], "assign out_digest = digest"),
        ("rtl/sha256/sha256_core.v", [85], "digest <= sum"),
    ],
    "sha256d midstate 3": [
        ("rtl/sha256d/sha256d_miner.v", [222], ".rd_valid(res_valid), .rd_ready(res_ready)"),
        ("rtl/sha256d/sha256d_fifo.v", [53], "mem[wr_ptr] <= wr_data"),
    ],
    "sha256d last nonce": [
        ("rtl/sha256d/sha256d_miner.v", [223], ".rd_data({res_job_id"),
        ("rtl/sha256d/sha256d_fifo.v", [53], "mem[wr_ptr] <= wr_data"),
    ],
    "kpu saturation": [
        ("rtl/kpu/kpu_top.v", [273], ".out_data   (res_data)"),
        ("rtl/kpu/kpu_post.v", [217], "s3_data <= s2_pool_acc"),
    ],
}


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def sources_of(block, root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in block.sources if p.is_relative_to(root)}


def rtl_only(selection: impact.Selection, blocks: dict, root: Path) -> impact.Selection:
    """The selection as if the commit had changed only its blocks' RTL files."""
    reasons = {}
    for name, files in selection.reasons.items():
        rtl = [f for f in files if f in sources_of(blocks[name], root)]
        if rtl:
            reasons[name] = rtl
    return impact.Selection(frozenset(reasons), reasons, selection.changed)


def count(specs, selection, chosen=None) -> int:
    return len(impact.apply(specs, selection, 0, 1, chosen)[0])


def by_coverage(choices: dict, index: dict):
    return lambda spec: impact_coverage.keeps(spec, choices.get(spec.block), index) is not None


def commit_rows(commits, specs, blocks, index, root):
    print("| commit | change | files | block level | block level, its RTL sources only | coverage level | nightly |")
    print("|---|---|---|---|---|---|---|")
    notes = []
    for commit in commits:
        parent = git(root, "rev-parse", f"{commit}^")
        subject = git(root, "log", "-1", "--format=%s", commit)[:60]
        everything = impact.select(blocks, root, parent, new=commit)
        rtl = rtl_only(everything, blocks, root)
        choices = impact_coverage.refine(rtl, blocks, index, root, parent, new=commit)
        print(
            f"| {commit} | {subject} | {len(everything.changed)} | {count(specs, everything)} | "
            f"{count(specs, rtl)} | {count(specs, rtl, by_coverage(choices, index))} | {len(specs)} |"
        )
        for line in impact_coverage.explain(specs, choices, index):
            notes.append(f"{commit} {line}")
    print()
    for note in notes:
        print(note)


def bug_rows(specs, blocks, index, root):
    from tb.test_broken_variants import CASES

    print("\n| broken variant | caught by | stands in for | coverage-level selection | caught |")
    print("|---|---|---|---|---|")
    for case, (block, _top, variant, _bug, test, _expect) in CASES.items():
        for path, lines, what in BUG_LINES[case]:
            text = diff_hunks.text_at(root, index["commit"], path) or []
            if len(text) < lines[0] or what not in text[lines[0] - 1]:
                raise UserError(
                    f"{case}: {path}:{lines[0]} is not `{what}` at {index['commit'][:10]}: update BUG_LINES"
                )
            choice = impact_coverage.choose(block, blocks[block], [path], index, root, lambda _p, n=lines: set(n))
            catcher = SimpleNamespace(block=block, variant=variant, parameters={}, test=test)
            caught = impact_coverage.keeps(catcher, choice, index) is not None
            runs = [s for s in specs if s.block == block]
            kept = sum(impact_coverage.keeps(s, choice, index) is not None for s in runs)
            how = "whole block (no coverage point)" if choice.whole_because else f"{kept} of {len(runs)} runs"
            where = ", ".join(f"{path}:{n}" for n in lines)
            print(f"| {case} | {test} | {where} `{what}` | {how} | {'yes' if caught else 'NO'} |")


def line_rows(specs, blocks, index, root):
    """Per block, a one-line edit of each statement line: the runs coverage selects, on average."""
    print("\n| block | statement lines | runs selected by a one-line edit: mean (min-max) | block's runs |")
    print("|---|---|---|---|")
    for name, block in sorted(blocks.items()):
        runs = [s for s in specs if s.block == name]
        counts = []
        for path in sorted(sources_of(block, root)):
            for line in index["points"].get(path, ()):
                choice = impact_coverage.choose(name, block, [path], index, root, lambda _p, n=line: {n})
                counts.append(sum(impact_coverage.keeps(s, choice, index) is not None for s in runs))
        if counts:
            mean = sum(counts) / len(counts)
            print(f"| {name} | {len(counts)} | {mean:.0f} ({min(counts)}-{max(counts)}) | {len(runs)} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "commits", nargs="*", help="commits to measure (default: the last 8 non-merge commits changing rtl/*/*.v)"
    )
    parser.add_argument("--coverage-from", type=Path, help="default: results/regress/smoke-coverage")
    args = parser.parse_args()
    proj = project.current()
    root, blocks = proj.root, all_blocks(proj)
    known = {f for b in blocks.values() for f in sources_of(b, root)}
    folder = args.coverage_from or proj.results / "regress" / "smoke-coverage"
    try:
        index = test_reach.load(folder.resolve(), root, known)
        specs = plan(load(resolve("nightly"))[1], 1, blocks)
        commits = args.commits or git(root, "log", "--no-merges", "--format=%h", "-n", "8", "--", "rtl/*/*.v").split()
        print(
            f"coverage: {folder} at {index['commit'][:10]}, {len(index['tests'])} tests; nightly: {len(specs)} runs\n"
        )
        commit_rows(commits, specs, blocks, index, root)
        line_rows(specs, blocks, index, root)
        bug_rows(specs, blocks, index, root)
    except UserError as exc:
        print(f"impact_figures: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
