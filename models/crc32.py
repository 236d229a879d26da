"""CRC-32 golden model (IEEE 802.3 / zlib), bit by bit as the standard defines it.

Plain Python, no simulator imports. Reflected polynomial 0xEDB88320, initial register
0xFFFFFFFF, final XOR 0xFFFFFFFF; `crc32(b"123456789") == 0xCBF43926` (the check value).
"""

from __future__ import annotations

POLY = 0xEDB88320
CHECK = 0xCBF43926  # crc32(b"123456789"), the catalogue's check value


def update(register: int, data: bytes) -> int:
    """The CRC register after absorbing `data` (no final XOR)."""
    for byte in data:
        register ^= byte
        for _ in range(8):
            register = (register >> 1) ^ (POLY if register & 1 else 0)
    return register


def crc32(data: bytes) -> int:
    return update(0xFFFFFFFF, data) ^ 0xFFFFFFFF


def words(data: bytes) -> list[tuple[int, int]]:
    """(data word, byte count) as the core's `next` takes them: up to 4 bytes, first byte in [7:0]."""
    return [(int.from_bytes(data[i : i + 4], "little"), len(data[i : i + 4])) for i in range(0, len(data), 4)]
