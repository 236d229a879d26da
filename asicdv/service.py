"""The simulator side of asicdv.rtl.ask: one service per block, in `tb/<block>/service.py`.

A block's service module defines `Service = serve(answer)`, where `async answer(dut, request)
-> response` does the work on the DUT with the block's BFM (the same drivers, monitors and
models the tests use). The request is read from ASICDV_REQUEST and the response written to
ASICDV_RESPONSE (JSON), so the CLI and the bench ask the RTL with one call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable

import cocotb

TEST_NAME = "Service"


def request() -> dict:
    path = os.environ.get("ASICDV_REQUEST")
    if not path:
        raise RuntimeError("no ASICDV_REQUEST: this test is run by asicdv.rtl.ask")
    with open(path) as f:
        return json.load(f)


def respond(response: dict) -> None:
    with open(os.environ["ASICDV_RESPONSE"], "w") as f:
        json.dump(response, f)


def serve(answer: Callable[[object, dict], Awaitable[dict]]):
    """The block's service test: answer the request on the DUT, write the response."""

    async def Service(dut):
        respond(await answer(dut, request()))

    Service.__qualname__ = Service.__name__ = TEST_NAME
    return cocotb.test()(Service)
