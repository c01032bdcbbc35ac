"""
What a teardown report looks like: a server that registers a producer and
never unregisters it cannot close in an orderly way, so the teardown aborts
both ends and the test fails with a L{TeardownError} naming them.
"""

from twisted.internet.interfaces import IConsumer, IPullProducer
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from trialnet import NetworkTestCase, Recorder, TeardownError


@implementer(IPullProducer)
class NeverFinishes:
    """
    A producer with nothing to produce, which nobody unregisters.
    """

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class Streaming(Protocol):
    """
    Registers a producer as it connects; the bug: it never unregisters it,
    so its transport never closes by itself.
    """

    def connectionMade(self) -> None:
        IConsumer(self.transport).registerProducer(NeverFinishes(), False)


def runStuck() -> TestResult:
    """
    Run a test that passes, with a server that cannot close.
    """

    class StuckTests(NetworkTestCase):
        disconnectTimeout = 0.5

        async def test_stream(self) -> None:
            port = self.listen(Factory.forProtocol(Streaming))
            await self.connect(port, Recorder())

    result = TestResult()
    StuckTests("test_stream").run(result)
    return result


class ReportTests(SynchronousTestCase):
    """
    The report of a teardown that had to abort.
    """

    def test_report(self) -> None:
        """
        The test fails with one error, a L{TeardownError} naming the server
        end, what kept it open, the line that opened it and what the
        teardown did.
        """
        [(_, failure)] = runStuck().errors
        assert isinstance(failure, Failure)
        error = failure.value
        assert isinstance(error, TeardownError)
        # The time waited is measured: the bound (0.5 s), or a little more.
        self.assertRegex(
            str(error), r"did not close in an orderly way \(waited \d+\.\d\ds\)"
        )
        [server] = [one for one in error.leftovers if one.role == "server"]
        self.assertEqual(server.kind, f"{__name__}.Streaming")
        self.assertEqual(
            server.cause,
            "a registered producer (NeverFinishes) that was never unregistered",
        )
        self.assertRegex(server.action, r"^aborted after \d+\.\d\ds$")
        self.assertIn("test_report.py", server.origin.filename)
