# -*- test-case-name: tests.processes.test_servers,tests.processes.test_targets -*-
"""
Spawning a server child, and watching it until it is ready.
"""

from __future__ import annotations

import os
import re
import socket
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure

from .._core._report import Origin
from .._sockets._observe import quietly
from ._launcher import LISTEN_FD, launcherArgv
from ._ready import ReadyLine, shown
from ._records import recordProcess
from ._server import ACTIVATION_BACKLOG, LAST_WORDS, ServerProcess, ServerWatch

#: The descriptors a child writes its output to.
_OUTPUTS = frozenset({1, 2})


def spawnServer(
    reactor: Any,
    registry: Any,
    origin: Origin,
    argv: tuple[Any, ...],
    encoded: list[bytes],
    pattern: re.Pattern[bytes] | None,
    env: dict[bytes, bytes] | None,
    path: str | None,
    startTimeout: float,
) -> Deferred[ServerProcess]:
    """
    Start a server child through the launcher, with the listening socket
    of socket activation unless a ready line is given.

    Every argument is checked already.

    @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with
        the L{ServerProcess} once it is ready: at once with socket
        activation, else at its ready line.
    """
    server = ServerProcess(argv, encoded)
    environment = dict(os.environb) if env is None else env
    childFDs: dict[int, Any] = {0: "w", 1: "r", 2: "r"}
    listening = None
    if pattern is None:
        listening = _listeningSocket()
        server.port = listening.getsockname()[1]
        childFDs[LISTEN_FD] = listening.fileno()
    starting = _Starting(
        server, reactor, None if pattern is None else ReadyLine(pattern)
    )
    args = launcherArgv(encoded, activated=listening is not None)
    try:
        # trialnet's own child: recorded below as the test's server, not as
        # a process the code under test started.
        with quietly(reactor):
            transport = reactor.spawnProcess(
                starting, args[0], args, env=environment, path=path, childFDs=childFDs
            )
    finally:
        # Only the child holds it now: once the child is gone, a connection
        # is refused rather than left waiting in this process's backlog.
        if listening is not None:
            listening.close()
    server.pid = transport.pid
    # Stopped by the processes' step of the teardown, as every child is; its
    # report names the server's own argv (not the launcher's) and quotes its
    # output.  Started for the test, it is no leftover of the code under test.
    record = recordProcess(
        registry, transport, [os.fsdecode(item) for item in encoded], origin, False
    )
    record.outputTail = lambda: shown(server.output)
    watch = ServerWatch(server, origin, registry.recordSettled, transport)
    server.watch = watch
    registry.addRecord(watch)
    if pattern is None:
        starting.ready()
        return succeed(server)
    return starting.waitReady(startTimeout, pattern)


def _listeningSocket() -> socket.socket:
    """
    @return: A socket listening on C{127.0.0.1}, on a port of the kernel's
        choosing.
    """
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listening.bind(("127.0.0.1", 0))
        listening.listen(ACTIVATION_BACKLOG)
    except BaseException:
        listening.close()
        raise
    return listening


class _Starting(ProcessProtocol):
    """
    The child's process protocol: keeps its output, reads its ready line,
    and fails the start when the child ends (or closes its output) first,
    once its last words are in.
    """

    def __init__(
        self, server: ServerProcess, reactor: Any, line: ReadyLine | None
    ) -> None:
        self._server = server
        self._reactor = reactor
        self._line = line
        self._started: Deferred[ServerProcess] | None = None
        self._timer: Any = None
        self._outputs = set(_OUTPUTS)
        self._exited = False
        self._isReady = False
        self._lastWords = False

    def connectionMade(self) -> None:
        # Standard input stays a descriptor (a server that opens a file must
        # not get descriptor 0), at its end.
        assert self.transport is not None
        self.transport.closeStdin()

    def ready(self) -> None:
        """
        The child is ready: its end, from now on, is reported by its watch.
        """
        self._isReady = True
        if self._server.watch is not None:
            self._server.watch.ready()

    def waitReady(
        self, seconds: float, pattern: re.Pattern[bytes]
    ) -> Deferred[ServerProcess]:
        """
        @return: A L{Deferred<twisted.internet.defer.Deferred>} that fires with
            the server at its ready line, or fails with a
            L{ServerProcessError<trialnet._processes._server.ServerProcessError>}.
        """
        self._started = Deferred(self._cancelled)
        self._timer = self._reactor.callLater(
            seconds,
            self._fail,
            f"the server printed no line matching {pattern.pattern!r} within "
            f"{seconds:g} seconds",
        )
        return self._started

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        self._server.received(childFD, data)
        if self._isReady or self._line is None or childFD not in _OUTPUTS:
            return
        try:
            address = self._line.received(childFD, data)
        except ValueError as e:
            self._fail(str(e))
            return
        if address is not None:
            self._server.host, self._server.port = address
            self._succeed()

    def childConnectionLost(self, childFD: int) -> None:
        self._server.streamClosed(childFD)
        self._outputs.discard(childFD)
        self._endedEarly()

    def processExited(self, reason: Failure) -> None:
        self._exited = True
        self._server.exited(reason)
        self._endedEarly()

    def processEnded(self, reason: Failure) -> None:
        self._server.closed()

    # Inside

    def _endedEarly(self) -> None:
        """
        Before it was ready, the child exited or closed its output: fail
        once both happened, or after its last words' grace.
        """
        if self._started is None or not (self._exited or not self._outputs):
            return
        if self._exited and not self._outputs:
            self._failEarly()
        elif not self._lastWords:
            self._lastWords = True
            if self._timer is not None and self._timer.active():
                self._timer.cancel()
            self._timer = self._reactor.callLater(LAST_WORDS, self._failEarly)

    def _failEarly(self) -> None:
        self._fail(
            "the server exited before it was ready"
            if self._exited
            else "the server closed its output before it was ready"
        )

    def _succeed(self) -> None:
        started = self._resolved()
        self.ready()
        if started is not None:
            started.callback(self._server)

    def _fail(self, problem: str) -> None:
        started = self._resolved()
        self._server.expectExit()
        if started is not None:
            started.errback(self._server.error(problem))

    def _resolved(self) -> Deferred[ServerProcess] | None:
        started, self._started = self._started, None
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        return started

    def _cancelled(self, started: Deferred[ServerProcess]) -> None:
        self._started = None
        self._server.expectExit()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
