"""`asicdv sha256d` (alias `mine`) end to end on the RTL: real nonces of genesis and block 125552, both variants."""

import json

import pytest

from asicdv import project
from asicdv.tools import cli
from tb.sha256d.bench import HEADER_125552

HASH_125552 = "00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d"
GENESIS_HASH = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"


def genesis_header() -> str:
    return (project.current().data("bitcoin") / "mainnet_headers_0_9999.txt").read_text().split()[0]


@pytest.mark.parametrize("variant", ["iterative", "pipelined"])
@pytest.mark.parametrize(
    "header,nonce,block_hash",
    [(genesis_header, 2083236893, GENESIS_HASH), (lambda: HEADER_125552, 2504433986, HASH_125552)],
    ids=["genesis", "block125552"],
)
def test_mine_finds_the_real_nonce(variant, header, nonce, block_hash, capsys):
    command = "sha256d" if variant == "pipelined" else "mine"  # the alias runs the same command
    argv = [
        command,
        "--header",
        header(),
        "--start",
        str(nonce - 600),
        "--count",
        "1000",
        "--variant",
        variant,
        "--json",
    ]
    assert cli.main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["hits"] == [{"nonce": nonce, "hash": block_hash, "midstate": 0}]
    assert result["nonces"] == 1000
    per_nonce = result["cycles"] / 1000
    assert per_nonce <= 132 if variant == "iterative" else per_nonce < 1.2
