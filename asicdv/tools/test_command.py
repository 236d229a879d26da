"""`asicdv test [BLOCK ...]`: a block's simulation tests (and its plain pytest tests beside them),
from anywhere in the project. It is pytest with the asicdv plugin over the blocks' folders, so a
failure prints the reproduce line that is this command again with every knob of the run."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from asicdv import UserError
from asicdv import project as projects
from asicdv.tools.blocks import all_blocks
from asicdv.tools.simulator import SIMULATORS


def command(args: argparse.Namespace) -> int:
    project = projects.current()
    blocks = all_blocks(project)
    if not blocks:
        raise UserError(f"no block to test: no block file matches {project.block_glob} under {project.root}")
    names = args.blocks or list(blocks)
    unknown = [name for name in names if name not in blocks]
    if unknown:
        raise UserError(f"unknown block(s) {', '.join(unknown)}; known blocks: {', '.join(blocks)}")
    if args.test and len(names) != 1:
        raise UserError("--test names a test of one block: give that block too (asicdv test BLOCK --test T)")
    targets = [str(blocks[name].path) if args.test else str(blocks[name].path.parent) for name in names]
    cmd = [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", *targets]
    for flag, value in (("--test", args.test), ("--seed", args.seed), ("--variant", args.variant)):
        if value is not None:
            cmd += [flag, str(value)]
    for item in args.param:
        cmd += ["--param", item]
    cmd += ["--simulator", args.sim] + (["--waves"] if args.waves else []) + (["--coverage"] if args.coverage else [])
    cmd += ["-n", str(args.jobs)] if args.jobs > 1 else []
    return subprocess.run(cmd, cwd=project.root, env={**os.environ, **project.env()}, check=False).returncode


def register(subparsers) -> None:
    parser = subparsers.add_parser("test", help="run blocks' tests (all blocks, or the ones named)")
    parser.add_argument("blocks", nargs="*", metavar="BLOCK", help="blocks to test (default: every block)")
    parser.add_argument("--test", help="only this test of the block")
    parser.add_argument("--seed", type=int, help="this seed for every selected test")
    parser.add_argument("--variant", help="only this variant (parameter set)")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="override a Verilog parameter; repeatable"
    )
    parser.add_argument("--waves", action="store_true", help="dump a waveform per run")
    parser.add_argument("--sim", default="verilator", choices=SIMULATORS, help="simulator (default verilator)")
    parser.add_argument("--coverage", action="store_true", help="Verilator code-coverage build")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="parallel runs (pytest-xdist)")
    parser.set_defaults(handler=command)
