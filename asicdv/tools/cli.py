"""`asicdv` command line. Framework subcommands live here; a project adds its own from the
modules its settings name in `commands` (each has a `register(subparsers)` function)."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

from asicdv import UserError
from asicdv import project as projects
from asicdv.tools import toolchain
from asicdv.tools.blocks import all_blocks


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
    project = projects.current()
    blocks = all_blocks(project)
    if not blocks:
        raise UserError(f"nothing to lint: no block file matches {project.block_glob} under {project.root}")
    failures = 0
    for block in blocks.values():
        for variant, parameters in block.variants.items():
            cmd = [
                "verilator",
                "--lint-only",
                *project.verilator_lint_flags,
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


def _project_commands() -> tuple[str, ...]:
    """The command modules of the project the command line is about (none outside a project:
    `asicdv init` and `--help` work anywhere)."""
    try:
        return projects.current().commands
    except UserError:
        return ()


class _Parser(argparse.ArgumentParser):
    """A usage mistake is exit 2 with one line, like every other user error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(commands: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--project",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="the project folder (default: found from the working directory upwards; or ASICDV_PROJECT)",
    )
    parser = _Parser(prog="asicdv", description="asicdv: chip design verification", parents=[common])
    parser.add_argument("--version", action="version", version=f"asicdv {_version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_parser = subparsers.add_parser

    def add_with_common(*args, **kwargs):
        return add_parser(*args, parents=[common, *kwargs.pop("parents", [])], **kwargs)

    subparsers.add_parser = add_with_common
    subparsers.add_parser("lint", help="Verilator --lint-only over every block's RTL").set_defaults(handler=lint)
    from asicdv.tools import formal, gate, history, mutation, regress, scaffold, test_command

    scaffold.register(subparsers)
    test_command.register(subparsers)
    formal.register(subparsers)
    mutation.register(subparsers)
    regress.register(subparsers)
    gate.register(subparsers)
    history.register(subparsers)
    for module in commands:
        try:
            importlib.import_module(module).register(subparsers)
        except ImportError as exc:
            raise UserError(f"project command module {module!r} cannot be imported: {exc}") from None
    return parser


def _version() -> str:
    import asicdv

    return asicdv.__version__


def _project_option(argv: list[str]) -> str | None:
    for index, item in enumerate(argv):
        if item == "--project" and index + 1 < len(argv):
            return argv[index + 1]
        if item.startswith("--project="):
            return item.partition("=")[2]
    return None


def _command_name(argv: list[str]) -> str | None:
    """The subcommand the arguments name: the first one that is not an option or --project's value."""
    skip = False
    for item in argv:
        if skip:
            skip = False
        elif item == "--project":
            skip = True
        elif not item.startswith("-"):
            return item
    return None


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    actions = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    return {name for action in actions for name in action.choices}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        named = _project_option(argv)
        if named:  # one project for the whole command, and for every process it starts
            projects.use(projects.locate(named))
        parser = build_parser()
        if _command_name(argv) not in _subcommands(parser):  # a project's command, --help or a typo
            parser = build_parser(_project_commands())  # (importing them costs cocotb, numpy: ~0.5 s)
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a usage error (printed, exit 2)
            return exc.code if isinstance(exc.code, int) else 2
        return args.handler(args)
    except UserError as exc:
        print(f"asicdv: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"asicdv: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
