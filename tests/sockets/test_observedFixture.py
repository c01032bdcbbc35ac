"""
What the code under test opens on the reactor by itself, under pytest: the
C{network} fixture closes it at its teardown, and its strict option makes
it the test's error.
"""

# ruff: noqa: N999

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from typing import TYPE_CHECKING

from twisted.trial.unittest import SynchronousTestCase

from .test_observed import LEFT_OPEN

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = os.path.join(ROOT, "tests", "pytest_samples", "observed_fixture.py")


def runPytest(
    reactor: str, *options: str, samples: str = SAMPLES
) -> tuple[dict[str, list[str]], list[int], str]:
    """
    Run the observed-fixture samples (or those of the file C{samples})
    under pytest-twisted with C{reactor} and extra command-line C{options}.

    @return: For each test, its outcomes (C{"passed"}, or C{"error: ..."}
        with its message); the port numbers the samples listened on; and
        pytest's output.
    """
    with tempfile.TemporaryDirectory() as directory:
        report = os.path.join(directory, "report.xml")
        ports = os.path.join(directory, "ports")
        open(ports, "w").close()
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                f"--reactor={reactor}",
                f"--junitxml={report}",
                "-q",
                *options,
                samples,
            ],
            env=dict(
                os.environ,
                TRIALNET_SAMPLE_PORTS=ports,
                # This checkout's trialnet, whatever the environment installed.
                PYTHONPATH=os.pathsep.join(
                    filter(None, [ROOT, os.environ.get("PYTHONPATH")])
                ),
            ),
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = completed.stdout + completed.stderr
        outcomes: dict[str, list[str]] = {}
        for case in ElementTree.parse(report).iter("testcase"):
            kinds = outcomes.setdefault(case.get("name", ""), [])
            for child in case:
                if child.tag in ("error", "failure", "skipped"):
                    kinds.append(f"{child.tag}: {child.get('message', '')}")
                    kinds.append(child.text or "")
            if not kinds:
                kinds.append("passed")
        with open(ports) as f:
            numbers = [int(line) for line in f if line.strip()]
    return outcomes, numbers, output


if TYPE_CHECKING:
    _MixinBase = SynchronousTestCase
else:
    _MixinBase = object


class ObservedFixtureMixin(_MixinBase):
    """
    The pytest C{network} fixture's contract for what the code under test
    opened, for one reactor.
    """

    reactor = ""

    def test_closedAtTeardown(self) -> None:
        """
        A port the test opened with the reactor's C{listenTCP} is closed at
        the fixture's teardown: the test passes, and the next test of the
        session finds no socket left in the reactor.
        """
        outcomes, ports, output = runPytest(self.reactor)

        self.assertEqual(outcomes.get("test_portByReactor"), ["passed"], output)
        self.assertEqual(outcomes.get("test_reactorClean"), ["passed"], output)
        self.assertEqual(len(ports), 1, output)

    def test_strict(self) -> None:
        """
        With the ini option C{trialnet_strict_cleanup = true}, that port is
        the test's error at its teardown, naming it as left open by the code
        under test; it is closed anyway (the next test finds no socket).
        """
        outcomes, ports, output = runPytest(
            self.reactor, "-o", "trialnet_strict_cleanup=true"
        )

        kinds = outcomes.get("test_portByReactor", [])
        self.assertIn("error: failed on teardown", " ".join(kinds), output)
        self.assertIn("TeardownError", output)
        self.assertIn(LEFT_OPEN, output)
        self.assertEqual(outcomes.get("test_reactorClean"), ["passed"], output)
        self.assertEqual(len(ports), 1, output)


class ObservedFixtureDefaultReactorTests(ObservedFixtureMixin, SynchronousTestCase):
    """
    The fixture's contract with pytest-twisted's default reactor.
    """

    reactor = "default"


class ObservedFixtureAsyncioReactorTests(ObservedFixtureMixin, SynchronousTestCase):
    """
    The fixture's contract with pytest-twisted's asyncio reactor.
    """

    reactor = "asyncio"
