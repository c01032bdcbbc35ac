"""
Sockets a test left open without trialnet knowing: found after the test,
closed, and named in the test's own error instead of in trial's class-end
C{DirtyReactorAggregateError}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IListeningPort
from twisted.internet.task import deferLater
from twisted.python import log
from twisted.python.reflect import qual

from ._report import Leftover, Origin, TeardownError, describeAddress
from ._transports import releaseSocket


def selectables(reactor: Any) -> set[Any]:
    """
    Everything the reactor reads from or writes to now.
    """
    return set(reactor.getReaders()) | set(reactor.getWriters())


def _isSocket(selectable: Any) -> bool:
    # The reactor's own waker, and pipes of processes, have no addresses.
    return callable(getattr(selectable, "getHost", None))


def untracked(reactor: Any, before: set[Any]) -> list[Any]:
    """
    The sockets the reactor watches that it did not watch before the test.

    @param before: What L{selectables} gave before the test began.
    """
    return [s for s in selectables(reactor) - before if _isSocket(s)]


async def closeUntracked(reactor: Any, found: list[Any], origin: Origin) -> None:
    """
    Close the sockets L{untracked} found, and report them.

    @param origin: The test method: they were opened somewhere in it.
    @raise TeardownError: Naming each socket it closed.
    """
    leftovers = []
    stops: list[Deferred[object]] = []
    for selectable in found:
        leftovers.append(_describe(selectable, origin))
        if IListeningPort.providedBy(selectable):
            stops.append(maybeDeferred(selectable.stopListening))
        else:
            abort = getattr(selectable, "abortConnection", None)
            if abort is not None:
                abort()
            else:
                selectable.loseConnection()
    for stop in stops:
        try:
            await stop
        except Exception:
            log.err(None, "trialnet: a port the test left open failed to stop")
    # Aborted connections report connectionLost one turn later.
    await deferLater(reactor, 0, lambda: None)
    for selectable in found:
        if selectable in selectables(reactor):
            releaseSocket(reactor, selectable)
    raise TeardownError(leftovers)


def _describe(selectable: Any, origin: Origin) -> Leftover:
    protocol = getattr(selectable, "protocol", None)
    kind = qual(type(selectable))
    if protocol is not None:
        kind = f"{kind} of {qual(type(protocol))}"
    peer = ""
    getPeer = getattr(selectable, "getPeer", None)
    if getPeer is not None and not IListeningPort.providedBy(selectable):
        peer = describeAddress(getPeer())
    return Leftover(
        role="untracked "
        + ("port" if IListeningPort.providedBy(selectable) else "connection"),
        kind=kind,
        local=describeAddress(selectable.getHost()),
        peer=peer,
        origin=origin,
        action=(
            "the test opened it without trialnet (nor adopted it with track) and "
            "left it open; closed after the test"
        ),
    )
