"""`asicdv sha256d` (alias `asicdv mine`): search a nonce range of a real 80-byte header on the RTL miner."""

from __future__ import annotations

import argparse
import json

from asicdv import UserError
from asicdv.tools import service_client as rtl
from asicdv.tools.cli import parse_hex
from models import sha256d as model
from tb.sha256d import service


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sha256d", aliases=["mine"], help="search nonces of a block header on the RTL SHA-256d miner"
    )
    parser.add_argument(
        "--header", required=True, metavar="HEX160", help="80-byte header as on the wire (its nonce is ignored)"
    )
    parser.add_argument("--start", required=True, type=_int, help="first nonce (decimal or 0x hex)")
    parser.add_argument("--count", required=True, type=_int, help="number of nonces to try")
    parser.add_argument("--target", metavar="HEX64", help="256-bit target as big-endian hex (default: from nbits)")
    parser.add_argument("--version-mask", metavar="HEX", help="roll the version under this mask: 4 midstates")
    parser.add_argument("--variant", choices=("iterative", "pipelined"), default="pipelined")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def job_from_args(args: argparse.Namespace) -> tuple[model.Job, model.BlockHeader]:
    raw = parse_hex(args.header, "--header")
    if len(raw) != 80:
        raise UserError(f"--header: a block header is 80 bytes (160 hex digits), got {len(raw)} bytes")
    if args.count < 1:
        raise UserError(f"--count must be at least 1, got {args.count}")
    if not 0 <= args.start <= 0xFFFFFFFF:
        raise UserError(f"--start must be a 32-bit nonce (0..4294967295), got {args.start}")
    end = args.start + args.count - 1
    if end > 0xFFFFFFFF:
        raise UserError(f"--start {args.start} --count {args.count} runs past the last nonce 0xffffffff")
    header = model.BlockHeader.parse(raw)
    target = None
    if args.target is not None:
        target_bytes = parse_hex(args.target, "--target")
        if len(target_bytes) != 32:
            raise UserError(f"--target: a target is 32 bytes (64 hex digits), got {len(target_bytes)} bytes")
        target = int.from_bytes(target_bytes, "big")
    versions = None
    if args.version_mask is not None:
        mask = int.from_bytes(parse_hex(args.version_mask.rjust(8, "0"), "--version-mask"), "big")
        if not mask or mask > 0xFFFFFFFF:
            raise UserError("--version-mask: a non-zero 32-bit mask")
        versions = model.rolled_versions(header.version, mask)
    try:
        job = model.job_from_header(raw, args.start, end, target=target, versions=versions)
    except ValueError as exc:
        raise UserError(f"--header: {exc}") from None
    return job, header


def run(args: argparse.Namespace) -> int:
    job, header = job_from_args(args)
    response = rtl.ask("sha256d", service.request(job), variant=args.variant)
    hits = [
        {
            "nonce": hit["nonce"],
            "hash": model.block_hash_hex(header.with_version(job.versions[hit["midstate"]]).with_nonce(hit["nonce"])),
            "midstate": hit["midstate"],
        }
        for hit in response["hits"]
    ]
    if args.json:
        print(json.dumps({"hits": hits, "cycles": response["cycles"], "nonces": job.nonce_count}))
        return 0
    for hit in hits:
        print(f"hit: nonce {hit['nonce']} (0x{hit['nonce']:08x}) midstate {hit['midstate']} hash {hit['hash']}")
    per = response["cycles"] / (job.nonce_count * len(job.midstates))
    print(
        f"{len(hits)} hit(s) in {job.nonce_count} nonces x {len(job.midstates)} midstate(s); "
        f"{response['cycles']} cycles ({per:.2f} per nonce per midstate, {args.variant}); "
        f"{response['wall_s']:.1f} s wall"
    )
    return 0
