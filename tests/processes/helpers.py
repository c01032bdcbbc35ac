"""
Helpers of the tests of server children.
"""

from __future__ import annotations

import contextlib
import os
import signal

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import deferLater

from trialnet import ServerProcess


# SCAFFOLDING: the lead removes stopChild and stopPid when the processes'
# teardown (helper B1) lands, which stops every child in the one teardown;
# until then a test must not leave its children running.
@inlineCallbacks
def stopChild(server: ServerProcess) -> object:
    """
    Kill a server child's process group, and wait until it is reaped and
    its pipes closed.
    """
    server.expectExit()
    if server.returncode is None:
        _kill(server.pid)
    yield server.whenExited()
    yield server._whenClosed()
    return None


@inlineCallbacks
def stopPid(pid: int) -> object:
    """
    Kill the process group of a child whose start failed (only its pid is
    known), and wait until the reactor reaped it.
    """
    from twisted.internet import reactor

    _kill(pid)
    for _ in range(500):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        yield deferLater(reactor, 0.01, lambda: None)
    # Its pipes close a moment after the reap.
    yield deferLater(reactor, 0.05, lambda: None)
    return None


def _kill(pid: int) -> None:
    # Before the launcher's setsid() the child is in the runner's group:
    # signal its own group, and it too.
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def stopped(server: ServerProcess) -> Deferred[object]:
    """
    L{stopChild}, typed for C{addCleanup}.
    """
    result: Deferred[object] = stopChild(server)
    return result
