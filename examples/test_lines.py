"""
A line protocol tested a line at a time: C{readLine} hands out each line once,
so the test never counts bytes.
"""

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
