"""`asicdv` command line. Framework subcommands live here; each block adds its
own from `tb/<block>/cli.py` (a `register(subparsers)` function)."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

from asicdv import ROOT, UserError, toolchain
from asicdv.blocks import all_blocks


def parse_hex(text: str, what: str) -> bytes:
    text = text.strip()
    if text.lower().startswith("0x"):
        text = text[2:]
    if len(text) % 2:
        raise UserError(f"{what}: odd number of hex digits ({len(text)})")
    try:
        return bytes.fromhex(text)
    except ValueError:
        bad = next(c for c in text if c not in "0123456789abcdefABCDEF")
        raise UserError(f"{what}: not hex (found {bad!r})") from None


def lint(args: argparse.Namespace) -> int:
    """Verilator --lint-only -Wall over each block's RTL, top by top, with the block's own
    build flags and waiver files (so a vendored core's waivers stay with its block)."""
    failures = 0
    for block in all_blocks().values():
        for variant, parameters in block.variants.items():
            cmd = [
                "verilator",
                "--lint-only",
                "-Wall",
                "--top-module",
                block.top,
                *block.build_args,
                *map(str, block.lint_waivers),
                *[f"-G{k}={v}" for k, v in parameters.items()],
                *map(str, block.sources),
            ]
            result = subprocess.run(cmd, env=toolchain.verilator_env(), capture_output=True, text=True, check=False)
            status = "clean" if result.returncode == 0 else "WARNINGS"
            print(f"lint {block.name}[{variant}] ({block.top}): {status}")
            if result.returncode:
                failures += 1
                print(result.stdout + result.stderr)
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asicdv", description="asicdv: chip design verification")
    subparsers = parser.add_subparsers(dest="command", required=True)
    subparsers.add_parser("lint", help="Verilator --lint-only -Wall over all RTL").set_defaults(handler=lint)
    from asicdv import formal, gate, mutate, regress

    formal.register(subparsers)
    mutate.register(subparsers)
    regress.register(subparsers)
    gate.register(subparsers)
    for path in sorted((ROOT / "tb").glob("*/cli.py")):
        importlib.import_module(f"tb.{path.parent.name}.cli").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UserError as exc:
        print(f"asicdv: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"asicdv: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
