"""
Helpers of the tests of server children.
"""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from trialnet import ServerProcess

_E = TypeVar("_E", bound=BaseException)


# SCAFFOLDING: the lead removes stopChild and stopPid when the processes'
# teardown (helper B1) lands, which stops every child in the one teardown;
# until then a test must not leave its children running.
def stopChild(server: ServerProcess) -> Deferred[None]:
    """
    Kill a server child's process group, and wait until it is reaped and
    its pipes closed.
    """

    async def stop() -> None:
        server.expectExit()
        if server.returncode is None:
            _kill(server.pid)
        await server.whenExited()
        await server._whenClosed()

    return Deferred.fromCoroutine(stop())


def stopPid(pid: int) -> Deferred[None]:
    """
    Kill the process group of a child whose start failed (only its pid is
    known), and wait until the reactor reaped it.
    """
    from twisted.internet import reactor

    async def stop() -> None:
        _kill(pid)
        for _ in range(500):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            await deferLater(reactor, 0.01, lambda: None)
        # Its pipes close a moment after the reap.
        await deferLater(reactor, 0.05, lambda: None)

    return Deferred.fromCoroutine(stop())


def _kill(pid: int) -> None:
    # Before the launcher's setsid() the child is in the runner's group:
    # signal its own group, and it too.
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


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
