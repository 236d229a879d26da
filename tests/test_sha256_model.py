"""models.sha256 against independent references: hashlib and the NIST SHAVS vectors."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asicdv import project
from models import sha256 as model

NIST = project.current().data("nist")


def nist(name):
    path = NIST / name
    if not path.exists():
        pytest.fail(f"reference data missing: {path} (../shared/data beside the repo)")
    return model.parse_cavp(path.read_text(), str(path))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_digest_matches_hashlib(message):
    assert model.digest(message) == hashlib.sha256(message).digest()


@pytest.mark.parametrize("name,count", [("SHA256ShortMsg.rsp", 65), ("SHA256LongMsg.rsp", 64)])
def test_nist_vectors(name, count):
    vectors = nist(name)
    assert len(vectors) == count
    for vector in vectors:
        assert model.digest(vector.message) == vector.digest, f"Len = {vector.length_bits}"


def test_len_zero_is_empty_message():
    assert nist("SHA256ShortMsg.rsp")[0].message == b""


def test_trace_ends_in_compression_and_padding_lengths():
    block = model.blocks(b"abc")[0]
    states = model.trace(model.IV, block)
    assert len(states) == 64
    assert model.compress(model.IV, block) == tuple(
        (a + b) & model.MASK for a, b in zip(model.IV, states[-1], strict=True)
    )
    # FIPS 180-4 appendix B.1: working variable a after round 0 for "abc".
    assert states[0][0] == 0x5D6AEBCD
    for n in (0, 55, 56, 63, 64, 119, 120):
        assert len(model.pad(bytes(n))) % 64 == 0
    assert len(model.blocks(bytes(55))) == 1 and len(model.blocks(bytes(56))) == 2


@settings(max_examples=200, deadline=None)
@given(st.tuples(*[st.integers(0, model.MASK)] * 8), st.binary(min_size=64, max_size=64))
def test_compress_is_the_rounds_of_trace(chain, block):
    """`compress` keeps the state in locals; `trace` applies `round_step` round by round."""
    final = model.trace(chain, block)[-1]
    assert model.compress(chain, block) == tuple((a + b) & model.MASK for a, b in zip(chain, final, strict=True))


@pytest.mark.parametrize(
    "text,problem",
    [
        ("", "no Len/Msg/MD records"),
        ("Len = 8\nMsg = zz\nMD = 00\n", "bad record"),
        ("Len = 8\nMsg = 61\n", "ends inside a record"),
        ("hello world\n", "not a CAVP"),
        ("Len = 3\nMsg = 61\nMD = " + "00" * 32 + "\n", "not whole bytes"),
        ("Len = 8\nMsg = 61\nMD = 0000\n", "MD has 2 bytes"),
        ("Len = 16\nMsg = 61\nMD = " + "00" * 32 + "\n", "Msg has 1 bytes"),
    ],
)
def test_cavp_parser_names_the_problem(text, problem):
    with pytest.raises(ValueError, match=problem):
        model.parse_cavp(text)


def test_monte_carlo_first_checkpoint_in_the_model():
    text = (NIST / "SHA256Monte.rsp").read_text()
    seed = bytes.fromhex(next(line.split("=")[1].strip() for line in text.splitlines() if line.startswith("Seed")))
    first_md = bytes.fromhex(next(line.split("=")[1].strip() for line in text.splitlines() if line.startswith("MD")))
    md = [seed] * 3
    for _ in range(1000):
        md = [md[1], md[2], model.digest(md[0] + md[1] + md[2])]
    assert md[-1] == first_md


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.tuples(*[st.integers(0, model.MASK)] * 8), st.binary(min_size=64, max_size=64)),
        max_size=2 * model.VECTOR_FROM + 3,
    )
)
def test_compress_many_is_compress_of_each(pairs):
    """Below VECTOR_FROM blocks compress_many loops; from it on numpy computes the batch: both
    give each block's compress (lengths on both sides of the threshold)."""
    chains, blocks = [c for c, _ in pairs], [b for _, b in pairs]
    assert model.compress_many(chains, blocks) == [model.compress(c, b) for c, b in pairs]


def test_compress_many_of_all_ones_and_zeros_wraps_like_compress():
    """The numpy sums wrap at 2^32: the extremes, in a batch big enough to take that path."""
    chains = [(model.MASK,) * 8, (0,) * 8] * model.VECTOR_FROM
    blocks = [b"\xff" * 64, bytes(64)] * model.VECTOR_FROM
    assert model.compress_many(chains, blocks) == [model.compress(c, b) for c, b in zip(chains, blocks, strict=True)]
    with pytest.raises(ValueError, match="64 bytes"):
        model.compress_many(chains, [b"\x00" * 63] * len(chains))
