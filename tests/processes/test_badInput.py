"""
What C{spawnServer()} cannot use is refused with a clear C{TypeError} or
C{ValueError} before anything is bound or spawned.
"""

# ruff: noqa: N999

from __future__ import annotations

import re
import sys
from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from trialnet import Network

from ..helpers import openFileCount, warmUp


class RefusedTests(SynchronousTestCase):
    """
    Bad arguments are refused before anything starts.
    """

    def setUp(self) -> None:
        warmUp()
        self.spawned: list[object] = []
        from twisted.internet import reactor

        def spawnProcess(*args: Any, **kwargs: Any) -> None:
            self.spawned.append(args)
            raise AssertionError("spawned")

        # Patched before the network observes the reactor, so that each
        # puts back what it found: a network closed under a patch of its
        # own observer would leave its wrapper on the reactor when the
        # patch is undone.
        self.patch(reactor, "spawnProcess", spawnProcess)
        self.network = Network()
        self.addCleanup(self.network.close)

    def refused(self, error: type[Exception], *args: Any, **kwargs: Any) -> str:
        """
        Assert C{spawnServer(*args, **kwargs)} raises C{error}, having opened
        and spawned nothing.

        @return: The error's text.
        """
        before = openFileCount()
        raised = self.assertRaises(error, self.network.spawnServer, *args, **kwargs)
        self.assertEqual(self.spawned, [])
        self.assertEqual(openFileCount(), before)
        return str(raised)

    def test_argv(self) -> None:
        """
        C{argv} must be a non-empty list of C{str} or C{bytes}.
        """
        self.assertIn("it is empty", self.refused(ValueError, []))
        self.assertIn("list of str or bytes", self.refused(TypeError, "python"))
        self.assertIn("list of str or bytes", self.refused(TypeError, b"python"))
        self.assertIn("list of str or bytes", self.refused(TypeError, None))
        text = self.refused(TypeError, [sys.executable, 3])
        self.assertIn("each item of argv must be str or bytes", text)
        self.assertIn("NUL", self.refused(ValueError, ["a\0b"]))
        self.assertIn("begin with a program", self.refused(ValueError, [""]))

    def test_readyLine(self) -> None:
        """
        C{readyLine} must be bytes, or a pattern compiled from bytes, with a
        C{port} group.
        """
        argv = [sys.executable]
        text = self.refused(TypeError, argv, r"port (?P<port>\d+)")
        self.assertIn("pattern of bytes", text)
        self.refused(TypeError, argv, re.compile(r"(?P<port>\d+)"))
        self.refused(TypeError, argv, 8080)
        text = self.refused(ValueError, argv, rb"port (\d+)")
        self.assertIn("a group named 'port'", text)
        self.assertIn("not a valid pattern", self.refused(ValueError, argv, b"(?P<"))

    def test_envAndPath(self) -> None:
        """
        C{env} must map C{str} or C{bytes} to C{str} or C{bytes}, and
        C{path} be a directory.
        """
        argv = [sys.executable]
        self.assertIn("mapping", self.refused(TypeError, argv, env=["A=1"]))
        self.refused(TypeError, argv, env={"A": 1})
        self.refused(ValueError, argv, env={"A=B": "1"})
        self.refused(ValueError, argv, env={"": "1"})
        self.assertIn("directory", self.refused(TypeError, argv, path=3))
        text = self.refused(ValueError, argv, path=__file__)
        self.assertIn("must be a directory", text)

    def test_startTimeout(self) -> None:
        """
        C{startTimeout} must be a positive, finite number of seconds.
        """
        argv = [sys.executable]
        self.refused(TypeError, argv, rb"(?P<port>\d+)", startTimeout="1")
        self.refused(ValueError, argv, rb"(?P<port>\d+)", startTimeout=0)
        self.refused(ValueError, argv, rb"(?P<port>\d+)", startTimeout=float("inf"))

    def test_closedNetwork(self) -> None:
        """
        A network whose teardown began spawns nothing.
        """
        self.network.close()
        self.refused(RuntimeError, [sys.executable])
