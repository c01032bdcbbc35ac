"""
Helpers of the tests of server children.
"""

from __future__ import annotations

import os
import time
from typing import Any, TypeVar

from twisted.internet.defer import Deferred

_E = TypeVar("_E", bound=BaseException)


async def failureOf(waiting: Deferred[Any], kind: type[_E]) -> _E:
    """
    @return: The error of kind C{kind} that C{waiting} fails with.
    @raise AssertionError: If it succeeds, or fails otherwise.
    """
    try:
        result = await waiting
    except kind as error:
        return error
    raise AssertionError(f"expected {kind.__name__}, got {result!r}")


def untilExited(pid: int, bound: float = 10.0) -> None:
    """
    Block until the child C{pid} exited, without reaping it (C{WNOWAIT}):
    the reactor still reaps it, through Twisted, when it gets the chance.

    @raise AssertionError: If it is still running after C{bound} seconds.
    """
    deadline = time.monotonic() + bound
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"child {pid} still running after {bound}s")
        time.sleep(0.005)
