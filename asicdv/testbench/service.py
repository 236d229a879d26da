"""The simulator side of asicdv.tools.service_client.ask: one service per block, in `tb/<block>/service.py`.

A block's service module defines `Service = serve(answer)`, where `async answer(dut, request)
-> response` does the work on the DUT with the block's BFM (the same drivers, monitors and
models the tests use). The request is read from ASICDV_REQUEST and the response written to
ASICDV_RESPONSE (JSON), so the CLI and the bench ask the RTL with one call.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable

import cocotb

TEST_NAME = "Service"


def request() -> dict:
    path = os.environ.get("ASICDV_REQUEST")
    if not path:
        raise RuntimeError("no ASICDV_REQUEST: this test is run by asicdv.tools.service_client.ask")
    with open(path) as f:
        return json.load(f)


def respond(response: dict) -> None:
    with open(os.environ["ASICDV_RESPONSE"], "w") as f:
        json.dump(response, f)


def serve(answer: Callable[[object, dict], Awaitable[dict]]):
    """The block's service test: answer the request on the DUT, write the response."""

    async def Service(dut):
        asked = request()
        start = time.perf_counter()
        response = await answer(dut, asked)
        # Wall time of the simulation itself (BFM, reset, stimulus, results), without the
        # process's start-up: what the bench compares with a native harness.
        response["answer_wall_s"] = round(time.perf_counter() - start, 6)
        respond(response)

    Service.__qualname__ = Service.__name__ = TEST_NAME
    return cocotb.test()(Service)
