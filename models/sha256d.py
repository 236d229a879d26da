"""Bitcoin proof-of-work golden model for the SHA-256d mining core (rtl/sha256d).

Plain Python, no simulator imports. What it covers:

* the 80-byte block header: assembly (`header_bytes`, `BlockHeader.serialize`) and parsing
  (`BlockHeader.parse`), every integer field little-endian as on the wire;
* the split a miner uses: `midstate` = SHA-256 state after the first 64 header bytes, `tail` =
  header bytes 64..75 (last 4 bytes of the merkle root, ntime, nbits); the nonce is bytes 76..79;
* `sha256d`, `hash_int` (the digest read as a little-endian 256-bit integer, what is compared with
  the target) and `block_hash_hex` (the byte-reversed hex that block explorers show);
* the compact target `nbits` with Bitcoin Core's `arith_uint256::SetCompact` / `GetCompact`
  semantics (`decode_compact`, `target_from_bits`, `compact_from_target`);
* the work unit of the RTL (`Job`) and the reference `search(job)` that returns the hits in exactly
  the order the RTL reports them, plus helpers to build a job from a real header, with optional
  version rolling (AsicBoost, BIP 310/320): one midstate per rolled version;
* `job_port_values(job)`: the job as values for the ports of `sha256d_miner`.

Hit order (RTL and model): nonce ascending from `nonce_start` to `nonce_end` inclusive, and for
each nonce the midstates in index order 0..len(midstates)-1. Both RTL variants issue work in this
order and report hits in issue order.

`search` works from the midstates, exactly as the hardware does: the second block of the first
hash is compressed from the midstate (a specialised copy of the compression function with the
nonce-independent first three rounds precomputed, checked against models.sha256.compress by the
unit tests) and the 32-byte second hash goes through hashlib. A job built from a header could be
hashed with hashlib end to end, but then the midstate path would be untested; this way the model
exercises the same decomposition as the RTL and stays fast enough: about 7000 hashes/s nonce by
nonce, and a range of at least models.sha256.VECTOR_FROM nonces is hashed over numpy lanes
(models.sha256.rounds_many), several times faster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from models import sha256
from models.sha256 import MASK, State

HEADER_LEN = 80
TAIL_LEN = 12
MAX_MIDSTATES = 4
UINT256_MASK = (1 << 256) - 1

# Padding words of the two fixed-length blocks a miner hashes.
# Block 2 of the header hash: 16 bytes of data, then 0x80, zeros, length 80*8 = 640 bits.
_BLOCK2_PAD = (0x80000000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00000280)
# The second hash: 32 bytes of digest, then 0x80, zeros, length 256 bits.
_HASH2_PAD = (0x80000000, 0, 0, 0, 0, 0, 0, 0x00000100)

# BIP 320: the version bits a miner may roll (general-purpose bits 13..28).
BIP320_VERSION_MASK = 0x1FFFE000


# --------------------------------------------------------------------------------------------
# Header
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockHeader:
    """The six header fields. Hashes are kept as the 32 wire bytes (internal byte order)."""

    version: int
    prev_hash: bytes
    merkle_root: bytes
    time: int
    bits: int
    nonce: int

    def serialize(self) -> bytes:
        return header_bytes(self.version, self.prev_hash, self.merkle_root, self.time, self.bits, self.nonce)

    @classmethod
    def parse(cls, raw: bytes) -> BlockHeader:
        if len(raw) != HEADER_LEN:
            raise ValueError(f"a block header is {HEADER_LEN} bytes, got {len(raw)}")
        u32 = lambda off: int.from_bytes(raw[off : off + 4], "little")  # noqa: E731
        return cls(u32(0), bytes(raw[4:36]), bytes(raw[36:68]), u32(68), u32(72), u32(76))

    @classmethod
    def from_hex(cls, line: str) -> BlockHeader:
        return cls.parse(bytes.fromhex(line.strip()))

    def with_nonce(self, nonce: int) -> BlockHeader:
        return BlockHeader(self.version, self.prev_hash, self.merkle_root, self.time, self.bits, nonce)

    def with_version(self, version: int) -> BlockHeader:
        return BlockHeader(version, self.prev_hash, self.merkle_root, self.time, self.bits, self.nonce)


def header_bytes(version: int, prev_hash: bytes, merkle_root: bytes, time: int, bits: int, nonce: int) -> bytes:
    """Serialize the header fields as on the wire (integers little-endian, hashes as given)."""
    if len(prev_hash) != 32 or len(merkle_root) != 32:
        raise ValueError("prev_hash and merkle_root are 32 bytes each")
    for name, value in (("version", version), ("time", time), ("bits", bits), ("nonce", nonce)):
        if not 0 <= value <= MASK:
            raise ValueError(f"{name} = {value:#x} does not fit in 32 bits")
    return (
        version.to_bytes(4, "little")
        + bytes(prev_hash)
        + bytes(merkle_root)
        + time.to_bytes(4, "little")
        + bits.to_bytes(4, "little")
        + nonce.to_bytes(4, "little")
    )


def _raw(header: BlockHeader | bytes) -> bytes:
    raw = header.serialize() if isinstance(header, BlockHeader) else bytes(header)
    if len(raw) != HEADER_LEN:
        raise ValueError(f"a block header is {HEADER_LEN} bytes, got {len(raw)}")
    return raw


def load_headers(path: str | Path) -> list[bytes]:
    """Read a file of headers, one 160-hex-character header a line (blank lines ignored)."""
    headers = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        raw = bytes.fromhex(line)
        if len(raw) != HEADER_LEN:
            raise ValueError(f"{path}:{number}: {len(raw)} bytes, a header is {HEADER_LEN}")
        headers.append(raw)
    return headers


# --------------------------------------------------------------------------------------------
# Hashing
# --------------------------------------------------------------------------------------------


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def hash_int(header: BlockHeader | bytes) -> int:
    """The proof-of-work value: sha256d(header) read as a little-endian 256-bit integer."""
    return int.from_bytes(sha256d(_raw(header)), "little")


def block_hash_hex(header: BlockHeader | bytes) -> str:
    """The block hash as shown by explorers and used in prev_hash display: byte-reversed hex."""
    return sha256d(_raw(header))[::-1].hex()


def midstate(header: BlockHeader | bytes) -> State:
    """SHA-256 state after the first 64 header bytes (version, prev_hash, 28 bytes of merkle root).

    Accepts an 80-byte header or just its first 64 (or 76) bytes.
    """
    raw = header.serialize() if isinstance(header, BlockHeader) else bytes(header)
    if len(raw) < 64:
        raise ValueError(f"need at least the first 64 header bytes, got {len(raw)}")
    return sha256.compress(sha256.IV, raw[:64])


def tail(header: BlockHeader | bytes) -> bytes:
    """Header bytes 64..75: last 4 bytes of the merkle root, ntime, nbits (the nonce follows)."""
    raw = header.serialize() if isinstance(header, BlockHeader) else bytes(header)
    if len(raw) < 76:
        raise ValueError(f"need at least the first 76 header bytes, got {len(raw)}")
    return raw[64:76]


def second_block(tail12: bytes, nonce: int) -> bytes:
    """The padded second 64-byte block of the header hash for one nonce."""
    if len(tail12) != TAIL_LEN:
        raise ValueError(f"the tail is {TAIL_LEN} bytes, got {len(tail12)}")
    return tail12 + nonce.to_bytes(4, "little") + b"\x80" + bytes(39) + (HEADER_LEN * 8).to_bytes(8, "big")


def hash_from_midstate(mid: State, tail12: bytes, nonce: int) -> bytes:
    """sha256d digest of the header given as midstate + tail + nonce, via models.sha256.compress
    for both blocks: the slow, obviously-correct path the fast search is checked against."""
    first = sha256.compress(mid, second_block(tail12, nonce))
    block = sha256.state_to_bytes(first) + b"\x80" + bytes(23) + (256).to_bytes(8, "big")
    return sha256.state_to_bytes(sha256.compress(sha256.IV, block))


def bswap32(x: int) -> int:
    return int.from_bytes((x & MASK).to_bytes(4, "little"), "big")


# --------------------------------------------------------------------------------------------
# Compact target (nbits)
# --------------------------------------------------------------------------------------------


class Compact(NamedTuple):
    target: int  # the 256-bit value SetCompact produces (already truncated to 256 bits)
    negative: bool
    overflow: bool


def decode_compact(bits: int) -> Compact:
    """Bitcoin Core arith_uint256::SetCompact, bit for bit.

    nbits = size(8) | sign(1) | mantissa(23). The value is mantissa * 256**(size-3); for size <= 3
    the mantissa is shifted right instead, dropping low bytes (so 0x01123456 -> 0x12). The sign
    bit 0x00800000 is never part of the mantissa: `negative` is set when it is 1 and the
    (shifted) mantissa is non-zero, else the value is just non-negative. `overflow` is set when the
    mantissa is non-zero and the value needs more than 256 bits (size > 34, or size > 33 with a
    mantissa > 0xff, or size > 32 with a mantissa > 0xffff); the returned target is then the value
    truncated to 256 bits, as arith_uint256's shift does. A zero mantissa is never negative nor
    overflowing, whatever the size.
    """
    if not 0 <= bits <= MASK:
        raise ValueError(f"nbits = {bits:#x} does not fit in 32 bits")
    size = bits >> 24
    word = bits & 0x007FFFFF
    if size <= 3:
        word >>= 8 * (3 - size)
        value = word
    else:
        value = (word << (8 * (size - 3))) & UINT256_MASK
    negative = word != 0 and (bits & 0x00800000) != 0
    overflow = word != 0 and (size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32))
    return Compact(value, negative, overflow)


def target_from_bits(bits: int) -> int:
    """The target a header with this nbits must meet (hash_int <= target).

    Raises ValueError for a negative or overflowing encoding, both of which Bitcoin Core's
    CheckProofOfWork rejects. A zero target is returned as 0 (Core rejects it too, but for a miner it
    is a legal, if hopeless, job: only a hash of exactly 0 would hit).
    """
    target, negative, overflow = decode_compact(bits)
    if negative:
        raise ValueError(f"nbits = {bits:#010x} encodes a negative target")
    if overflow:
        raise ValueError(f"nbits = {bits:#010x} encodes a target above 2**256")
    return target


def compact_from_target(target: int, negative: bool = False) -> int:
    """Bitcoin Core arith_uint256::GetCompact: the shortest nbits encoding (rounds down)."""
    if not 0 <= target <= UINT256_MASK:
        raise ValueError("target must be a 256-bit unsigned integer")
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        compact = (target << (8 * (3 - size))) & MASK
    else:
        compact = (target >> (8 * (size - 3))) & MASK
    if compact & 0x00800000:  # would read as the sign bit: move one byte into the exponent
        compact >>= 8
        size += 1
    compact |= size << 24
    if negative and compact & 0x007FFFFF:
        compact |= 0x00800000
    return compact


# --------------------------------------------------------------------------------------------
# Job and search
# --------------------------------------------------------------------------------------------


class Hit(NamedTuple):
    job_id: int
    midstate_index: int
    nonce: int


@dataclass(frozen=True)
class Job:
    """One unit of work for sha256d_miner.

    midstates: 1..4 SHA-256 states (8 words each), e.g. one per rolled version; tail: header bytes
    64..75; nonces nonce_start..nonce_end inclusive (an empty range when start > end); a hit is a
    (midstate, nonce) whose hash_int <= target. job_id is an 8-bit tag the RTL returns with hits.
    versions optionally records which header version each midstate came from (informational).
    """

    midstates: tuple[State, ...]
    tail: bytes
    nonce_start: int
    nonce_end: int
    target: int
    job_id: int = 0
    versions: tuple[int, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not 1 <= len(self.midstates) <= MAX_MIDSTATES:
            raise ValueError(f"a job has 1..{MAX_MIDSTATES} midstates, got {len(self.midstates)}")
        for m in self.midstates:
            if len(m) != 8 or any(not 0 <= w <= MASK for w in m):
                raise ValueError("a midstate is 8 words of 32 bits")
        if len(self.tail) != TAIL_LEN:
            raise ValueError(f"the tail is {TAIL_LEN} bytes, got {len(self.tail)}")
        for name in ("nonce_start", "nonce_end"):
            if not 0 <= getattr(self, name) <= MASK:
                raise ValueError(f"{name} does not fit in 32 bits")
        if not 0 <= self.target <= UINT256_MASK:
            raise ValueError("target must be a 256-bit unsigned integer")
        if not 0 <= self.job_id <= 0xFF:
            raise ValueError("job_id is 8 bits")

    @property
    def nonce_count(self) -> int:
        return max(0, self.nonce_end - self.nonce_start + 1)


_K = sha256.K


def _first_hash_prefix(mid: State, w0: int, w1: int, w2: int) -> tuple[int, ...]:
    """State after rounds 0..2 of the second header block: they only see the tail words."""
    state: tuple[int, ...] = tuple(mid)
    for t, w in enumerate((w0, w1, w2)):
        state = sha256.round_step(state, _K[t], w)  # type: ignore[arg-type]
    return state


def _first_hash(mid: State, prefix: tuple[int, ...], tail_words: tuple[int, int, int], nonce: int) -> bytes:
    """compress(mid, second_block(tail, nonce)) as 32 bytes, from round 3 on (speed-specialised)."""
    w = sha256.expand([tail_words[0], tail_words[1], tail_words[2], bswap32(nonce), *_BLOCK2_PAD])
    out = sha256.add_states(mid, sha256.rounds(prefix, w, 3))  # type: ignore[arg-type]
    return sha256.state_to_bytes(out)


def job_hash_int(job: Job, midstate_index: int, nonce: int) -> int:
    """hash_int of one (midstate, nonce) of a job, through the fast path that `search` uses."""
    mid = job.midstates[midstate_index]
    tw = tuple(int.from_bytes(job.tail[i : i + 4], "big") for i in range(0, 12, 4))
    prefix = _first_hash_prefix(mid, *tw)
    first = _first_hash(mid, prefix, tw, nonce)  # type: ignore[arg-type]
    return int.from_bytes(hashlib.sha256(first).digest(), "little")


def search(job: Job) -> list[Hit]:
    """Every hit of the job, in the RTL's report order: nonce ascending, then midstate index."""
    count = len(job.midstates)
    return [
        Hit(job.job_id, lane % count, job.nonce_start + lane // count)
        for lane, value in enumerate(job_hash_ints(job))
        if value <= job.target
    ]


def job_hash_ints(job: Job) -> Iterator[int]:
    """hash_int of every (nonce, midstate) of the job in report order: nonce by nonce, its
    midstates in index order. Over numpy lanes from models.sha256.VECTOR_FROM of them."""
    tw = tuple(int.from_bytes(job.tail[i : i + 4], "big") for i in range(0, 12, 4))
    prefixes = [_first_hash_prefix(m, *tw) for m in job.midstates]
    sha = hashlib.sha256
    if (job.nonce_end - job.nonce_start + 1) * len(prefixes) >= sha256.VECTOR_FROM:
        per_batch = max(1, NONCES_AT_ONCE // len(prefixes))
        for start in range(job.nonce_start, job.nonce_end + 1, per_batch):
            firsts = _first_hashes(job.midstates, prefixes, tw, range(start, min(start + per_batch, job.nonce_end + 1)))
            for lane in range(0, len(firsts), 32):
                yield int.from_bytes(sha(firsts[lane : lane + 32]).digest(), "little")
        return
    for nonce in range(job.nonce_start, job.nonce_end + 1):
        for mid, prefix in zip(job.midstates, prefixes, strict=True):
            yield int.from_bytes(sha(_first_hash(mid, prefix, tw, nonce)).digest(), "little")  # type: ignore[arg-type]


NONCES_AT_ONCE = 4096  # search's numpy batch (nonces x midstates): 64 x 4096 schedule words at a time


def _first_hashes(
    mids: Sequence[State], prefixes: Sequence[tuple[int, ...]], tail_words: tuple[int, int, int], nonces: range
) -> bytes:
    """`_first_hash` of every (nonce, midstate), nonce-major, over numpy lanes (models.sha256's
    expand_many and rounds_many): the first hashes one after another, 32 bytes each."""
    lanes = len(nonces) * len(mids)
    w = np.empty((64, lanes), dtype=np.uint32)
    w[:3] = np.array(tail_words, dtype=np.uint32)[:, None]
    w[3] = np.repeat(np.arange(nonces.start, nonces.stop, dtype=np.uint32).byteswap(), len(mids))
    w[4:16] = np.array(_BLOCK2_PAD, dtype=np.uint32)[:, None]
    start = np.tile(np.array(prefixes, dtype=np.uint32).T, len(nonces))  # [8, lanes]
    final = sha256.rounds_many(start, sha256.expand_many(w), 3) + np.tile(
        np.array(mids, dtype=np.uint32).T, len(nonces)
    )
    return final.T.astype(">u4").tobytes()


# --------------------------------------------------------------------------------------------
# Jobs from real headers, version rolling
# --------------------------------------------------------------------------------------------


def _deposit(value: int, mask: int) -> int:
    """Spread the low bits of value into the set bits of mask, lowest first (a software PDEP)."""
    out = 0
    bit = 0
    m = mask
    while m:
        low = m & -m
        if (value >> bit) & 1:
            out |= low
        bit += 1
        m ^= low
    return out


def rolled_versions(version: int, mask: int = BIP320_VERSION_MASK, count: int = 4) -> list[int]:
    """`count` header versions for AsicBoost-style version rolling: version ^ pdep(i, mask) for
    i = 0..count-1, so entry 0 is the original version and only bits under the mask change."""
    if count < 1 or count > (1 << bin(mask & MASK).count("1")):
        raise ValueError(f"cannot make {count} distinct versions with mask {mask:#x}")
    return [version ^ _deposit(i, mask & MASK) for i in range(count)]


def job_from_header(
    header: BlockHeader | bytes,
    nonce_start: int,
    nonce_end: int,
    target: int | None = None,
    job_id: int = 0,
    versions: Sequence[int] | None = None,
) -> Job:
    """A job that searches the header's nonce space; target defaults to the header's own nbits
    target. `versions` (1..4 values) gives one midstate per header version (version rolling);
    by default the header's own version only."""
    hdr = header if isinstance(header, BlockHeader) else BlockHeader.parse(_raw(header))
    vers = tuple(versions) if versions is not None else (hdr.version,)
    mids = tuple(midstate(hdr.with_version(v)) for v in vers)
    return Job(
        midstates=mids,
        tail=tail(hdr),
        nonce_start=nonce_start,
        nonce_end=nonce_end,
        target=target_from_bits(hdr.bits) if target is None else target,
        job_id=job_id,
        versions=vers,
    )


def pack_midstates(midstates: Iterable[State]) -> int:
    """The job_midstates port value: midstate i at bits [256*i +: 256], word 0 in its MSBs.
    Unused slots are zero."""
    value = 0
    for i, m in enumerate(midstates):
        value |= int.from_bytes(sha256.state_to_bytes(m), "big") << (256 * i)
    return value


def job_port_values(job: Job) -> dict[str, int]:
    """Values for the job_* ports of sha256d_miner (see rtl/sha256d/sha256d_miner.v)."""
    return {
        "job_midstates": pack_midstates(job.midstates),
        "job_midstate_count": len(job.midstates),
        "job_tail": int.from_bytes(job.tail, "big"),
        "job_nonce_start": job.nonce_start,
        "job_nonce_end": job.nonce_end,
        "job_target": job.target,
        "job_id": job.job_id,
    }
