# -*- test-case-name: tests.processes.test_servers,tests.processes.test_targets -*-
"""
L{ServerProcess}: a server in a child process, started by C{spawnServer()}
and a target wherever a port is.

By default trialnet binds C{127.0.0.1} port 0 and hands the listening
socket to the child on descriptor 3 with systemd's variables (socket
activation): the port is known before the child runs, and connections
wait in the backlog until it accepts.  With a ready line, the child binds
by itself and says where; it is ready once a complete line of its stdout
or stderr matches.

This module only spawns: stopping the child belongs to the teardown.  What
it watches is how the child ends: before it was ready, C{spawnServer()}
fails at once with its exit and output; after, during the test, the
teardown reports it (L{ServerWatch}), and a C{connect()} to it fails naming
it.
"""

from __future__ import annotations

import enum
import os
import signal
import textwrap
from collections.abc import Callable
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IListeningPort
from twisted.python import log
from twisted.python.failure import Failure

from .._core._record import Record
from .._core._report import Leftover, Origin
from .._sockets._addresses import describeAddress
from .._sockets._targets import PortFront
from .._sockets._transports import TCP
from ._ready import Tail, shown
from ._stopping import exiting

#: Seconds a child that ended before it was ready is given to finish
#: writing (its output closed, or its exit reaped), so that the error shows
#: its last words; a grandchild that holds the output open is not waited
#: for longer.
LAST_WORDS = 0.5

#: The listen queue of the socket handed to a child.
ACTIVATION_BACKLOG = 128


def describeExit(reason: Failure) -> tuple[int, str]:
    """
    @param reason: What C{processExited} was given.
    @return: The exit as C{subprocess} gives it (the status, or minus the
        signal), and as text.
    """
    value = reason.value
    number = getattr(value, "signal", None)
    if number is not None:
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return -number, f"killed by {name} ({number})"
    code = getattr(value, "exitCode", None) or 0
    return code, f"exited with status {code}"


def argvText(argv: list[bytes]) -> str:
    """
    A child's argv, as text for errors and reports.
    """
    return repr([os.fsdecode(item) for item in argv])


class ServerProcessError(Exception):
    """
    A server in a child process could not be used: it ended (or closed its
    output) before it was ready, did not become ready in time, or ended
    before a connection to it.

    @ivar argv: The child's argv, as text.
    @ivar pid: The child's pid.
    @ivar exit: How it ended (C{"exited with status 1"}, C{"killed by
        SIGKILL (9)"}), or C{"still running"}.
    @ivar output: The tail of its output, stdout and stderr interleaved.
    """

    def __init__(
        self, problem: str, argv: str, pid: int, exit: str, output: bytes
    ) -> None:
        self.argv = argv
        self.pid = pid
        self.exit = exit
        self.output = output
        text = textwrap.indent(shown(output), "    ")
        super().__init__(
            f"{problem}: {argv}, pid {pid}, {exit}; its output ended with:\n{text}"
        )


class ServerProcess(PortFront):
    """
    A server in a child process, made by
    L{INetworkOpening.spawnServer<trialnet.INetworkOpening.spawnServer>}:
    the address C{host:port} as a target wherever a port is (C{connect},
    C{clientEndpoint}, C{link}, C{url}, C{agent}, C{mapName}).

    @ivar argv: The argv it runs, as given.
    @ivar pid: The child's pid; it leads its own session and process group.
    @ivar host: Where it listens: C{127.0.0.1}, or the ready line's host.
    @ivar port: The number of the port it serves on.
    @ivar returncode: How it ended, as C{subprocess} says it (the status,
        or minus the signal that killed it), or C{None} while it runs.
    """

    frontTransport = TCP
    servedElsewhere = True

    def __init__(self, argv: tuple[Any, ...], encoded: list[bytes]) -> None:
        self.argv = argv
        self.pid = 0
        self.host = "127.0.0.1"
        self.port = 0
        self.returncode: int | None = None
        self._argvText = argvText(encoded)
        self._exit = "still running"
        self._tail = Tail()
        self._exitWaiters: list[Deferred[int]] = []
        self._closedWaiters: list[Deferred[None]] = []
        self._closed = False
        self.watch: ServerWatch | None = None

    def __repr__(self) -> str:
        return (
            f"<ServerProcess pid={self.pid} {describeAddress(self.getHost())} "
            f"{self._argvText}>"
        )

    @property
    def output(self) -> bytes:
        """
        The tail of what the child wrote (the last 64 KiB), as bytes: stdout
        and stderr interleaved line by line in the order the lines came, an
        incomplete line of each last.
        """
        return self._tail.value()

    def whenExited(self) -> Deferred[int]:
        """
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires
            with L{returncode} once the child ended and was reaped (at once
            if it has); it does not stop it.
            A test that waits for the end expects it: the child's end is no
            longer reported as a crash during the test.
        """
        self.expectExit()
        if self.returncode is not None:
            return succeed(self.returncode)
        waiter: Deferred[int] = Deferred()
        self._exitWaiters.append(waiter)
        return waiter

    def getHost(self) -> IPv4Address | IPv6Address:
        """
        @return: Where it serves: an
            L{IPv4Address<twisted.internet.address.IPv4Address>} or
            L{IPv6Address<twisted.internet.address.IPv6Address>}.
        """
        kind = IPv6Address if ":" in self.host else IPv4Address
        return kind("TCP", self.host, self.port)

    # A target, for the opener

    def frontAddress(self) -> Any:
        """
        @return: L{getHost}'s address: where C{connect()} goes.
        """
        return self.getHost()

    def frontPort(self) -> IListeningPort | None:
        """
        @return: C{None}: no port of the test listens for it.
        """
        return None

    def frontTarget(self) -> IListeningPort | None:
        """
        @return: C{None}: no port of the test stands behind it.
        """
        return None

    def frontProblem(self) -> Exception | None:
        """
        @return: A L{ServerProcessError} once the child ended: a connection
            to it cannot succeed.
        """
        if self.returncode is None:
            return None
        return self.error("the server ended before this connection to it")

    # Inside

    def error(self, problem: str) -> ServerProcessError:
        """
        @return: The error that says C{problem}, with how the child ended
            and its output.
        """
        return ServerProcessError(
            problem, self._argvText, self.pid, self._exit, self.output
        )

    def describe(self) -> tuple[str, str, str]:
        """
        @return: Its argv, address and exit, as text, for the report.
        """
        return self._argvText, describeAddress(self.getHost()), self._exit

    def _whenClosed(self) -> Deferred[None]:
        """
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires
            once the child exited and every pipe to it closed (a grandchild
            may hold them for ever).
        """
        if self._closed:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._closedWaiters.append(waiter)
        return waiter

    def closed(self) -> None:
        """
        The child exited and every pipe to it closed.
        """
        self._closed = True
        waiters, self._closedWaiters = self._closedWaiters, []
        for waiter in waiters:
            waiter.callback(None)

    def expectExit(self) -> None:
        """
        Whoever stops the child says so first (the processes' teardown), so
        that its end is not reported as a crash during the test.
        """
        if self.watch is not None:
            self.watch.expected()

    def received(self, fd: int, data: bytes) -> None:
        """
        The child wrote C{data} on descriptor C{fd}.
        """
        self._tail.add(fd, data)

    def streamClosed(self, fd: int) -> None:
        """
        The child's descriptor C{fd} closed.
        """
        self._tail.flush(fd)

    def exited(self, reason: Failure) -> None:
        """
        The child ended and was reaped.

        @param reason: What C{processExited} was given.
        """
        self.returncode, self._exit = describeExit(reason)
        if self.watch is not None:
            self.watch.ended()
        waiters, self._exitWaiters = self._exitWaiters, []
        for waiter in waiters:
            waiter.callback(self.returncode)


class Watch(enum.Enum):
    """
    Where a L{ServerWatch} is.
    """

    #: The child is not ready yet: its end fails the start instead.
    STARTING = "starting"
    #: Ready, during the test: its end is a crash to report.
    WATCHING = "watching"
    #: It was exiting by itself when the teardown began, not reapable yet:
    #: its reap, in the processes' step, makes it L{DIED}.
    DYING = "dying"
    #: It ended during the test (known from its reap, which may come only
    #: once the teardown began): reported when the teardown ends.
    DIED = "died"
    #: It is stopped on purpose, or the teardown began: its end is not this
    #: record's to report.
    LET_GO = "let go"


class ServerWatch(Record):
    """
    A server's place in the teardown, which it never waits for (stopping
    the child is the processes' own step): a child that ended during the
    test, after it was ready and before the teardown began, is reported
    with its output.
    """

    role = "server process"

    def __init__(
        self,
        server: ServerProcess,
        origin: Origin,
        onSettled: Callable[[Record], None],
        process: Any = None,
    ) -> None:
        """
        @param process: The reactor's process transport of the child, reaped
            when the teardown begins.
        """
        super().__init__(origin, False, onSettled)
        self._server: ServerProcess | None = server
        self._process: Any = process
        self.state = Watch.STARTING

    @property
    def settled(self) -> bool:
        return True

    @property
    def kind(self) -> str:
        return "" if self._server is None else self._server.describe()[0]

    def ready(self) -> None:
        """
        The child is ready: from now on its end fails the test.
        """
        if self.state is Watch.STARTING:
            self.state = Watch.WATCHING

    def ended(self) -> None:
        """
        The child ended.
        """
        if self.state in _ENDING:
            self.state = Watch.DIED

    def expected(self) -> None:
        """
        The child is being stopped on purpose (or its start failed): its end
        is not a crash; one that already happened still is.
        """
        if self.state not in _ENDED:
            self.state = Watch.LET_GO

    def close(self) -> None:
        # The teardown begins: from here on the child's end is the
        # teardown's doing.  One that came already may not be reaped yet
        # (the connection it dropped can end the test first): Twisted's own
        # reap is asked now, so its processExited comes before the SIGTERM.
        # One still exiting cannot be reaped yet (its sockets close before
        # it becomes a zombie): the processes' step reaps it.
        if self.state is Watch.WATCHING:
            self._reap()
        if self.state is Watch.WATCHING and self._isExiting():
            self.state = Watch.DYING
        self._process = None
        if self.state not in _ENDED:
            self.state = Watch.LET_GO
            self._server = None

    def finalReport(self) -> Leftover | None:
        # Described as late as can be: the processes' step has read the
        # child's pipes to the end by now, so the tail has its last words.
        if self.state is not Watch.DIED or self._server is None:
            return None
        return self._describe(self._server)

    def forget(self) -> None:
        self._server = None
        self._process = None

    def _isExiting(self) -> bool:
        process = self._process
        return process is not None and process.pid is not None and exiting(process.pid)

    def _reap(self) -> None:
        """
        Reap the child through Twisted's C{reapProcess} if it has exited:
        never a C{waitpid} behind Twisted's back, so its protocol hears of
        the end as from the reactor's own reap.
        """
        process = self._process
        if process is None or process.pid is None:
            return
        try:
            process.reapProcess()
        except Exception:
            log.err(None, f"trialnet teardown: error while reaping {process.pid}")

    def _describe(self, server: ServerProcess) -> Leftover:
        argv, address, exit = server.describe()
        output = textwrap.indent(shown(server.output), "      ")
        return Leftover(
            role=self.role,
            origin=self.origin,
            kind=argv,
            local=address,
            action=(
                f"pid {server.pid} {exit} during the test, before its "
                f"teardown; its output ended with:\n{output}"
            ),
        )


#: Where a child's end, when it comes, is a crash to report.
_ENDING = frozenset([Watch.WATCHING, Watch.DYING])
#: Where a child's end came, or is coming, by itself: not let go.
_ENDED = frozenset([Watch.DYING, Watch.DIED])
