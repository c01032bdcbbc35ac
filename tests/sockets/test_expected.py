"""
The expected class of C{serverProtocolFor} and C{acceptedProtocol}: what
makes their typed form true at run time.
"""

from __future__ import annotations

from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase, Recorder

from ..helpers import assertCleanRun, sample


class Served(Protocol):
    """
    The protocol the port builds.
    """


class Other(Protocol):
    """
    A protocol the port never builds.
    """


class ExpectedClassTests(SynchronousTestCase):
    """
    The run-time check behind C{serverProtocolFor(client, cls)} and
    C{acceptedProtocol(port, cls)}.
    """

    def test_matchingClass(self) -> None:
        """
        With the class the port builds, or a base of it, each gives a server
        protocol (one per connection: a protocol is handed out once).
        """
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Served))
            first = await case.connect(port, Recorder())
            await case.connect(port, Recorder())
            seen.append(await case.serverProtocolFor(first, Served))
            seen.append(await case.acceptedProtocol(port, Protocol))

        assertCleanRun(self, sample(body, timeout=8.0))
        self.assertEqual(len(seen), 2)
        for protocol in seen:
            self.assertIsInstance(protocol, Served)
        self.assertIsNot(seen[0], seen[1])

    def test_otherClass(self) -> None:
        """
        With another class, each fails with a L{TypeError} naming the class
        expected and the class built.
        """
        messages: list[str] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Served))
            client = await case.connect(port, Recorder())
            await case.connect(port, Recorder())
            for waiting in [
                case.serverProtocolFor(client, Other),
                case.acceptedProtocol(port, Other),
            ]:
                try:
                    await waiting
                except TypeError as e:
                    messages.append(str(e))

        assertCleanRun(self, sample(body, timeout=8.0))
        self.assertEqual(len(messages), 2)
        self.assertIn("serverProtocolFor() expected a Other", messages[0])
        self.assertIn("acceptedProtocol() expected a Other", messages[1])
        for message in messages:
            self.assertIn("built a Served", message)
