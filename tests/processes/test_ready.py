"""
A child's ready line, matched on complete lines of each stream, and the
bounded tail of its output.
"""

from __future__ import annotations

import re

from twisted.trial.unittest import SynchronousTestCase

from trialnet._processes._ready import (
    OUTPUT_TAIL,
    ReadyLine,
    Tail,
    checkReadyLine,
    shown,
)

PATTERN = re.compile(rb"on (?:(?P<host>[0-9a-f.:]+) )?port (?P<port>\d+)$")


class ReadyLineTests(SynchronousTestCase):
    """
    L{ReadyLine} finds the first complete matching line of either stream.
    """

    def test_completeLinesOnly(self) -> None:
        """
        A line matches once its newline came, not before, and a CRLF ending
        matches too.
        """
        line = ReadyLine(PATTERN)
        self.assertIsNone(line.received(1, b"serving on port 80"))
        self.assertIsNone(line.received(1, b"81"))
        self.assertEqual(line.received(1, b"\r\nmore\n"), ("127.0.0.1", 8081))
        self.assertIsNone(line.received(1, b"on port 9\n"))

    def test_eachStreamOnItsOwn(self) -> None:
        """
        The beginning of a line on one stream and its end on the other do
        not make a line.
        """
        line = ReadyLine(PATTERN)
        self.assertIsNone(line.received(1, b"serving on port "))
        self.assertIsNone(line.received(2, b"8080\n"))
        self.assertEqual(line.received(2, b"on port 7\n"), ("127.0.0.1", 7))

    def test_host(self) -> None:
        """
        The C{host} group is where to connect; every interface means
        loopback.
        """
        self.assertEqual(
            ReadyLine(PATTERN).received(2, b"on 127.0.0.2 port 5\n"),
            ("127.0.0.2", 5),
        )
        self.assertEqual(
            ReadyLine(PATTERN).received(2, b"on 0.0.0.0 port 5\n"), ("127.0.0.1", 5)
        )
        self.assertEqual(ReadyLine(PATTERN).received(2, b"on :: port 5\n"), ("::1", 5))

    def test_badAddress(self) -> None:
        """
        A matching line with no port number, or a host that is no IP
        literal, is refused with the line.
        """
        pattern = re.compile(rb"on (?P<host>\S+) port (?P<port>\S+)")
        error = self.assertRaises(
            ValueError, ReadyLine(pattern).received, 1, b"on 1.2.3.4 port http\n"
        )
        self.assertIn("no port number", str(error))
        self.assertRaises(
            ValueError, ReadyLine(pattern).received, 1, b"on 1.2.3.4 port 70000\n"
        )
        error = self.assertRaises(
            ValueError, ReadyLine(pattern).received, 1, b"on localhost port 80\n"
        )
        self.assertIn("not an IP literal", str(error))

    def test_checkReadyLine(self) -> None:
        """
        Bytes are compiled, a compiled pattern of bytes is kept, and C{None}
        means socket activation.
        """
        self.assertIsNone(checkReadyLine(None))
        self.assertIs(checkReadyLine(PATTERN), PATTERN)
        compiled = checkReadyLine(rb"(?P<port>\d+)")
        self.assertEqual(compiled, re.compile(rb"(?P<port>\d+)"))


class TailTests(SynchronousTestCase):
    """
    L{Tail} keeps the end of a child's output, line by line.
    """

    def test_linesDoNotMix(self) -> None:
        """
        Lines of two streams are interleaved whole, in the order they were
        completed, incomplete ones last.
        """
        tail = Tail()
        tail.add(1, b"out one\nout t")
        tail.add(2, b"err one\n")
        tail.add(1, b"wo\n")
        tail.add(2, b"prompt> ")
        self.assertEqual(tail.value(), b"out one\nerr one\nout two\nprompt> ")
        tail.flush(2)
        tail.add(2, b"next\n")
        self.assertEqual(tail.value(), b"out one\nerr one\nout two\nprompt> next\n")

    def test_bounded(self) -> None:
        """
        Only the last L{OUTPUT_TAIL} bytes are kept.
        """
        tail = Tail()
        for number in range(10000):
            tail.add(1, b"%08d\n" % number)
        value = tail.value()
        self.assertEqual(len(value), OUTPUT_TAIL)
        self.assertTrue(value.endswith(b"00009999\n"))
        tail.add(2, b"x" * (OUTPUT_TAIL * 3))
        self.assertEqual(len(tail.value()), OUTPUT_TAIL)

    def test_shown(self) -> None:
        """
        The text of an error shows the output's last 4 KiB, and says when
        it is cut, or that there was none.
        """
        self.assertEqual(shown(b""), "(no output)")
        self.assertEqual(shown(b"a\n"), "a")
        text = shown(b"x" * 5000)
        self.assertTrue(text.startswith("...\n"))
        self.assertEqual(len(text), 4 + 4096)
