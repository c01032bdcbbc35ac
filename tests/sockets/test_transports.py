"""
The teardown's core behaviours, shared by every stream transport: one mixin
of tests run over TCP on IPv4 and IPv6, UNIX sockets and TLS.
"""

from __future__ import annotations

import gc
import inspect
import subprocess
import time
import weakref
from typing import TYPE_CHECKING, ClassVar
from unittest.mock import Mock

from twisted.internet.defer import gatherResults
from twisted.internet.interfaces import IProtocol
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase, TeardownError
from trialnet._sockets._transports import _wrapping, protocolChain

from .. import transports
from ..helpers import (
    Echo,
    Events,
    LoggingFactory,
    LoggingProtocol,
    Stuck,
    assertCleanRun,
    errorTypes,
    lostCounts,
    openFiles,
    recorders,
    sample,
    teardownError,
)
from ..transports import TCP4, TCP6, TLS, UNIX, StreamTransport

if TYPE_CHECKING:
    _MixinBase = SynchronousTestCase
else:
    _MixinBase = object


class StreamBehaviourMixin(_MixinBase):
    """
    What every stream transport must do; a subclass names the transport.
    """

    transport: ClassVar[StreamTransport]

    def test_manyConnections(self) -> None:
        """
        Twenty connections to one port each echo through their own server
        end, and all of them close, both ends.
        """
        events = Events()
        serverFactory, clientFactory = recorders(events)
        transport = self.transport
        echoed: list[bytes] = []
        servers: list[IProtocol] = []

        async def body(case: NetworkTestCase) -> None:
            port = transport.listen(case, serverFactory)
            clients = await gatherResults(
                [case.connect(port, clientFactory) for _ in range(20)]
            )
            for number, client in enumerate(clients):
                client.transport.write(b"%d" % number)  # type: ignore[attr-defined]
                echoed.append(await client.waitForData())  # type: ignore[attr-defined]
            servers.extend(
                await gatherResults([case.serverProtocolFor(c) for c in clients])
            )

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(echoed, [b"%d" % number for number in range(20)])
        self.assertEqual(
            [server.received for server in servers],  # type: ignore[attr-defined]
            echoed,
        )
        self.assertEqual(lostCounts(events), (20, 20))

    def test_serverClosesFirst(self) -> None:
        """
        A server end that hangs up at once is waited for like any other.
        """
        events = Events()

        class HangsUp(LoggingProtocol):
            def connectionMade(self) -> None:
                super().connectionMade()
                self.transport.loseConnection()  # type: ignore[union-attr]

        serverFactory = LoggingFactory(events, "server", HangsUp)
        clientFactory = LoggingFactory(events, "client")
        transport = self.transport

        async def body(case: NetworkTestCase) -> None:
            port = transport.listen(case, serverFactory)
            client = await case.connect(port, clientFactory)
            await case.whenClosed(client)
            case.assertEqual(events.count("server lost"), 1)

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(lostCounts(events), (1, 1))

    def test_stuckProducer(self) -> None:
        """
        Two ends held open by producers that never finish are aborted after
        C{disconnectTimeout}; the test fails with one L{TeardownError} that
        names both, with the line that opened each (for the server, inside
        the transport helper) and the producer, and no socket is left.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server", Stuck)
        clientFactory = LoggingFactory(events, "client", Stuck)
        transport = self.transport
        lines: list[int] = []

        async def body(case: NetworkTestCase) -> None:
            port = transport.listen(case, serverFactory)
            client = await case.connect(port, clientFactory)
            lines.append(inspect.currentframe().f_lineno - 1)  # type: ignore[union-attr]
            server = await case.serverProtocolFor(client)
            # Past a TLS handshake, which closing would otherwise abort.
            client.transport.write(b"x")  # type: ignore[attr-defined]
            await server.waitForData()  # type: ignore[attr-defined]

        sample(body, disconnectTimeout=0.5)
        before = openFiles()
        started = time.monotonic()
        result = sample(body, disconnectTimeout=0.5)
        elapsed = time.monotonic() - started

        self.assertEqual(errorTypes(result), [TeardownError])
        self.assertEqual(openFiles() - before, set())
        self.assertLess(elapsed, 0.5 + 3.0)
        error = teardownError(result)
        byRole = {leftover.role: leftover for leftover in error.leftovers}
        self.assertEqual(sorted(byRole), ["client", "server"])
        self.assertEqual(byRole["client"].origin.lineno, lines[0])
        self.assertEqual(
            byRole["client"].origin.filename, __file__.replace(".pyc", ".py")
        )
        self.assertEqual(
            byRole["server"].origin.filename, transports.__file__.replace(".pyc", ".py")
        )
        for leftover in error.leftovers:
            self.assertIn("NeverFinishes", leftover.cause)
            self.assertIn("aborted", leftover.action)
            self.assertIn("Stuck", leftover.kind)
        self.assertEqual(lostCounts(events), (2, 2))

    def test_externalClientSeesEOF(self) -> None:
        """
        A client in another process, which trialnet did not open, reads
        until EOF, which comes from the teardown closing the server's end.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server")
        transport = self.transport
        processes: list[subprocess.Popen[bytes]] = []

        async def body(case: NetworkTestCase) -> None:
            port = transport.listen(case, serverFactory)
            processes.append(transport.externalClient(case, port))
            server = await case.acceptedProtocol(port)
            case.assertIsInstance(server, LoggingProtocol)
            case.assertEqual(await server.waitForData(), b"hello")  # type: ignore[attr-defined]

        result = sample(body)
        output, _ = processes[0].communicate(timeout=30)

        assertCleanRun(self, result)
        self.assertEqual(output.split(), [b"connected", b"EOF"])
        self.assertEqual(events.count("server lost"), 1)

    def test_noReferencesLeft(self) -> None:
        """
        After a test, its protocols, transports, factories and port can be
        collected even though the test case object lives on.
        """
        events = Events()
        refs: list[weakref.ref[object]] = []
        transport = self.transport

        class Sample(NetworkTestCase):
            async def test_it(self) -> None:
                serverFactory, clientFactory = recorders(events)
                # Twisted's log buffer, before any observer starts (under
                # pytest), keeps the factories that "Starting factory" names.
                serverFactory.noisy = clientFactory.noisy = False
                port = transport.listen(self, serverFactory)
                client = await self.connect(port, clientFactory)
                server = await self.serverProtocolFor(client)
                for thing in (
                    client,
                    server,
                    client.transport,  # type: ignore[attr-defined]
                    server.transport,  # type: ignore[attr-defined]
                    serverFactory,
                    clientFactory,
                    port,
                ):
                    refs.append(weakref.ref(thing))

        case = Sample("test_it")
        outcome = TestResult()
        case.run(outcome)
        gc.collect()

        assertCleanRun(self, outcome)
        self.assertEqual([ref() for ref in refs], [None] * len(refs))

    def test_noFileDescriptorGrowth(self) -> None:
        """
        A hundred tests that each open a port and a connection leave the
        process with as many open files as before.
        """
        events = Events()
        transport = self.transport

        async def body(case: NetworkTestCase) -> None:
            serverFactory, clientFactory = recorders(events)
            port = transport.listen(case, serverFactory)
            client = await case.connect(port, clientFactory)
            server = await case.serverProtocolFor(client)
            assert isinstance(server, Echo)

        sample(body)
        before = openFiles()
        results = [sample(body) for _ in range(100)]
        after = openFiles()

        self.assertEqual([r.wasSuccessful() for r in results], [True] * 100)
        self.assertEqual(after - before, set())


class TCP4Tests(StreamBehaviourMixin, SynchronousTestCase):
    """
    The shared behaviours over TCP on the IPv4 loopback.
    """

    transport = TCP4()


class TCP6Tests(StreamBehaviourMixin, SynchronousTestCase):
    """
    The shared behaviours over TCP on the IPv6 loopback.
    """

    transport = TCP6()
    skip = TCP6.skip


class UNIXTests(StreamBehaviourMixin, SynchronousTestCase):
    """
    The shared behaviours over UNIX sockets.
    """

    transport = UNIX()


class TLSTests(StreamBehaviourMixin, SynchronousTestCase):
    """
    The shared behaviours over TLS.
    """

    transport = TLS()


class ProtocolChainTests(SynchronousTestCase):
    """
    L{protocolChain}: a protocol and those it wraps, with what it learns of
    each class kept per class.
    """

    def test_plainAndWrapped(self) -> None:
        """
        A protocol that wraps nothing is its own chain, asked once or again;
        a L{ProtocolWrapper} around it gives both, outermost first.
        """
        plain = Protocol()
        self.assertEqual(protocolChain(plain), [plain])
        self.assertEqual(protocolChain(plain), [plain])
        wrapper = ProtocolWrapper(WrappingFactory(Factory()), plain)
        self.assertEqual(protocolChain(wrapper), [wrapper, plain])
        self.assertEqual(protocolChain(None), [None])

    def test_classNotKeptAlive(self) -> None:
        """
        A class seen once is not kept alive by what was learnt of it, and a
        new class that reuses its id is asked about afresh: a wrapper made
        after a plain class was collected is still unwrapped.
        """
        made = type("Made", (Protocol,), {})
        self.assertEqual(len(protocolChain(made())), 1)
        reference = weakref.ref(made)
        del made
        gc.collect()
        self.assertIsNone(reference())
        for _ in range(20):
            wrapperClass = type("Made", (ProtocolWrapper,), {})
            inner = Protocol()
            wrapper = wrapperClass(WrappingFactory(Factory()), inner)
            self.assertEqual(protocolChain(wrapper), [wrapper, inner])

    def test_reusedIdAskedAfresh(self) -> None:
        """
        What was learnt of a class under an id that another class holds now
        (the first one collected, its entry not yet dropped) is not taken
        for the new class's: a wrapper is still unwrapped.
        """
        wrapperClass = type("Made", (ProtocolWrapper,), {})
        plain = type("Plain", (Protocol,), {})
        _wrapping[id(wrapperClass)] = (weakref.ref(plain), False)
        self.addCleanup(_wrapping.pop, id(wrapperClass), None)
        inner = Protocol()
        wrapper = wrapperClass(WrappingFactory(Factory()), inner)
        self.assertEqual(protocolChain(wrapper), [wrapper, inner])

    def test_classAsIsinstanceSeesIt(self) -> None:
        """
        A protocol whose C{__class__} is a wrapper's (a mock made with the
        wrapper as its spec) is followed inside, as C{isinstance} sees it.
        """
        inner = Protocol()
        mock = Mock(spec=ProtocolWrapper)
        mock.wrappedProtocol = inner
        self.assertEqual(protocolChain(mock), [mock, inner])
