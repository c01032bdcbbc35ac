"""
Numbers of seconds at the edges of what a float holds: too large for one,
infinite or NaN.  Each is refused with a C{ValueError} saying what was
expected, before anything is opened, since an infinite bound would make a
connection attempt or the teardown wait for ever.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from trialnet import Network, NetworkTestCase
from trialnet._plugin import TIMEOUT_OPTION, _iniTimeout

from ..helpers import (
    Events,
    LoggingFactory,
    assertCleanRun,
    assertPassed,
    errorTypes,
    errorValues,
    sample,
)

#: What no bound in seconds may be, and a word of the error each one gets.
UNBOUNDED: list[tuple[object, str]] = [
    (10**400, "too large for a float"),
    (float("inf"), "finite"),
    (float("-inf"), "finite"),
    (float("nan"), "finite"),
]

#: What each refusal asks for, after the argument's name.
EXPECTED = "must be a finite positive number of seconds"

#: The pytest sample whose one test takes the C{network} fixture.
SAMPLE = os.path.join(
    os.path.dirname(os.path.dirname(__file__)),
    "pytest_samples",
    "disconnect_timeout.py",
)


class DisconnectTimeoutTests(SynchronousTestCase):
    """
    The teardown's bound, C{disconnectTimeout}.
    """

    def test_networkRefuses(self) -> None:
        """
        L{Network} refuses a C{disconnectTimeout} too large for a float,
        infinite or NaN with a C{ValueError} that names the argument and
        asks for a finite positive number of seconds.
        """
        for value, word in UNBOUNDED:
            error = self.assertRaises(
                ValueError, Network, MemoryReactorClock(), disconnectTimeout=value
            )
            message = str(error)
            self.assertIn(f"disconnectTimeout {EXPECTED}", message)
            self.assertIn(word, message)

    def test_hugeNegative(self) -> None:
        """
        A negative int too large for a float is refused as not positive, with
        its size rather than its hundreds of digits.
        """
        error = self.assertRaises(
            ValueError, Network, MemoryReactorClock(), disconnectTimeout=-(10**400)
        )
        self.assertEqual(
            str(error),
            "disconnectTimeout must be a finite positive number of seconds (an "
            "int or a float), not a negative int of about 401 digits",
        )

    def test_largestFloat(self) -> None:
        """
        The largest finite float is still a bound, and is kept as it is.
        """
        network = Network(MemoryReactorClock(), disconnectTimeout=2**1023)
        self.assertEqual(network.disconnectTimeout, float(2**1023))

    def test_testCaseAttribute(self) -> None:
        """
        A L{NetworkTestCase} whose C{disconnectTimeout} is infinite fails at
        its first C{listen} with the C{ValueError}, and listens nowhere.
        """
        events = Events()
        factory = LoggingFactory(events, "server")

        def body(case: NetworkTestCase) -> None:
            case.listen(factory)

        result = sample(body, disconnectTimeout=math.inf)

        self.assertEqual(errorTypes(result), [ValueError])
        self.assertIn(f"disconnectTimeout {EXPECTED}", str(errorValues(result)[0]))
        self.assertEqual(events.log, [])

    def test_setDuringTheTest(self) -> None:
        """
        A C{disconnectTimeout} the test sets on itself after its first
        C{listen}, infinite, fails the test with the C{ValueError} when the
        teardown reads it.
        """
        events = Events()
        factory = LoggingFactory(events, "server")

        def body(case: NetworkTestCase) -> None:
            case.listen(factory)
            case.disconnectTimeout = math.inf

        result = sample(body)

        self.assertIn(ValueError, errorTypes(result))
        self.assertTrue(
            any(f"disconnectTimeout {EXPECTED}" in str(e) for e in errorValues(result))
        )

    def test_processTimeoutSetDuringTheTest(self) -> None:
        """
        A C{processTimeout} the test sets on itself after its first
        C{listen}, infinite, fails the test with the C{ValueError} when the
        teardown reads it; one set to its own value again passes.
        """
        events = Events()
        factory = LoggingFactory(events, "server")

        def body(case: NetworkTestCase) -> None:
            case.listen(factory)
            case.processTimeout = math.inf

        result = sample(body)

        self.assertIn(ValueError, errorTypes(result))
        self.assertTrue(
            any(f"processTimeout {EXPECTED}" in str(e) for e in errorValues(result))
        )

        def same(case: NetworkTestCase) -> None:
            case.listen(LoggingFactory(events, "server"))
            case.processTimeout = float(case.processTimeout)

        assertPassed(self, sample(same))

    def test_equalButNotANumberSetDuringTheTest(self) -> None:
        """
        A C{disconnectTimeout} or C{processTimeout} the test sets on itself
        after its first C{listen} to a value equal to the one it had but
        neither an int nor a float (a C{Decimal}) fails the test with the
        C{TypeError}, as any other value of the wrong type does.
        """
        events = Events()
        for name in ("disconnectTimeout", "processTimeout"):

            def body(case: NetworkTestCase, name: str = name) -> None:
                case.listen(LoggingFactory(events, "server"))
                setattr(case, name, Decimal(getattr(case, name)))

            result = sample(body)

            self.assertIn(TypeError, errorTypes(result))
            self.assertTrue(any(name in str(e) for e in errorValues(result)))


class ConnectTimeoutTests(SynchronousTestCase):
    """
    The bound of a connection attempt, C{connect(timeout=...)} and
    C{clientEndpoint(timeout=...)}.
    """

    def refusedConnects(self, connect: str) -> tuple[list[str], Events]:
        """
        Run a sample that listens, then calls its C{connect} or
        C{clientEndpoint} method with each of L{UNBOUNDED} as the timeout.

        @return: The message of each C{ValueError} raised, and the events of
            the server and client factories.
        """
        events = Events()
        serverFactory = LoggingFactory(events, "server")
        clientFactory = LoggingFactory(events, "client")
        messages: list[str] = []

        def body(case: NetworkTestCase) -> None:
            port = case.listen(serverFactory)
            method = getattr(case, connect)
            for value, _ in UNBOUNDED:
                if connect == "connect":
                    arguments: tuple[object, ...] = (port, clientFactory, value)
                else:
                    arguments = (port, value)
                error = case.assertRaises(ValueError, method, *arguments)
                messages.append(str(error))

        result = sample(body)

        assertCleanRun(self, result)
        return messages, events

    def test_connectRefuses(self) -> None:
        """
        C{connect} refuses a timeout too large for a float, infinite or NaN
        with a C{ValueError} asking for a finite positive number of seconds,
        before the client factory is started or the server accepts anything.
        """
        messages, events = self.refusedConnects("connect")

        self.assertEqual(len(messages), len(UNBOUNDED))
        for message, (_, word) in zip(messages, UNBOUNDED, strict=True):
            self.assertIn(
                "timeout must be a finite positive number of seconds", message
            )
            self.assertIn(word, message)
        self.assertEqual(
            events.log, ["server factory started", "server factory stopped"]
        )

    def test_clientEndpointRefuses(self) -> None:
        """
        C{clientEndpoint} refuses the same timeouts when it is made, before
        anything connects through it.
        """
        messages, events = self.refusedConnects("clientEndpoint")

        self.assertEqual(len(messages), len(UNBOUNDED))
        for message in messages:
            self.assertIn(
                "timeout must be a finite positive number of seconds", message
            )
        self.assertEqual(
            events.log, ["server factory started", "server factory stopped"]
        )


class IniConfig:
    """
    A pytest configuration that holds only trialnet's ini option.
    """

    def __init__(self, value: str) -> None:
        self.value = value

    def getini(self, name: str) -> str:
        assert name == TIMEOUT_OPTION, name
        return self.value


def startPytest(directory: str, value: str, inIniFile: bool) -> subprocess.Popen[str]:
    """
    Start pytest in C{directory} on the sample, with the
    C{trialnet_disconnect_timeout} option set to C{value}: in an ini file
    there, or with C{-o}.  The sample expects C{value} to be taken.
    """
    options = ["-o", f"{TIMEOUT_OPTION}={value}"]
    if inIniFile:
        iniFile = os.path.join(directory, "pytest.ini")
        with open(iniFile, "w") as f:
            f.write(f"[pytest]\n{TIMEOUT_OPTION} = {value}\n")
        options = ["-c", iniFile]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            *options,
            SAMPLE,
        ],
        env=dict(os.environ, TRIALNET_SAMPLE_TIMEOUT=value),
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


class IniOptionTests(SynchronousTestCase):
    """
    The pytest plugin's C{trialnet_disconnect_timeout} ini option goes
    through the same check, and an error names the option.
    """

    def test_refused(self) -> None:
        """
        Each value that is not a finite positive number of seconds is a
        C{ValueError} naming the option and quoting the value as written.
        """
        for value in ["inf", "nan", "-1", "0", "abc", "1e400", ""]:
            error = self.assertRaises(ValueError, _iniTimeout, IniConfig(value))
            self.assertEqual(
                str(error),
                f"the ini option {TIMEOUT_OPTION} {EXPECTED}, not {value!r}",
            )

    def test_taken(self) -> None:
        """
        A finite positive number of seconds is taken as it is written.
        """
        self.assertEqual(_iniTimeout(IniConfig("2.5")), 2.5)

    def test_underPytest(self) -> None:
        """
        Under pytest, a test using the C{network} fixture errors with the
        option's name and value when the ini file sets it to C{inf} or
        C{-o} sets it to C{1e400}, and passes with the bound it sets when
        it is C{2.5}.
        """
        # Three pytest processes at once: each spends seconds starting.
        runs = {}
        for value, inIniFile in [("inf", True), ("1e400", False), ("2.5", False)]:
            directory = tempfile.mkdtemp(prefix="trialnet-ini-")
            self.addCleanup(shutil.rmtree, directory, True)
            runs[value] = startPytest(directory, value, inIniFile)
            self.addCleanup(runs[value].kill)
        outputs = {
            value: run.communicate(timeout=120)[0] for value, run in runs.items()
        }
        codes = {key: run.returncode for key, run in runs.items()}

        for value in ("inf", "1e400"):
            self.assertNotEqual(codes[value], 0, outputs[value])
            self.assertIn(
                f"ValueError: the ini option {TIMEOUT_OPTION} {EXPECTED}, "
                f"not {value!r}",
                outputs[value],
            )
        self.assertEqual(codes["2.5"], 0, outputs["2.5"])
