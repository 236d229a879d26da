"""Fixtures shared by the chip's simulation and formal tests."""

import fcntl

import pytest


@pytest.fixture(scope="session")
def yowasp_warm():
    """The yowasp tools' WebAssembly compiled once (minutes on a cold cache), one worker at a time."""
    from asicdv import project
    from asicdv.tools import formal

    lock = project.current().build / ".yowasp-warm.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        formal.warm_up()
