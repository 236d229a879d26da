"""This chip's bench workloads without a simulator (tb/<block>/bench.py): the word formats the
native harnesses read, the independent hit reference, and the modules the harness finds."""

import numpy as np

from asicdv.tools import bench
from models import sha256d as model
from tb.kpu import bench as kpu_bench
from tb.sha256d import bench as miner_bench


def test_port_words_round_trip():
    value = (1 << 255) | 0x1234_5678_9ABC_DEF0
    words = bench.int_words(value, 8)
    assert words[0] == 0x9ABC_DEF0 and words[1] == 0x1234_5678 and words[7] == 0x8000_0000
    assert bench.words_int(words) == value


def test_hashlib_hits_match_the_model_search():
    job = miner_bench.miner_job(600, 4)  # about 37 hits, the real nonce in the middle
    hits = miner_bench.miner_hits_hashlib(job)
    assert (0, miner_bench.NONCE_125552) in hits
    assert hits == [(h.midstate_index, h.nonce) for h in model.search(job)]


def test_miner_job_words_follow_the_port_values():
    job = miner_bench.miner_job(16, 1)
    words = miner_bench.miner_words(job)
    ports = model.job_port_values(job)
    assert bench.words_int(words[:32]) == ports["job_midstates"]
    assert words[32] == 1 and bench.words_int(words[33:36]) == ports["job_tail"]
    assert (words[36], words[37]) == (job.nonce_start, job.nonce_end)
    assert bench.words_int(words[38:46]) == job.target


def test_kpu_beats_carry_each_tile_column_and_row():
    rng = np.random.default_rng(3)
    a = rng.integers(-128, 128, (10, 5)).astype(np.int8)  # a partial row tile (10 = 8 + 2)
    b = rng.integers(-128, 128, (5, 3)).astype(np.int8)  # a partial column tile
    layer = kpu_bench.kpu_layer(rng, a, b)
    words, tiles = kpu_bench.kpu_beats(a, b, 8, 8, layer)
    assert tiles == [(0, 0), (8, 0)]
    records = words.reshape(2 * 5, -1)
    assert records.shape[1] == 2 + 2 + 1 + 8 + 8 + 2 + 6
    # Tile 1, k = 4 (its last beat): A rows 8, 9 then zero padding; B row 4, columns 0..2.
    rec = records[5 + 4]
    a_lanes = np.frombuffer(rec[:2].astype("<u4").tobytes(), dtype=np.int8)
    b_lanes = np.frombuffer(rec[2:4].astype("<u4").tobytes(), dtype=np.int8)
    assert list(a_lanes) == [a[8, 4], a[9, 4]] + [0] * 6
    assert list(b_lanes) == list(b[4]) + [0] * 5
    assert rec[4] == 1 and records[5 + 3][4] == 0  # op_last on the last k only
    first = records[5]  # per-tile parameters ride on the first beat
    assert list(first[5:8].view(np.int32)) == list(layer["bias"])
    shifts = bench.words_int(first[21:23])
    assert [((shifts >> (6 * i)) & 63) - 64 * (((shifts >> (6 * i)) >> 5) & 1) for i in range(3)] == list(
        layer["shift"]
    )


def test_the_harness_finds_each_blocks_bench_and_its_hooks():
    benches = bench.block_benches()
    assert set(benches) == {"sha256", "sha256d", "kpu"}
    assert all(hasattr(m, "overhead") and m.SYNTHESIS and m.NATIVE.is_file() for m in benches.values())
    assert hasattr(benches["sha256d"], "run") and hasattr(benches["kpu"], "hardware")
