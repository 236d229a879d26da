"""Blocking code that awaits cocotb triggers, on the scheduler's own thread.

`await run_blocking(func)` runs `func()` in a greenlet; inside it, `wait(awaitable)` suspends
`func`, awaits `awaitable` in the calling task and returns its result (or raises its error) in
`func`. This is what cocotb.task.bridge/resume do with a thread, without the two thread
wake-ups per hand-off (tens of microseconds on an idle machine, milliseconds on a loaded one):
a greenlet switch is a function call. Only one side runs at a time, as with cocotb's bridge.
"""

from __future__ import annotations

from asyncio import CancelledError
from bdb import BdbQuit
from collections.abc import Awaitable, Callable
from typing import TypeVar

import greenlet

R = TypeVar("R")

# Errors that end the simulation or cancel the task (a test's timeout cancels its tasks): they
# are not func's to handle (hypothesis would take them for a failing example and shrink on).
_ABORTS = (KeyboardInterrupt, SystemExit, GeneratorExit, BdbQuit, CancelledError)


class _Waiting:
    """What func hands the task: the awaitable to await for it."""

    __slots__ = ("awaitable",)

    def __init__(self, awaitable: Awaitable):
        self.awaitable = awaitable


async def run_blocking(func: Callable[[], R]) -> R:
    """Run `func()` to its end; every `wait(awaitable)` inside it is awaited here."""
    child = greenlet.greenlet(func)
    request = child.switch()
    while isinstance(request, _Waiting) and not child.dead:
        try:
            value = await request.awaitable
        except _ABORTS:
            child.throw(greenlet.GreenletExit)  # unwind func, then let the abort through
            raise
        except BaseException as exc:  # func's to handle, as cocotb.task.resume hands it over
            request = child.throw(exc)
        else:
            request = child.switch(value)
    return request


def wait(awaitable: Awaitable[R]) -> R:
    """From inside `run_blocking`'s func: await `awaitable` in the scheduler, return its result."""
    parent = greenlet.getcurrent().parent
    if parent is None:
        raise RuntimeError("wait() is for code that run_blocking runs")
    return parent.switch(_Waiting(awaitable))
