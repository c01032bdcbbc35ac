# -*- test-case-name: tests.sockets.test_untracked,tests.sockets.test_unseen -*-
"""
The last safety net: sockets left in the reactor by means trialnet could not
see (a port made by hand, or opened through a reactor method captured before
the test, as C{twisted.protocols.ftp} does), found after the test.  They
join the same teardown as everything else: closed in order and waited for
within the bound, a close already under way waited for, and only what had to
be aborted reported (with strict cleanup, also what the code under test left
open).  A selectable that is not a socket (a child process's pipe) is named
in the log and left to trial.
"""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from twisted.internet.interfaces import IConnector, IListeningPort
from twisted.python import log

from .._core._report import SCAN_STEP, Leftover, TeardownError, allocationOrigin
from .._core._teardown import LEFT_OPEN, Teardown
from ._registry import Registry
from ._transports import applicationProtocol

#: What the report says of every socket the scan found.
UNSEEN = "opened by means trialnet could not see"

#: What strict cleanup says of one the code under test left open.
UNSEEN_LEFT_OPEN = (
    f"{UNSEEN}, and left open by the code under test when the test ended; "
    f"closed after the test"
)


def selectables(reactor: Any) -> set[Any]:
    """
    Everything the reactor reads from or writes to now.
    """
    # One set built from both lists, not two sets and their union: it is
    # made twice a test.
    return {*reactor.getReaders(), *reactor.getWriters()}


def untracked(reactor: Any, before: set[Any]) -> list[Any]:
    """
    What the reactor watches that it did not watch before the test, and
    has addresses: a socket, or a process's pipe (whose C{getHost} raises).
    The reactor's own wakers (its C{SIGCHLD} waker, which trial's run of
    the reactor adds after the test began) have none, and are its business.

    @param before: What L{selectables} gave before the test began.
    """
    new = selectables(reactor) - before
    if not new:
        # Nothing new, as after nearly every test: no list to filter.
        return []
    return [
        selectable
        for selectable in new
        if callable(getattr(selectable, "getHost", None))
    ]


async def closeUntracked(
    reactor: Any,
    found: list[Any],
    disconnectTimeout: float,
    strict: bool,
    fitWithin: float,
) -> None:
    """
    Close the sockets among what L{untracked} found as the teardown closes
    everything: in order, waited for within C{disconnectTimeout}, what is
    left then aborted.  What is not a socket is named in the log and left
    to trial.

    @param strict: Whether what the code under test left open is reported.
    @param fitWithin: Seconds the whole of it must end well within (trial's
        timeout for C{tearDown}).
    @raise TeardownError: Naming what had to be aborted (and, if C{strict},
        what was left open).
    """
    sockets = []
    for selectable in found:
        try:
            if _isSocket(selectable):
                sockets.append(selectable)
            else:
                log.msg(f"trialnet: {_name(selectable)} is not a socket; left to trial")
        except Exception:
            log.err(None, "trialnet: error while looking at what the test left")
    if not sockets:
        return
    registry = Registry(reactor, _configureNothing)
    teardown = Teardown(reactor, registry, disconnectTimeout, strict)
    teardown.fitWithin(fitWithin)
    for selectable in sockets:
        try:
            if not _adopt(registry, selectable, _leftOpen(selectable, sockets)):
                log.msg(
                    f"trialnet: {_name(selectable)} is a socket with no protocol "
                    f"to close it through; left to trial"
                )
        except Exception:
            log.err(None, f"trialnet: error while closing {_name(selectable)}")
    try:
        await teardown.close()
    except TeardownError as error:
        raise TeardownError(
            [_unseen(leftover) for leftover in error.leftovers],
            error.waited,
            SCAN_STEP,
        ) from None


def _isSocket(selectable: Any) -> bool:
    # Asked of the kernel: a process's pipes have getHost and getPeer too,
    # which raise NotImplementedError.
    try:
        return stat.S_ISSOCK(os.fstat(selectable.fileno()).st_mode)
    except (OSError, ValueError, TypeError, AttributeError):
        return False


def _adopt(registry: Registry, selectable: Any, leftOpen: bool) -> bool:
    """
    Record what was found, as a port, a connector or a connection end.

    @param leftOpen: Whether it counts as left open by the code under test
        (for strict cleanup).
    @return: Whether it could be recorded.
    """
    origin = allocationOrigin(selectable, getattr(selectable, "socket", None))
    if IListeningPort.providedBy(selectable):
        registry.adoptPort(selectable, origin, observed=leftOpen)
        return True
    connector = getattr(selectable, "connector", None)
    role = "server"
    if IConnector.providedBy(connector):
        # A connector stops its factory from connecting again; its
        # connection, if made, is adopted with it (and found known below).
        registry.addConnector(connector, origin, observed=leftOpen)
        role = "client"
    protocol = getattr(selectable, "protocol", None)
    if protocol is None:
        # A client still connecting has no protocol yet: its connector
        # stops it.
        return role == "client"
    # The application's protocol, so that TLS closes through TLS.
    registry.adoptProtocol(
        applicationProtocol(protocol), origin, role, observed=leftOpen
    )
    return True


def _leftOpen(selectable: Any, sockets: Iterable[Any]) -> bool:
    """
    Whether the code under test left it open: a port still listening, or a
    connection whose close nobody began (not this end, nor its peer).
    """
    if IListeningPort.providedBy(selectable):
        return True
    if _closing(selectable):
        return False
    peer = _address(selectable.getPeer)
    if peer is not None and any(
        other is not selectable
        and _address(other.getHost) == peer
        and not IListeningPort.providedBy(other)
        and _closing(other)
        for other in sockets
    ):
        return False
    return not _peerClosed(selectable)


def _closing(selectable: Any) -> bool:
    """
    Whether a close of the connection is under way (TLS's, above the
    socket's, too).
    """
    protocol = getattr(selectable, "protocol", None)
    return bool(getattr(selectable, "disconnecting", False)) or bool(
        getattr(protocol, "disconnecting", False)
    )


def _peerClosed(selectable: Any) -> bool:
    """
    Whether the peer's close waits to be read: the connection closes by
    itself at the next read.
    """
    try:
        handle = selectable.getHandle()
        return bool(handle.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"")
    except Exception:
        return False


def _address(method: Any) -> object:
    try:
        return method()
    except Exception:
        return None


def _unseen(leftover: Leftover) -> Leftover:
    """
    Say of a leftover of the scan that trialnet could not see it opened.
    """
    if leftover.role == "timer":
        return leftover
    if leftover.action == LEFT_OPEN:
        action = UNSEEN_LEFT_OPEN
    else:
        action = f"{UNSEEN}; {leftover.action}"
    return replace(leftover, role=f"untracked {leftover.role}", action=action)


def _name(selectable: Any) -> str:
    """
    Describe a selectable for the log, whatever it is.
    """
    try:
        return repr(selectable)
    except Exception:
        return f"a {type(selectable).__qualname__}"


def _configureNothing(protocol: object) -> None:
    """
    What the scan configures of a protocol it adopts: nothing (its waits
    are over).
    """
