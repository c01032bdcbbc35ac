"""
A line protocol tested a line at a time: C{readLine} hands out each line once,
so the test never counts bytes.
"""

from twisted.internet import reactor
from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineReceiver

from trialnet import NetworkTestCase, Recorder


class Counter(LineReceiver):
    """
    Greets, then answers each line with its length, and says goodbye to
    C{QUIT}.
    """

    def connectionMade(self) -> None:
        self.sendLine(b"READY")

    def lineReceived(self, line: bytes) -> None:
        if line == b"QUIT":
            self.sendLine(b"BYE")
            assert self.transport is not None
            self.transport.loseConnection()
        else:
            self.sendLine(b"%d" % len(line))


class LineTests(NetworkTestCase):
    """
    A conversation with L{Counter}, line by line.
    """

    async def test_threeLines(self) -> None:
        """
        The greeting, an answer and the goodbye arrive as three lines, then
        the server closes.
        """
        port = self.listen(Factory.forProtocol(Counter))
        client = await self.connect(port, Recorder())
        self.assertEqual(await client.readLine(), b"READY")
        client.send(b"hello\r\n")
        self.assertEqual(await client.readLine(), b"5")
        client.send(b"QUIT\r\n")
        self.assertEqual(await client.readLine(), b"BYE")
        await client.waitForClose()

    async def test_serverHeardIt(self) -> None:
        """
        C{whenCalled()} waits for the server's next C{lineReceived}, and
        gives its argument by name: the test sees what the server heard, not
        only what it answered.
        """
        port = self.listen(Factory.forProtocol(Counter))
        client = await self.connect(port, Recorder())
        server = await self.serverProtocolFor(client, Counter)
        heard = self.whenCalled(server, "lineReceived")
        client.send(b"hello\r\n")
        self.assertEqual((await heard).arguments["line"], b"hello")


class Fragile(LineReceiver):
    """
    A server with a bug: it answers one line later, from a timer that
    raises.
    """

    def lineReceived(self, line: bytes) -> None:
        reactor.callLater(0, self.answer, line)

    def answer(self, line: bytes) -> None:
        self.sendLine(b"%d" % (100 // len(line)))


class FailFastTests(NetworkTestCase):
    """
    A wait fails with the server's own error, not with a timeout.
    """

    async def test_emptyLine(self) -> None:
        """
        The server's timer raises on an empty line; the reactor logs the
        error, and the client's C{readLine()} fails with it at once.
        """
        port = self.listen(Factory.forProtocol(Fragile))
        client = await self.connect(port, Recorder())
        client.send(b"\r\n")
        with self.assertRaises(ZeroDivisionError):
            await client.readLine()
        # The error was logged too; this test expected it.
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
