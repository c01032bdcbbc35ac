# -*- test-case-name: tests.core.test_teardown -*-
"""
What the teardown closes, as records of one shape: each knows how to close
in an orderly way, abort, force, describe itself as a leftover, and say when
it settled.  Here are their common base and the small records (a pool, a
service, a pending listen); connection ends, ports and client attempts have
modules of their own.  What never waits is not a record but a L{Hook}: a
step the teardown runs at its stage, and again when it forgets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.task import deferLater
from twisted.python import log
from twisted.python.failure import Failure
from twisted.python.reflect import qual
from zope.interface import Attribute, Interface, implementer

from ._report import Leftover, Origin

#: The stage of records that stop accepting (ports), closed first.
STOP_ACCEPTING = 0
#: The stage of everything else but processes.
CLOSE = 1
#: The stage of processes: stopped only once everything of the earlier
#: stages settled (the test's connections to them closed first), within a
#: bound of their own.
STOP_PROCESSES = 2


class IRecord(Interface):
    """
    One thing the teardown closes: a port, a connection end, a client
    attempt, a connector, a pool, a service or a pending listen.  The teardown
    treats every record alike.
    """

    stage = Attribute(
        "0 for what stops accepting (ports), closed first; 1 for the rest; "
        "2 for processes, stopped once the rest settled."
    )
    origin = Attribute(
        "The L{Origin<trialnet._core._report.Origin>} of the line that opened "
        "or adopted it."
    )
    observed = Attribute(
        "Whether the code under test opened it by itself (not through "
        "trialnet, nor adopted with track)."
    )
    settled = Attribute("Whether the teardown has nothing more to wait for.")
    leftOpen = Attribute(
        "Whether it is open in its own right, for a report of what the code "
        "under test left open (a connector counts only while connecting: its "
        "connection is an end of its own)."
    )

    def close() -> None:
        """
        Begin an orderly close.
        """

    def abort(waited: float) -> object:
        """
        The bound passed and it has not settled: abort it.

        @param waited: Seconds the teardown waited.
        @return: The L{trialnet._core._report.Leftover} that describes it, or C{None}.
        """

    def force(leftover: object) -> object:
        """
        Even the abort did not settle it: release it by force, and settle.

        @param leftover: What L{abort} returned.
        @return: The L{trialnet._core._report.Leftover} that describes it
            now, or C{None}.
        """

    def finalReport() -> object:
        """
        @return: A L{trialnet._core._report.Leftover} for a problem found although
            it settled (a port whose stop failed), or C{None}.
        """

    def forget() -> None:
        """
        Undo every observation and drop every reference to the application's
        objects.
        """

    def leftover(action: str, **details: str) -> object:
        """
        Describe it for the report.

        @param action: What the teardown did about it.
        @return: A L{trialnet._core._report.Leftover}.
        """


def fireAll(waiters: list[Deferred[Any]], result: object) -> None:
    """
    Empty C{waiters}, then fire each with C{result}: a callback that waits
    again gets a waiter of the next round, not of this one.  A waiter
    already fired from outside (cancelled, or failed by trial's timeout) is
    left as it is.
    """
    if not waiters:
        # Most records have no waiter: no copy made.
        return
    fired = waiters[:]
    waiters.clear()
    for waiter in fired:
        if not waiter.called:
            waiter.callback(result)


class Hook:
    """
    A step of the teardown that never waits, so never settles, aborts nor
    is reported: run when the teardown closes what is at its stage (before
    the records of that stage), and when it forgets.  Run inside the
    teardown's guard, as every step: what one raises is logged and the rest
    still runs.
    """

    stage: ClassVar[int] = CLOSE
    role: ClassVar[str] = ""

    @property
    def kind(self) -> str:
        return ""

    def closing(self) -> None:
        """
        The teardown closes what is at this hook's stage.
        """

    def forget(self) -> None:
        """
        The teardown forgets: undo every observation and drop every
        reference to the application's objects.
        """


@implementer(IRecord)
class Record:
    """
    The base of every record: where it was opened, whether the code under
    test opened it, and how it tells its registry it settled.
    """

    stage: ClassVar[int] = CLOSE
    role: ClassVar[str] = ""

    def __init__(
        self, origin: Origin, observed: bool, onSettled: Callable[[Record], None]
    ) -> None:
        # End, PortRecord and ClientAttempt set these three themselves (the
        # records of every connection): a new attribute here goes there too.
        self.origin = origin
        self.observed = observed
        self._onSettled = onSettled

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.role} {self.kind} from {self.origin}>"

    @property
    def settled(self) -> bool:
        raise NotImplementedError

    @property
    def leftOpen(self) -> bool:
        return not self.settled

    @property
    def kind(self) -> str:
        return ""

    def close(self) -> None:
        pass

    def abort(self, waited: float) -> Leftover | None:
        return None

    def force(self, leftover: Any) -> Leftover | None:
        return leftover  # type: ignore[no-any-return]

    def finalReport(self) -> Leftover | None:
        return None

    def forget(self) -> None:
        pass

    def leftover(self, action: str, **details: Any) -> Leftover:
        return Leftover(
            role=self.role, origin=self.origin, action=action, kind=self.kind, **details
        )

    def _settle(self) -> None:
        self._onSettled(self)


class _Closing(Record):
    """
    A record closed by one call that returns a Deferred: settled when it
    fires.

    @cvar _oneTurnLater: Whether the call waits one turn of the reactor:
        the test may have ended inside the code under test's own callbacks
        (a C{ClientService}'s C{whenConnected()}), where the call would be a
        reentrant one that the thing's state machine refuses.
    """

    _never: ClassVar[str]
    _oneTurnLater: ClassVar[bool] = False

    def __init__(
        self,
        thing: Any,
        origin: Origin,
        onSettled: Callable[[Record], None],
        reactor: Any,
    ) -> None:
        super().__init__(origin, False, onSettled)
        self._reactor = reactor
        self._thing = thing
        self._kind = qual(type(thing))
        self._closing: Deferred[object] | None = None
        self._done = False

    @property
    def settled(self) -> bool:
        return self._closing is None or self._done

    @property
    def kind(self) -> str:
        return self._kind

    def close(self) -> None:
        if self._oneTurnLater:
            self._closing = deferLater(self._reactor, 0, self._call)
        else:
            self._closing = maybeDeferred(self._call)
        self._closing.addBoth(self._closed)

    def _call(self) -> object:
        if self._thing is None:
            return None
        return self._start()

    def _start(self) -> object:
        raise NotImplementedError

    def _closed(self, result: object) -> None:
        if isinstance(result, Failure):
            log.err(result, f"trialnet teardown: error while closing {self._kind}")
        self._done = True
        self._settle()

    def force(self, leftover: Leftover | None) -> Leftover | None:
        if self.settled:
            return leftover
        self._done = True
        return self.leftover(self._never)

    def forget(self) -> None:
        self._thing = None


class PoolRecord(_Closing):
    """
    An L{HTTPConnectionPool<twisted.web.client.HTTPConnectionPool>} (or
    anything with C{closeCachedConnections()}): closed through the pool, since
    its cached connections hold timers that closing them does not cancel.
    """

    role = "pool"
    _never = "closeCachedConnections() never finished"

    def _start(self) -> object:
        return self._thing.closeCachedConnections()

    def forget(self) -> None:
        # A connection whose response finished while the teardown closed
        # everything (the test ended inside the response's callbacks, before
        # the pool took the connection back) went back to the pool after it
        # was closed, with a timer of minutes: close the pool again, which
        # cancels it.
        if self._thing is not None and self._closing is not None:
            self._thing.closeCachedConnections()
        super().forget()


class ServiceRecord(_Closing):
    """
    A running L{IService<twisted.application.service.IService>}: stopped, and
    waited for, so that a service that reconnects stops doing so.
    """

    role = "service"
    _never = "stopService() never finished"
    _oneTurnLater = True

    def _start(self) -> object:
        if not getattr(self._thing, "running", True):
            return None
        return self._thing.stopService()


class PendingListen(Record):
    """
    A listen of an adopted server endpoint that has not finished: the
    teardown waits for it, and the port it brings joins the teardown.
    """

    role = "port"

    def __init__(self, origin: Origin, onSettled: Callable[[Record], None]) -> None:
        super().__init__(origin, False, onSettled)
        self._pending = True

    @property
    def settled(self) -> bool:
        return not self._pending

    def finished(self) -> None:
        """
        The endpoint's listen succeeded or failed.
        """
        self._pending = False
        self._settle()

    def force(self, leftover: Leftover | None) -> Leftover | None:
        if not self._pending:
            return leftover
        self._pending = False
        return self.leftover(
            "an endpoint listen that neither finished nor stopped when cancelled"
        )
