"""Unit tests of the Bitcoin golden model (models/sha256d.py); no simulator.

The real-data tests read the first 10,000 mainnet headers from ../shared/data (relative to the
repo root) and skip, saying why, when that file is not there.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import sha256
from models import sha256d as btc

HEADERS_FILE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "bitcoin" / "mainnet_headers_0_9999.txt"
GENESIS_HASH = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def hashlib_sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


@pytest.fixture(scope="module")
def headers() -> list[bytes]:
    if not HEADERS_FILE.is_file():
        pytest.skip(f"real Bitcoin headers not found at {HEADERS_FILE.resolve()} (shared data not mounted)")
    return btc.load_headers(HEADERS_FILE)


u32 = st.integers(0, 0xFFFFFFFF)
raw_headers = st.binary(min_size=80, max_size=80)


# ---------------------------------------------------------------------------------------------
# Header, hashing, midstate decomposition
# ---------------------------------------------------------------------------------------------


@FAST
@given(u32, st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32), u32, u32, u32)
def test_header_assembly_round_trips(version, prev_hash, merkle_root, time, bits, nonce):
    raw = btc.header_bytes(version, prev_hash, merkle_root, time, bits, nonce)
    assert len(raw) == 80
    assert raw[76:80] == nonce.to_bytes(4, "little")  # nonce stored little-endian at bytes 76..79
    hdr = btc.BlockHeader.parse(raw)
    assert hdr == btc.BlockHeader(version, prev_hash, merkle_root, time, bits, nonce)
    assert hdr.serialize() == raw
    assert btc.tail(raw) == merkle_root[28:] + time.to_bytes(4, "little") + bits.to_bytes(4, "little")


@FAST
@given(raw_headers)
def test_sha256d_and_midstate_path_match_hashlib(raw):
    expected = hashlib_sha256d(raw)
    assert btc.sha256d(raw) == expected
    assert btc.hash_int(raw) == int.from_bytes(expected, "little")
    assert btc.block_hash_hex(raw) == expected[::-1].hex()
    # The hardware's decomposition, through the plain compression function...
    nonce = int.from_bytes(raw[76:], "little")
    mid = btc.midstate(raw)
    assert btc.hash_from_midstate(mid, btc.tail(raw), nonce) == expected
    # ...and through the specialised fast path search() uses.
    job = btc.Job((mid,), btc.tail(raw), nonce, nonce, 0)
    assert btc.job_hash_int(job, 0, nonce) == int.from_bytes(expected, "little")


def test_second_block_layout():
    block = btc.second_block(bytes(range(12)), 0x11223344)
    assert len(block) == 64
    words = [int.from_bytes(block[i : i + 4], "big") for i in range(0, 64, 4)]
    assert words[3] == 0x44332211  # SHA-256 reads the little-endian nonce as a byte-swapped word
    assert words[3] == btc.bswap32(0x11223344)
    assert words[4] == 0x80000000 and words[15] == 640 and not any(words[5:15])


def test_bad_lengths_rejected():
    with pytest.raises(ValueError):
        btc.BlockHeader.parse(bytes(79))
    with pytest.raises(ValueError):
        btc.header_bytes(1, bytes(31), bytes(32), 0, 0, 0)
    with pytest.raises(ValueError):
        btc.header_bytes(1 << 32, bytes(32), bytes(32), 0, 0, 0)


# ---------------------------------------------------------------------------------------------
# Real mainnet headers
# ---------------------------------------------------------------------------------------------


def test_genesis_hash(headers):
    genesis = headers[0]
    assert btc.block_hash_hex(genesis) == GENESIS_HASH
    hdr = btc.BlockHeader.parse(genesis)
    assert (hdr.version, hdr.time, hdr.bits, hdr.nonce) == (1, 1231006505, 0x1D00FFFF, 2083236893)
    assert hdr.prev_hash == bytes(32)


def test_every_real_header_meets_its_target_and_links(headers):
    assert len(headers) == 10_000
    prev_digest = bytes(32)
    for height, raw in enumerate(headers):
        hdr = btc.BlockHeader.parse(raw)
        assert hdr.serialize() == raw
        assert hdr.prev_hash == prev_digest, f"height {height}: prev_hash is not the hash of block {height - 1}"
        digest = hashlib_sha256d(raw)
        target = btc.target_from_bits(hdr.bits)
        assert btc.hash_int(raw) <= target, f"height {height}: hash above its nbits target"
        assert btc.compact_from_target(target) == hdr.bits  # real nbits are canonical encodings
        prev_digest = digest


def test_midstate_path_on_real_headers(headers):
    for raw in headers[::250]:
        nonce = int.from_bytes(raw[76:], "little")
        assert btc.hash_from_midstate(btc.midstate(raw), btc.tail(raw), nonce) == hashlib_sha256d(raw)


@pytest.mark.parametrize("height", [0, 1, 2, 4999, 9999])
def test_search_finds_the_real_nonce(headers, height):
    hdr = btc.BlockHeader.parse(headers[height])
    start = max(0, hdr.nonce - 300)
    end = min(0xFFFFFFFF, hdr.nonce + 300)
    job = btc.job_from_header(hdr, start, end, job_id=height & 0xFF)
    hits = btc.search(job)
    assert btc.Hit(height & 0xFF, 0, hdr.nonce) in hits
    for hit in hits:  # anything else found must be a genuine solution too
        assert btc.hash_int(hdr.with_nonce(hit.nonce)) <= job.target


def test_search_with_version_rolling_on_genesis(headers):
    hdr = btc.BlockHeader.parse(headers[0])
    versions = btc.rolled_versions(hdr.version, count=4)
    job = btc.job_from_header(hdr, hdr.nonce - 50, hdr.nonce + 50, versions=versions, job_id=7)
    hits = btc.search(job)
    assert btc.Hit(7, 0, hdr.nonce) in hits
    for hit in hits:
        raw = hdr.with_version(versions[hit.midstate_index]).with_nonce(hit.nonce).serialize()
        assert btc.hash_int(raw) <= job.target


# ---------------------------------------------------------------------------------------------
# Compact target
# ---------------------------------------------------------------------------------------------

# Bitcoin Core src/test/arith_uint256_tests.cpp (bignum_SetCompact): nbits, value, negative,
# overflow, GetCompact(negative) of the value.
CORE_COMPACT_VECTORS = [
    (0x00000000, 0, False, False, 0),
    (0x00123456, 0, False, False, 0),
    (0x01003456, 0, False, False, 0),
    (0x02000056, 0, False, False, 0),
    (0x03000000, 0, False, False, 0),
    (0x04000000, 0, False, False, 0),
    (0x00923456, 0, False, False, 0),
    (0x01803456, 0, False, False, 0),
    (0x02800056, 0, False, False, 0),
    (0x03800000, 0, False, False, 0),
    (0x04800000, 0, False, False, 0),
    (0x01123456, 0x12, False, False, 0x01120000),
    (0x01FEDCBA, 0x7E, True, False, 0x01FE0000),
    (0x02123456, 0x1234, False, False, 0x02123400),
    (0x03123456, 0x123456, False, False, 0x03123456),
    (0x04123456, 0x12345600, False, False, 0x04123456),
    (0x04923456, 0x12345600, True, False, 0x04923456),
    (0x05009234, 0x92340000, False, False, 0x05009234),
    (0x20123456, 0x123456 << 232, False, False, 0x20123456),
]


@pytest.mark.parametrize("bits,value,negative,overflow,recompact", CORE_COMPACT_VECTORS)
def test_compact_matches_bitcoin_core(bits, value, negative, overflow, recompact):
    assert btc.decode_compact(bits) == btc.Compact(value, negative, overflow)
    assert btc.compact_from_target(value, negative) == recompact


def test_compact_overflow_and_limits():
    assert btc.decode_compact(0xFF123456).overflow
    assert not btc.decode_compact(0xFF123456).negative
    assert btc.decode_compact(0xFF000000) == btc.Compact(0, False, False)  # zero mantissa never overflows
    # The boundaries of the overflow rule: 34 bytes with a one-byte mantissa still fits, 35 does not.
    assert btc.decode_compact(0x220000FF) == btc.Compact(0xFF << 248, False, False)
    assert btc.decode_compact(0x230000FF).overflow
    assert btc.decode_compact(0x2100FFFF) == btc.Compact(0xFFFF << 240, False, False)
    assert btc.decode_compact(0x2200FFFF).overflow
    assert btc.decode_compact(0x20FFFFFF).overflow is False
    assert btc.decode_compact(0x217FFFFF).overflow
    assert btc.compact_from_target(0x80) == 0x02008000  # never emits the sign bit
    assert btc.target_from_bits(0x1D00FFFF) == 0xFFFF << 208  # difficulty-1 target
    with pytest.raises(ValueError):
        btc.target_from_bits(0x04923456)
    with pytest.raises(ValueError):
        btc.target_from_bits(0xFF123456)
    assert btc.target_from_bits(0x03000000) == 0


@FAST
@given(st.integers(1, (1 << 256) - 1))
def test_compact_round_trip_rounds_down(target):
    bits = btc.compact_from_target(target)
    decoded = btc.target_from_bits(bits)
    assert decoded <= target
    assert btc.compact_from_target(decoded) == bits
    # Only the top 2-3 bytes survive (mantissa >= 0x8000), so the value loses less than 2**-15 of itself.
    assert target - decoded < max(1, decoded >> 15) or target < (1 << 24) and decoded == target


# ---------------------------------------------------------------------------------------------
# Job, search, version rolling
# ---------------------------------------------------------------------------------------------


def brute_force(raw: bytes, versions: list[int], start: int, end: int, target: int, job_id: int) -> list[btc.Hit]:
    hdr = btc.BlockHeader.parse(raw)
    hits = []
    for nonce in range(start, end + 1):
        for index, version in enumerate(versions):
            digest = hashlib_sha256d(hdr.with_version(version).with_nonce(nonce).serialize())
            if int.from_bytes(digest, "little") <= target:
                hits.append(btc.Hit(job_id, index, nonce))
    return hits


@FAST
@given(
    raw=raw_headers,
    count=st.integers(1, 4),
    start=st.one_of(u32, st.integers(0xFFFFFFFF - 40, 0xFFFFFFFF), st.just(0)),
    length=st.integers(0, 100),  # either side of sha256.VECTOR_FROM: nonce by nonce, or over numpy lanes
    easiness=st.integers(1, 3),
    target_low=st.integers(0, (1 << 256) - 1),
    job_id=st.integers(0, 255),
    batch=st.sampled_from([btc.NONCES_AT_ONCE, 33, 40]),  # small batches: ranges cut into several
)
def test_search_equals_hashlib_brute_force(raw, count, start, length, easiness, target_low, job_id, batch):
    if length == 0:  # an empty range: start > end
        start = max(start, 1)
    end = min(0xFFFFFFFF, start + length - 1)
    target = target_low >> easiness  # hit probability about 2**-easiness
    versions = btc.rolled_versions(btc.BlockHeader.parse(raw).version, count=count)
    job = btc.job_from_header(raw, start, end, target=target, job_id=job_id, versions=versions)
    saved, btc.NONCES_AT_ONCE = btc.NONCES_AT_ONCE, batch
    try:
        assert btc.search(job) == brute_force(raw, versions, start, end, target, job_id)
    finally:
        btc.NONCES_AT_ONCE = saved


def test_search_boundaries():
    raw = bytes(range(80))
    mid, tl = btc.midstate(raw), btc.tail(raw)
    all_hit = btc.Job((mid, mid), tl, 0xFFFFFFFE, 0xFFFFFFFF, (1 << 256) - 1, 3)
    assert btc.search(all_hit) == [
        btc.Hit(3, 0, 0xFFFFFFFE),
        btc.Hit(3, 1, 0xFFFFFFFE),
        btc.Hit(3, 0, 0xFFFFFFFF),
        btc.Hit(3, 1, 0xFFFFFFFF),
    ]
    assert btc.search(btc.Job((mid,), tl, 10, 9, (1 << 256) - 1)) == []  # start > end: empty
    assert btc.search(btc.Job((mid,), tl, 0, 20, 0)) == []
    # hash == target is a hit, target one below is not.
    value = btc.job_hash_int(btc.Job((mid,), tl, 5, 5, 0), 0, 5)
    assert value == btc.hash_int(raw[:76] + (5).to_bytes(4, "little"))
    assert btc.search(btc.Job((mid,), tl, 5, 5, value)) == [btc.Hit(0, 0, 5)]
    assert btc.search(btc.Job((mid,), tl, 5, 5, value - 1)) == []


@pytest.mark.parametrize("nonces, midstates", [(3, 2), (40, 1), (10, 4), (2, 1)])
def test_job_hash_ints_are_each_pairs_hash_in_report_order(nonces, midstates):
    """Below VECTOR_FROM (nonce, midstate) pairs nonce by nonce, from it over numpy lanes: each is
    hash_int of the header with that version and nonce, in report order."""
    raw = bytes(range(80))
    versions = btc.rolled_versions(btc.BlockHeader.parse(raw).version, count=midstates)
    start = 0x7FFFFFFF - nonces // 2
    job = btc.job_from_header(raw, start, start + nonces - 1, target=0, versions=versions)
    hdr = btc.BlockHeader.parse(raw)
    expected = [
        btc.hash_int(hdr.with_version(v).with_nonce(n).serialize())
        for n in range(start, start + nonces)
        for v in versions
    ]
    assert list(btc.job_hash_ints(job)) == expected


def test_job_validation():
    mid = sha256.IV
    with pytest.raises(ValueError):
        btc.Job((), bytes(12), 0, 0, 0)
    with pytest.raises(ValueError):
        btc.Job((mid,) * 5, bytes(12), 0, 0, 0)
    with pytest.raises(ValueError):
        btc.Job((mid,), bytes(11), 0, 0, 0)
    with pytest.raises(ValueError):
        btc.Job((mid,), bytes(12), 0, 1 << 32, 0)
    with pytest.raises(ValueError):
        btc.Job((mid,), bytes(12), 0, 0, 1 << 256)
    with pytest.raises(ValueError):
        btc.Job((mid,), bytes(12), 0, 0, 0, job_id=256)
    assert btc.Job((mid,), bytes(12), 7, 6, 0).nonce_count == 0


@FAST
@given(u32, st.integers(1, 16))
def test_rolled_versions_only_touch_masked_bits(version, count):
    versions = btc.rolled_versions(version, count=count)
    assert versions[0] == version
    assert len(set(versions)) == count
    assert all((v ^ version) & ~btc.BIP320_VERSION_MASK == 0 for v in versions)
    assert btc.rolled_versions(version, mask=0x6000, count=4) == [version ^ x for x in (0, 0x2000, 0x4000, 0x6000)]
    with pytest.raises(ValueError):
        btc.rolled_versions(version, mask=0x1, count=3)


def test_job_port_values_packing():
    mids = (tuple(range(8)), tuple(range(100, 108)))
    job = btc.Job(mids, bytes(range(1, 13)), 1, 2, 0x1234, job_id=9)
    ports = btc.job_port_values(job)
    assert ports["job_midstate_count"] == 2
    m1 = (ports["job_midstates"] >> 256) & ((1 << 256) - 1)
    assert m1 >> 224 == 100 and m1 & 0xFFFFFFFF == 107  # word 0 in the MSBs of its slot
    assert ports["job_midstates"] >> 512 == 0
    assert ports["job_tail"] >> 88 == 1 and ports["job_tail"] & 0xFF == 12  # first byte in the MSBs
    assert (ports["job_nonce_start"], ports["job_nonce_end"], ports["job_target"], ports["job_id"]) == (1, 2, 0x1234, 9)
