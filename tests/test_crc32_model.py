"""CRC-32 model vs zlib (an independent implementation) and the catalogue check value."""

import zlib

from hypothesis import given
from hypothesis import strategies as st

from models import crc32


def test_check_value():
    assert crc32.crc32(b"123456789") == crc32.CHECK == 0xCBF43926
    assert crc32.crc32(b"") == 0


@given(st.binary(max_size=300))
def test_matches_zlib(data):
    assert crc32.crc32(data) == zlib.crc32(data)


@given(st.binary(max_size=40))
def test_words_cover_the_message(data):
    pieces = b"".join(word.to_bytes(4, "little")[:count] for word, count in crc32.words(data))
    assert pieces == data and all(1 <= count <= 4 for _, count in crc32.words(data))
