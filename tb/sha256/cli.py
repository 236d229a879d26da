"""`asicdv sha256`: hash messages or a NIST CAVP response file on the RTL core."""

from __future__ import annotations

import argparse
from pathlib import Path

from asicdv import UserError
from asicdv.tools import service_client as rtl
from asicdv.tools.cli import parse_hex
from models import sha256 as model
from tb.sha256 import service


def register(subparsers) -> None:
    parser = subparsers.add_parser("sha256", help="hash on the RTL SHA-256 core (message or NIST CAVP file)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--msg", metavar="HEX", help="message as hex (empty string for the empty message)")
    source.add_argument("--cavp", metavar="FILE", type=Path, help="NIST CAVP byte-oriented .rsp (Len/Msg/MD)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.msg is not None:
        message = parse_hex(args.msg, "--msg")
        digest = _hash_on_rtl([message])[0]
        print(digest)
        return 0
    path: Path = args.cavp
    if not path.is_file():
        raise UserError(f"--cavp: no such file: {path}")
    try:
        vectors = model.parse_cavp(path.read_text(errors="replace"), str(path))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    digests = _hash_on_rtl([v.message for v in vectors])
    failed = [(i, v, d) for i, (v, d) in enumerate(zip(vectors, digests, strict=True)) if d != v.digest.hex()]
    for index, vector, digest in failed[:10]:
        print(f"FAIL vector {index} (Len = {vector.length_bits}): RTL {digest} != MD {vector.digest.hex()}")
    print(f"{path.name}: {len(vectors) - len(failed)} passed, {len(failed)} failed")
    return 0 if not failed else 1


def _hash_on_rtl(messages: list[bytes]) -> list[str]:
    return rtl.ask("sha256", service.request(messages))["digests"]
