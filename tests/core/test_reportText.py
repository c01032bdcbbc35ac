"""
What trialnet says is accurate: a leftover is blamed on what truly kept it
open and named after the application's protocol, and an error message gives
advice that fits the call it refused.
"""

# ruff: noqa: N999

from __future__ import annotations

from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import IPushProducer
from twisted.python.reflect import qual
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from trialnet import NetworkTestCase, TeardownError

from ..helpers import (
    Events,
    LoggingFactory,
    LoggingProtocol,
    Stuck,
    errorTypes,
    errorValues,
    portNumber,
    sample,
    teardownError,
)

#: More than the kernel's buffers of both ends hold.
MUCH = b"x" * (16 * 1024 * 1024)


@implementer(IPushProducer)
class Idle:
    """
    A streaming producer that does nothing, registered for the whole
    connection as C{twisted.web}'s C{HTTPChannel} registers one.
    """

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class AlwaysProducing(LoggingProtocol):
    """
    A server protocol that registers a streaming producer when connected and
    keeps it registered.
    """

    def connectionMade(self) -> None:
        super().connectionMade()
        self.transport.registerProducer(Idle(), True)  # type: ignore[union-attr]


class NotReading(Stuck):
    """
    A client that stops reading as soon as it is connected, and never
    closes.
    """

    def connectionMade(self) -> None:
        super().connectionMade()
        self.transport.pauseProducing()  # type: ignore[union-attr]


class LeftoverTextTests(SynchronousTestCase):
    """
    Leftovers name the real cause and the application's class.
    """

    def test_unreadBytesBeforeProducer(self) -> None:
        """
        A server end kept open by bytes its peer never read is blamed on
        those bytes, even though its protocol also registered a producer
        that it never unregisters.
        """
        events = Events()

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(LoggingFactory(events, "server", AlwaysProducing))
            client = await case.connect(
                port, LoggingFactory(events, "client", NotReading)
            )
            server = await case.serverProtocolFor(client)
            server.transport.write(MUCH)  # type: ignore[attr-defined]

        result = sample(body, disconnectTimeout=0.5, timeout=20)

        servers = [
            leftover
            for leftover in teardownError(result).leftovers
            if leftover.kind == qual(AlwaysProducing)
        ]
        self.assertEqual(len(servers), 1, teardownError(result))
        self.assertIn("bytes the peer did not read", servers[0].cause)

    def test_kindThroughEndpoint(self) -> None:
        """
        Stuck clients connected through endpoints (trialnet's
        C{clientEndpoint}, an endpoint given to C{connect()}, and an endpoint
        the code under test connected itself) are named after the
        application's protocol class, not the endpoint's wrapping protocol.
        """
        events = Events()

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(LoggingFactory(events, "server", Stuck))
            clients = LoggingFactory(events, "client", Stuck)
            await case.clientEndpoint(port).connect(clients)
            endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
            await case.connect(endpoint, clients)
            await endpoint.connect(clients)

        result = sample(body, disconnectTimeout=0.5, timeout=20)

        kinds = [
            leftover.kind
            for error in errorValues(result)
            if isinstance(error, TeardownError)
            for leftover in error.leftovers
        ]
        self.assertEqual(kinds, [qual(Stuck)] * 6)
        self.assertEqual(errorTypes(result), [TeardownError])


class MessageTests(SynchronousTestCase):
    """
    Error messages fit the call they refuse.
    """

    def test_connectToHostName(self) -> None:
        """
        C{connect()} to a host name that is neither C{localhost} nor mapped
        is refused with a C{ValueError} that does not suggest C{'0.0.0.0'} or
        C{'::'}, which only mean something to C{listen()}.
        """
        events = Events()
        messages: list[str] = []

        def body(case: NetworkTestCase) -> None:
            port = case.listen(LoggingFactory(events, "server"))
            with case.assertRaises(ValueError) as raised:
                case.connect(
                    ("db.example.com", portNumber(port)), LoggingFactory(events, "c")
                )
            messages.append(str(raised.exception))

        result = sample(body)

        self.assertEqual(errorTypes(result), [])
        (message,) = messages
        self.assertIn("db.example.com", message)
        self.assertNotIn("'0.0.0.0' or '::'", message)
