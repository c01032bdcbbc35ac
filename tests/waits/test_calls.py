"""
L{NetworkTestCase.whenCalled}: waiting for the next call of a method.
"""

from __future__ import annotations

from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineReceiver
from twisted.trial.unittest import SynchronousTestCase

from trialnet import NetworkTestCase, Recorder, WaitTimeoutError

from ..helpers import assertPassed, sample


class Lines(LineReceiver):
    """
    Keeps the lines it receives; C{b"boom"} makes it raise.
    """

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        if line == b"boom":
            raise ZeroDivisionError("boom")
        self.lines.append(line)


class WhenCalledTests(SynchronousTestCase):
    def test_linesInTurn(self) -> None:
        """
        Three waits in turn get three lines in turn, by parameter name, even
        when all three arrived in one read; each fired after the method ran,
        and the method is put back on the instance.
        """
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Lines))
            client = await case.connect(port, Recorder())
            server = await case.serverProtocolFor(client, Lines)
            waiting = case.whenCalled(server, "lineReceived")
            client.send(b"one\r\ntwo\r\nthree\r\n")
            for _ in range(3):
                call = await waiting
                seen.append((call.arguments["line"], list(server.lines)))
                if len(seen) < 3:
                    waiting = case.whenCalled(server, "lineReceived")
            seen.append("lineReceived" in vars(server))

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(
            seen,
            [
                (b"one", [b"one"]),
                (b"two", [b"one", b"two"]),
                (b"three", [b"one", b"two", b"three"]),
                False,
            ],
        )

    def test_bound(self) -> None:
        """
        A call that never comes fails the wait with L{WaitTimeoutError}
        naming the method, and the method is put back.
        """
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Lines))
            client = await case.connect(port, Recorder())
            server = await case.serverProtocolFor(client)
            try:
                await case.whenCalled(server, "lineReceived", timeout=0.1)
            except WaitTimeoutError as error:
                seen.append(str(error))
            seen.append("lineReceived" in vars(server))

        result = sample(body)

        assertPassed(self, result)
        message, patched = seen
        self.assertIn("Lines.lineReceived", str(message))
        self.assertFalse(patched)

    def test_raises(self) -> None:
        """
        When the method raises, the wait fails with its error, and the
        caller (here the reactor, which logs it) sees it too.
        """
        seen: list[object] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Lines))
            client = await case.connect(port, Recorder())
            server = await case.serverProtocolFor(client)
            waiting = case.whenCalled(server, "lineReceived")
            client.send(b"boom\r\n")
            try:
                await waiting
            except ZeroDivisionError as error:
                seen.append(error)
            # The reactor logs the error and drops the connection once the
            # method's caller gave the error back to it (this test expects
            # that error: failFast is off, or the close wait would fail).
            await case.whenClosed(client)
            case.flushLoggedErrors(ZeroDivisionError)

        result = sample(body, failFast=False)

        assertPassed(self, result)
        self.assertEqual([type(error) for error in seen], [ZeroDivisionError])

    def test_endsPending(self) -> None:
        """
        A wait still pending when the test ends is let go: the method is put
        back, no timer is left, and the test passes.
        """
        servers: list[Lines] = []

        async def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Lines))
            client = await case.connect(port, Recorder())
            server = await case.serverProtocolFor(client, Lines)
            servers.append(server)
            case.whenCalled(server, "lineReceived", timeout=60)

        result = sample(body)

        assertPassed(self, result)
        self.assertNotIn("lineReceived", vars(servers[0]))

    def test_badInput(self) -> None:
        """
        A name that is not a string, a method the object does not have, and
        a second wait on the same method while one is pending are refused
        with errors that say what was expected.
        """
        errors: list[BaseException] = []

        def body(case: NetworkTestCase) -> None:
            target = Lines()
            for name in (b"lineReceived", "noSuchMethod"):
                try:
                    case.whenCalled(target, name)  # type: ignore[arg-type]
                except (TypeError, ValueError) as error:
                    errors.append(error)
            case.whenCalled(target, "lineReceived")
            try:
                case.whenCalled(target, "lineReceived")
            except ValueError as error:
                errors.append(error)

        result = sample(body)

        assertPassed(self, result)
        self.assertEqual(
            [type(error) for error in errors], [TypeError, ValueError, ValueError]
        )
        self.assertIn("str", str(errors[0]))
        self.assertIn("noSuchMethod", str(errors[1]))
        self.assertIn("pending", str(errors[2]))

    def test_onAMethodTrialnetWatches(self) -> None:
        """
        A wait on a method trialnet patches itself (a port's
        C{stopListening}), pending when the test ends, leaves the port as
        the test found it.
        """
        ports: list[object] = []

        def body(case: NetworkTestCase) -> None:
            port = case.listen(Factory.forProtocol(Lines))
            ports.append(port)
            case.whenCalled(port, "stopListening", timeout=60)

        result = sample(body)

        assertPassed(self, result)
        self.assertNotIn("stopListening", vars(ports[0]))
