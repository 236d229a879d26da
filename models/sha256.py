"""SHA-256 golden model (FIPS 180-4), pure Python.

Word-level and independent of hashlib so it can check the RTL round by round:
`compress` is what one pass of the RTL core computes, `trace` gives the working
state after every round for debugging a mismatch, `digest` is the full hash.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MASK = 0xFFFFFFFF

K = (
    0x428A2F98,
    0x71374491,
    0xB5C0FBCF,
    0xE9B5DBA5,
    0x3956C25B,
    0x59F111F1,
    0x923F82A4,
    0xAB1C5ED5,
    0xD807AA98,
    0x12835B01,
    0x243185BE,
    0x550C7DC3,
    0x72BE5D74,
    0x80DEB1FE,
    0x9BDC06A7,
    0xC19BF174,
    0xE49B69C1,
    0xEFBE4786,
    0x0FC19DC6,
    0x240CA1CC,
    0x2DE92C6F,
    0x4A7484AA,
    0x5CB0A9DC,
    0x76F988DA,
    0x983E5152,
    0xA831C66D,
    0xB00327C8,
    0xBF597FC7,
    0xC6E00BF3,
    0xD5A79147,
    0x06CA6351,
    0x14292967,
    0x27B70A85,
    0x2E1B2138,
    0x4D2C6DFC,
    0x53380D13,
    0x650A7354,
    0x766A0ABB,
    0x81C2C92E,
    0x92722C85,
    0xA2BFE8A1,
    0xA81A664B,
    0xC24B8B70,
    0xC76C51A3,
    0xD192E819,
    0xD6990624,
    0xF40E3585,
    0x106AA070,
    0x19A4C116,
    0x1E376C08,
    0x2748774C,
    0x34B0BCB5,
    0x391C0CB3,
    0x4ED8AA4A,
    0x5B9CCA4F,
    0x682E6FF3,
    0x748F82EE,
    0x78A5636F,
    0x84C87814,
    0x8CC70208,
    0x90BEFFFA,
    0xA4506CEB,
    0xBEF9A3F7,
    0xC67178F2,
)

_K_ARRAY = np.array(K, dtype=np.uint32)

# Initial hash value H(0) (FIPS 180-4 section 5.3.3).
IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)

State = tuple[int, int, int, int, int, int, int, int]
_WORDS = struct.Struct(">16I")  # a block as 16 big-endian words
_STATE = struct.Struct(">8I")  # a state (a..h or H0..H7) as 8 big-endian words
VECTOR_FROM = 32  # compress_many's batch size from which numpy beats the loop (measured: ~16-64)


def _rotr(x: int, n: int) -> int:
    return ((x >> n) | (x << (32 - n))) & MASK


def schedule(block: bytes) -> list[int]:
    """The 64-word message schedule W[0..63] of one 64-byte block."""
    if len(block) != 64:
        raise ValueError(f"a SHA-256 block is 64 bytes, got {len(block)}")
    return expand(list(_WORDS.unpack(block)))


def expand(w: list[int]) -> list[int]:
    """W[16..63] appended to a block's 16 words W[0..15] (the list itself, returned)."""
    for t in range(16, 64):
        x, y = w[t - 15], w[t - 2]
        # sigma0 and sigma1: rotations as (x >> n) | (x << 32 - n), masked once after the XOR
        s0 = (((x >> 7) | (x << 25)) ^ ((x >> 18) | (x << 14)) ^ (x >> 3)) & MASK
        s1 = (((y >> 17) | (y << 15)) ^ ((y >> 19) | (y << 13)) ^ (y >> 10)) & MASK
        w.append((s1 + w[t - 7] + s0 + w[t - 16]) & MASK)
    return w


def round_step(state: State, k: int, w: int) -> State:
    """One compression round: the function rtl/sha256/sha256_round.v implements."""
    a, b, c, d, e, f, g, h = state
    t1 = (h + (_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)) + ((e & f) ^ (~e & g)) + k + w) & MASK
    t2 = ((_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) & MASK
    return ((t1 + t2) & MASK, a, b, c, (d + t1) & MASK, e, f, g)


def trace(chain: State, block: bytes) -> list[State]:
    """Working state a..h after each of the 64 rounds (index 0 = after round 0)."""
    w = schedule(block)
    states = []
    state = tuple(chain)
    for t in range(64):
        state = round_step(state, K[t], w[t])
        states.append(state)
    return states


def compress(chain: State, block: bytes) -> State:
    """H(i) = H(i-1) + rounds(H(i-1), M(i)): one pass of the RTL core."""
    return add_states(chain, rounds(chain, schedule(block)))


def compress_many(chains: Sequence[State], blocks: Sequence[bytes]) -> list[State]:
    """`[compress(c, b) for c, b in zip(chains, blocks)]` for independent blocks, computed all at once
    when there are at least VECTOR_FROM of them: numpy over the batch, one uint32 lane a block
    (its sums wrap modulo 2^32 as FIPS 180-4's do). A scoreboard checks a stream of blocks this way
    at 5-10 us a block instead of about 100; a test holds the two equal."""
    if len(chains) != len(blocks):
        raise ValueError(f"{len(chains)} chaining values for {len(blocks)} blocks")
    if len(blocks) < VECTOR_FROM:
        return [compress(chain, block) for chain, block in zip(chains, blocks, strict=True)]
    data = b"".join(blocks)
    if len(data) != 64 * len(blocks):
        raise ValueError(f"a SHA-256 block is 64 bytes, got {sorted({len(b) for b in blocks} - {64})}")
    w = np.empty((64, len(blocks)), dtype=np.uint32)
    w[:16] = np.frombuffer(data, dtype=">u4").reshape(len(blocks), 16).T
    chain = np.array(chains, dtype=np.uint32).T  # 8 x blocks
    final = rounds_many(chain.copy(), expand_many(w))
    return [tuple(row) for row in (final + chain).T.tolist()]


def expand_many(w: np.ndarray) -> np.ndarray:
    """`expand` over lanes: w is uint32 [64, lanes] with W[0..15] set; W[16..63] filled in place."""
    for t in range(16, 64):
        x, y = w[t - 15], w[t - 2]
        s0 = ((x >> 7) | (x << 25)) ^ ((x >> 18) | (x << 14)) ^ (x >> 3)
        s1 = ((y >> 17) | (y << 15)) ^ ((y >> 19) | (y << 13)) ^ (y >> 10)
        w[t] = s1 + w[t - 7] + s0 + w[t - 16]
    return w


def rounds_many(state: np.ndarray, w: np.ndarray, start: int = 0) -> np.ndarray:
    """`rounds` over lanes: state uint32 [8, lanes] (a..h before round `start`), w [64, lanes];
    the working state after round 63. The sums wrap modulo 2^32 as FIPS 180-4's do."""
    a, b, c, d, e, f, g, h = state
    for t in range(start, 64):
        s1 = ((e >> 6) | (e << 26)) ^ ((e >> 11) | (e << 21)) ^ ((e >> 25) | (e << 7))
        t1 = h + s1 + (g ^ (e & (f ^ g))) + _K_ARRAY[t] + w[t]  # ch(e, f, g) with one AND fewer
        s0 = ((a >> 2) | (a << 30)) ^ ((a >> 13) | (a << 19)) ^ ((a >> 22) | (a << 10))
        t2 = s0 + ((a & b) | (c & (a | b)))  # maj(a, b, c)
        h, g, f, e, d, c, b, a = g, f, e, d + t1, c, b, a, t1 + t2
    return np.stack([a, b, c, d, e, f, g, h])


def rounds(state: State, w: list[int], start: int = 0) -> State:
    """The working state a..h after rounds `start`..63 over the schedule `w`, from `state` (the one
    before round `start`). `round_step`'s arithmetic with the state in locals (no call or tuple a
    round): every scoreboard check of the core and the miner runs it. `trace` keeps the
    round-by-round form; a test holds the two equal."""
    a, b, c, d, e, f, g, h = state
    for t in range(start, 64):
        s1 = (((e >> 6) | (e << 26)) ^ ((e >> 11) | (e << 21)) ^ ((e >> 25) | (e << 7))) & MASK
        t1 = h + s1 + ((e & f) ^ (~e & g)) + K[t] + w[t]
        s0 = (((a >> 2) | (a << 30)) ^ ((a >> 13) | (a << 19)) ^ ((a >> 22) | (a << 10))) & MASK
        t2 = s0 + ((a & b) ^ (a & c) ^ (b & c))
        h, g, f, e, d, c, b, a = g, f, e, (d + t1) & MASK, c, b, a, (t1 + t2) & MASK
    return (a, b, c, d, e, f, g, h)


def add_states(x: State, y: State) -> State:
    """Word by word modulo 2^32: the chaining value plus the last round's state."""
    return (
        (x[0] + y[0]) & MASK,
        (x[1] + y[1]) & MASK,
        (x[2] + y[2]) & MASK,
        (x[3] + y[3]) & MASK,
        (x[4] + y[4]) & MASK,
        (x[5] + y[5]) & MASK,
        (x[6] + y[6]) & MASK,
        (x[7] + y[7]) & MASK,
    )


def pad(message: bytes) -> bytes:
    """FIPS 180-4 section 5.1.1 padding to a multiple of 64 bytes."""
    length_bits = 8 * len(message)
    zeros = (55 - len(message)) % 64
    return message + b"\x80" + b"\x00" * zeros + length_bits.to_bytes(8, "big")


def blocks(message: bytes) -> list[bytes]:
    """The padded message cut into 64-byte blocks."""
    padded = pad(message)
    return [padded[i : i + 64] for i in range(0, len(padded), 64)]


def state_to_bytes(state: State) -> bytes:
    return _STATE.pack(*state)


def bytes_to_state(data: bytes) -> State:
    if len(data) != 32:
        raise ValueError(f"a SHA-256 state is 32 bytes, got {len(data)}")
    return _STATE.unpack(data)  # type: ignore[return-value]


def digest(message: bytes) -> bytes:
    state: State = IV
    for block in blocks(message):
        state = compress(state, block)
    return state_to_bytes(state)


@dataclass(frozen=True)
class CavpVector:
    length_bits: int
    message: bytes
    digest: bytes


def parse_cavp(text: str, source: str = "<text>") -> list[CavpVector]:
    """Parse a NIST CAVP byte-oriented SHA response file (Len/Msg/MD records).

    Raises ValueError naming the line on anything that is not that format.
    `Len = 0` means the empty message whatever `Msg` holds (CAVP writes 00).
    """
    vectors: list[CavpVector] = []
    record: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or (line.startswith("[") and line.endswith("]")):
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep or key not in ("Len", "Msg", "MD"):
            raise ValueError(f"{source}:{number}: not a CAVP Len/Msg/MD line: {line[:60]!r}")
        if key in record:
            raise ValueError(f"{source}:{number}: {key} repeated before the record was complete")
        record[key] = value
        if len(record) == 3:
            vectors.append(_cavp_record(record, source, number))
            record = {}
    if record:
        raise ValueError(f"{source}: file ends inside a record (has {', '.join(record)})")
    if not vectors:
        raise ValueError(f"{source}: no Len/Msg/MD records found; not a CAVP SHA response file")
    return vectors


def _cavp_record(record: dict[str, str], source: str, number: int) -> CavpVector:
    try:
        length_bits = int(record["Len"])
        message = bytes.fromhex(record["Msg"])
        md = bytes.fromhex(record["MD"])
    except ValueError as exc:
        raise ValueError(f"{source}:{number}: bad record: {exc}") from None
    if length_bits % 8:
        raise ValueError(f"{source}:{number}: Len = {length_bits} is not whole bytes (bit-oriented file?)")
    message = message[: length_bits // 8]
    if len(message) * 8 != length_bits:
        raise ValueError(f"{source}:{number}: Msg has {len(message)} bytes, Len says {length_bits // 8}")
    if len(md) != 32:
        raise ValueError(f"{source}:{number}: MD has {len(md)} bytes, a SHA-256 digest has 32")
    return CavpVector(length_bits, message, md)
