"""The simulator side of asicdv.rtl.ask: read the request, write the response."""

from __future__ import annotations

import json
import os


def request() -> dict:
    path = os.environ.get("ASICDV_REQUEST")
    if not path:
        raise RuntimeError("no ASICDV_REQUEST: this test is run by the asicdv CLI")
    with open(path) as f:
        return json.load(f)


def respond(response: dict) -> None:
    with open(os.environ["ASICDV_RESPONSE"], "w") as f:
        json.dump(response, f)
