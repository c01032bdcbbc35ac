"""
What strict cleanup reports is what the code under test left open, as it
left it: each at a line of the test, under a header that says so, with no
diagnosis of what would keep open an end the teardown closed in order.
"""

# ruff: noqa: N999

from __future__ import annotations

import linecache
import os
import threading

from twisted.application.internet import ClientService
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.reporter import TestResult
from twisted.trial.unittest import SkipTest, SynchronousTestCase
from twisted.web.client import Agent, HTTPConnectionPool, readBody

import trialnet
from trialnet import NetworkTestCase, TeardownError
from trialnet._core._report import _INSTALLED, Leftover, Origin, userOrigin

from ..helpers import Hello, assertPassed, errorValues, portNumber, sample
from ..http.test_http import quietSite

#: What strict cleanup says of what the code under test left open.
LEFT_OPEN = (
    "left open by the code under test when the test ended; closed by the teardown"
)

#: The header of a report of nothing but what the code under test left open.
LEFT_OPEN_HEADER = (
    "trialnet teardown: 1 thing left open by the code under test "
    "(strictCleanup); closed by the teardown:"
)


def thisFile() -> str:
    """
    The source file of this module, as an origin names it.
    """
    return __file__.replace(".pyc", ".py")


def originLine(leftover: Leftover) -> tuple[str, str]:
    """
    The file a leftover's origin names, and the text of its line there.
    """
    origin = leftover.origin
    return origin.filename, linecache.getline(origin.filename, origin.lineno).strip()


def strictError(test: SynchronousTestCase, result: TestResult) -> TeardownError:
    """
    The one error of a strict sample, a L{TeardownError}: the pool forgot
    its idle connection's timer, so trial finds nothing else.
    """
    errors = errorValues(result)
    test.assertEqual(len(errors), 1, [str(e) for e in errors])
    test.assertIsInstance(errors[0], TeardownError)
    assert isinstance(errors[0], TeardownError)
    return errors[0]


class StrictHTTPTests(SynchronousTestCase):
    """
    An L{Agent} of the code under test, with a persistent pool, that fetched
    a page of a name mapped to the test's port and read it, leaves its idle
    connection in the pool: strict cleanup names that connection, at the
    line that asked for the page, as left open and closed in order, under a
    header that says the same.
    """

    def fetch(self, secure: bool) -> TeardownError:
        """
        Run the strict sample over HTTPS if C{secure}, else HTTP.
        """
        bodies: list[bytes] = []

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            site = quietSite(Hello())
            port = case.listenTLS(site) if secure else case.listen(site)
            case.mapName("api.example.com", port)
            agent = Agent(
                reactor,
                contextFactory=case.tlsAuthority.policyForHTTPS(),
                pool=HTTPConnectionPool(reactor, persistent=True),
            )
            scheme = "https" if secure else "http"
            url = f"{scheme}://api.example.com:{portNumber(port)}/".encode()
            response = await agent.request(b"GET", url)
            bodies.append(await readBody(response))

        result = sample(body, strictCleanup=True)
        self.assertEqual(bodies, [b"hello"])
        return strictError(self, result)

    def assertLeftOpen(self, error: TeardownError) -> None:
        """
        The error names one client end, left open by the code under test and
        closed by the teardown, with no cause, at the line of the test that
        asked for the page, under a header that says it was left open.
        """
        (leftover,) = error.leftovers
        self.assertEqual(str(error).splitlines()[0], LEFT_OPEN_HEADER)
        self.assertEqual(leftover.role, "client")
        self.assertEqual(leftover.action, LEFT_OPEN)
        self.assertTrue(leftover.leftOpen)
        self.assertEqual(leftover.cause, "")
        self.assertNotIn("kept open by", str(error))
        filename, line = originLine(leftover)
        self.assertEqual(filename, thisFile())
        self.assertIn("agent.request(", line)

    def test_http(self) -> None:
        """
        Over HTTP, the pool's idle connection is named as left open, not as
        not reading (the pool may pause what it keeps).
        """
        self.assertLeftOpen(self.fetch(secure=False))

    def test_https(self) -> None:
        """
        Over HTTPS, the pool's idle connection is named as left open, not
        as kept open by a close_notify or by unread bytes (those of the
        teardown's own close).
        """
        self.assertLeftOpen(self.fetch(secure=True))

    def test_treq(self) -> None:
        """
        A page fetched through treq, an installed library, on a persistent
        pool: its idle connection is named at the test's C{treq.get} line,
        not inside treq.
        """
        try:
            import treq
        except ImportError:
            raise SkipTest("treq is not installed") from None

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(quietSite(Hello()))
            case.mapName("api.example.com", port)
            pool = HTTPConnectionPool(reactor, persistent=True)
            url = f"http://api.example.com:{portNumber(port)}/"
            response = await treq.get(url, pool=pool)
            await response.content()

        error = strictError(self, sample(body, strictCleanup=True))
        (leftover,) = error.leftovers
        filename, line = originLine(leftover)
        self.assertEqual(filename, thisFile())
        self.assertIn("treq.get(", line)

    def test_networkAgent(self) -> None:
        """
        The network's own C{agent()} is the test's, not the code under
        test's: what its pool keeps is closed without a report, over HTTP and
        HTTPS.
        """
        for secure in (False, True):

            async def body(case: NetworkTestCase, secure: bool = secure) -> None:
                site = quietSite(Hello())
                port = case.listenTLS(site) if secure else case.listen(site)
                response = await case.agent().request(b"GET", case.url(port))
                await readBody(response)

            assertPassed(self, sample(body, strictCleanup=True))


class StrictServiceTests(SynchronousTestCase):
    """
    A C{ClientService} the test started is named at the line that started
    it, not inside the state machine library that runs it.
    """

    def test_clientServiceOrigin(self) -> None:
        """
        The connection of a C{ClientService} started in the test and left
        running is named, under strict cleanup, at the test's
        C{startService()} line.
        """

        async def body(case: NetworkTestCase) -> None:
            from twisted.internet import reactor

            port = case.listen(Factory.forProtocol(Protocol))
            endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber(port))
            service = ClientService(endpoint, Factory.forProtocol(Protocol))
            service.startService()
            await service.whenConnected()

        error = strictError(self, sample(body, strictCleanup=True))
        (client,) = [
            leftover for leftover in error.leftovers if leftover.role == "client"
        ]
        filename, line = originLine(client)
        self.assertEqual(filename, thisFile())
        self.assertIn("service.startService()", line)
        self.assertTrue(client.leftOpen)


class HeaderTests(SynchronousTestCase):
    """
    A report's header counts what had to be aborted apart from what strict
    cleanup names as left open, and lists the aborted first.
    """

    def leftover(self, action: str, leftOpen: bool) -> Leftover:
        """
        A client leftover with C{action}.
        """
        return Leftover(
            role="client", origin=Origin("test.py", 1), action=action, leftOpen=leftOpen
        )

    def test_leftOpenOnly(self) -> None:
        """
        A report of nothing but what the code under test left open says so,
        and no time waited.
        """
        error = TeardownError([self.leftover(LEFT_OPEN, True)] * 2, 0.0)
        self.assertEqual(
            str(error).splitlines()[0],
            "trialnet teardown: 2 things left open by the code under test "
            "(strictCleanup); closed by the teardown:",
        )

    def test_abortedOnly(self) -> None:
        """
        A report of what had to be aborted says it did not close in an
        orderly way, and how long the teardown waited.
        """
        error = TeardownError([self.leftover("aborted after 5.00s", False)], 5.0)
        self.assertEqual(
            str(error).splitlines()[0],
            "trialnet teardown: 1 thing did not close in an orderly way "
            "(waited 5.00s):",
        )

    def test_both(self) -> None:
        """
        A report of both counts each, and lists what was aborted first.
        """
        error = TeardownError(
            [
                self.leftover(LEFT_OPEN, True),
                self.leftover("aborted after 5.00s", False),
            ],
            5.0,
        )
        lines = str(error).splitlines()
        self.assertEqual(
            lines[0],
            "trialnet teardown: 1 thing did not close in an orderly way "
            "(waited 5.00s); 1 thing left open by the code under test "
            "(strictCleanup); closed by the teardown:",
        )
        self.assertIn("aborted after", lines[1])
        self.assertIn(LEFT_OPEN, lines[2])


class OriginTests(SynchronousTestCase):
    """
    An origin is a line of the user's code, past every library; a line of
    an installed library only where nothing else is left.
    """

    def installedCode(self, source: str) -> dict[str, object]:
        """
        Run C{source} as a module of an installed library would be, and give
        back its namespace.
        """
        filename = os.path.join(_INSTALLED[0], "someLibrary", "calls.py")
        namespace: dict[str, object] = {"userOrigin": userOrigin}
        exec(compile(source, filename, "exec"), namespace)
        return namespace

    def test_pastInstalledLibrary(self) -> None:
        """
        A library's frame between the user's and trialnet's is passed over.
        """
        library = self.installedCode("def opens():\n    return userOrigin()\n")
        opens = library["opens"]
        assert callable(opens)
        origin = opens()
        self.assertEqual(origin.filename, thisFile())

    def test_onlyInstalledLibrary(self) -> None:
        """
        Where no frame of the user's is left (a thread an installed library
        started), the innermost frame of an installed library is named.
        """
        library = self.installedCode(
            "def opens(found):\n    found.append(userOrigin())\n"
        )
        found: list[Origin] = []
        thread = threading.Thread(target=library["opens"], args=(found,))  # type: ignore[arg-type]
        thread.start()
        thread.join()
        self.assertEqual(
            found, [Origin(os.path.join(_INSTALLED[0], "someLibrary", "calls.py"), 2)]
        )

    def test_pastEverySubpackage(self) -> None:
        """
        Every frame inside the trialnet package, in a subpackage too, is
        passed over: the origin is the line that called into the package.
        """
        top = os.path.dirname(os.path.abspath(trialnet.__file__))
        filename = os.path.join(top, "_sub", "inner.py")
        namespace: dict[str, object] = {"userOrigin": userOrigin}
        exec(
            compile("def opens():\n    return userOrigin()\n", filename, "exec"),
            namespace,
        )
        opens = namespace["opens"]
        assert callable(opens)
        origin = opens()
        self.assertEqual(origin.filename, thisFile())
