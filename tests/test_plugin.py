"""
The pytest plugin: the C{network} fixture under pytest-twisted, with the
default and the asyncio reactor, run in a pytest process whose outcomes are
read back from its JUnit XML report.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import TYPE_CHECKING

from twisted.trial.unittest import SynchronousTestCase

from .sockets.test_observedFixture import runPytest

SAMPLES = os.path.join(
    os.path.dirname(__file__), "pytest_samples", "network_fixture.py"
)


if TYPE_CHECKING:
    _MixinBase = SynchronousTestCase
else:
    _MixinBase = object


class NetworkFixtureMixin(_MixinBase):
    """
    The fixture's behaviour, for one reactor.
    """

    reactor = ""

    def test_outcomes(self) -> None:
        """
        A test that echoes passes and its port is closed afterwards; a test
        with stuck producers gets an error at its teardown that is trialnet's
        report; a test through a link passes; and the reactor is left with no
        socket and no timer.
        """
        outcomes, ports, output = runPytest(self.reactor, samples=SAMPLES)

        self.assertEqual(outcomes["test_echo"], ["passed"], output)
        (stuck,) = [
            kind
            for kind in outcomes["test_stuck"]
            if kind.startswith(("error:", "failure:", "skipped:"))
        ]
        self.assertIn("error: failed on teardown", stuck)
        self.assertIn("TeardownError", output)
        self.assertIn("kept open by a registered producer (NeverFinishes)", output)
        self.assertEqual(outcomes["test_link"], ["passed"], output)
        self.assertEqual(outcomes["test_reactorClean"], ["passed"], output)
        (port,) = ports
        with socket.socket() as probe:
            self.assertNotEqual(probe.connect_ex(("127.0.0.1", port)), 0)


class DefaultReactorTests(NetworkFixtureMixin, SynchronousTestCase):
    """
    The fixture with pytest-twisted's default reactor.
    """

    reactor = "default"


class AsyncioReactorTests(NetworkFixtureMixin, SynchronousTestCase):
    """
    The fixture with pytest-twisted's asyncio reactor.
    """

    reactor = "asyncio"


class ImportTests(SynchronousTestCase):
    """
    The plugin module is importable where pytest is not.
    """

    def test_importWithoutPytest(self) -> None:
        """
        With C{pytest} unimportable, the plugin module still imports, and
        offers the fixture as a plain function.
        """
        code = (
            "import sys; sys.modules['pytest'] = None\n"
            "import trialnet._plugin as plugin\n"
            "print(callable(plugin.network), 'pytest' in repr(plugin.network))\n"
        )
        completed = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
        self.assertEqual(completed.stdout.split(), ["True", "False"], completed.stderr)
