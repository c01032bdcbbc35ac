# -*- test-case-name: tests.processes.test_ready -*-
"""
What a server child says: the bounded tail of its output, both streams
interleaved as they arrive, and its ready line, matched on complete lines
of each stream on its own.
"""

from __future__ import annotations

import re
from typing import Any

from .._sockets._addresses import reachableHost
from .._sockets._targets import checkPortNumber, isIPLiteral

#: Bytes of a child's output kept: the tail of both streams, interleaved.
OUTPUT_TAIL = 64 * 1024

#: Bytes of output shown in an error or a report.
SHOWN_TAIL = 4 * 1024


def checkReadyLine(readyLine: object) -> re.Pattern[bytes] | None:
    """
    @return: C{readyLine} compiled, or C{None} for socket activation.
    @raise TypeError: Unless it is C{None}, C{bytes} or a compiled pattern of
        bytes.
    @raise ValueError: If it has no C{port} group, or does not compile.
    """
    if readyLine is None:
        return None
    if isinstance(readyLine, bytes):
        try:
            pattern = re.compile(readyLine)
        except re.error as e:
            raise ValueError(
                f"readyLine {readyLine!r} is not a valid pattern: {e}"
            ) from None
    elif isinstance(readyLine, re.Pattern) and isinstance(readyLine.pattern, bytes):
        pattern = readyLine
    else:
        raise TypeError(
            f"readyLine must be a pattern of bytes (such as "
            f"rb'listening on port (?P<port>\\d+)') or one compiled from bytes, "
            f"not {readyLine!r}"
        )
    if "port" not in pattern.groupindex:
        raise ValueError(
            f"readyLine must have a group named 'port' that matches the port "
            f"number (?P<port>\\d+), not {pattern.pattern!r}"
        )
    return pattern


class Tail:
    """
    The last L{OUTPUT_TAIL} bytes a child wrote on its streams, interleaved
    line by line in the order the lines were completed, so that a line of
    stdout and one of stderr never mix; an incomplete line of each stream
    comes last.
    """

    def __init__(self, size: int = OUTPUT_TAIL) -> None:
        self._size = size
        self._chunks: list[bytes] = []
        self._length = 0
        self._partial: dict[int, bytes] = {}

    def add(self, fd: int, data: bytes) -> None:
        """
        The child wrote C{data} on descriptor C{fd}.
        """
        pending = self._partial.pop(fd, b"") + data
        end = pending.rfind(b"\n") + 1
        if end:
            self._append(pending[:end])
        if end < len(pending):
            self._partial[fd] = pending[end:][-self._size :]

    def flush(self, fd: int) -> None:
        """
        Descriptor C{fd} closed: its incomplete line is complete.
        """
        self._append(self._partial.pop(fd, b""))

    def value(self) -> bytes:
        """
        @return: The tail, incomplete lines last.
        """
        joined = b"".join(self._chunks)[-self._size :]
        self._chunks = [joined]
        self._length = len(joined)
        partial = b"".join(self._partial[fd] for fd in sorted(self._partial))
        return (joined + partial)[-self._size :]

    def _append(self, data: bytes) -> None:
        if data:
            self._chunks.append(data)
            self._length += len(data)
            if self._length > 2 * self._size:
                self.value()


def shown(output: bytes) -> str:
    """
    The end of a child's output, as text for an error or a report.
    """
    if not output:
        return "(no output)"
    tail = output[-SHOWN_TAIL:]
    cut = "...\n" if len(output) > len(tail) else ""
    return cut + tail.decode("utf-8", "replace").rstrip("\n")


class ReadyLine:
    """
    Watches each stream of a child for the first complete line that
    matches the pattern.

    @ivar address: C{(host, port)} from the matching line, once found.
    """

    def __init__(self, pattern: re.Pattern[bytes]) -> None:
        self._pattern = pattern
        self._partial: dict[int, bytes] = {}
        self.address: tuple[str, int] | None = None

    def received(self, fd: int, data: bytes) -> tuple[str, int] | None:
        """
        Bytes came on descriptor C{fd}.

        @return: The address, when a line has just matched; else C{None}.
        @raise ValueError: When the matching line names no usable address.
        """
        if self.address is not None:
            return None
        lines = (self._partial.pop(fd, b"") + data).split(b"\n")
        # A line is matched once complete; a partial one is kept, bounded.
        self._partial[fd] = lines.pop()[-OUTPUT_TAIL:]
        for line in lines:
            found = self._pattern.search(line.rstrip(b"\r"))
            if found is not None:
                self.address = _address(found, line)
                return self.address
        return None


def _address(found: re.Match[bytes], line: bytes) -> tuple[str, int]:
    """
    @return: The C{(host, port)} a matching line names: its C{host} group
        (loopback for every interface) or C{127.0.0.1}, and its C{port}.
    @raise ValueError: When they are no IP literal and port number.
    """
    text = found.group("port")
    try:
        number: Any = int(text)
    except (TypeError, ValueError):
        number = text
    try:
        checkPortNumber(number, "the ready line's port", allowZero=False)
    except TypeError:
        raise ValueError(
            f"the ready line {line!r} has no port number: {text!r}"
        ) from None
    host = "127.0.0.1"
    if "host" in found.re.groupindex and found.group("host") is not None:
        host = found.group("host").decode("ascii", "replace").strip("[]")
        if not isIPLiteral(host):
            raise ValueError(
                f"the ready line {line!r} names the host {host!r}, which is not "
                f"an IP literal (trialnet does not resolve names); drop the "
                f"'host' group to connect to 127.0.0.1"
            )
    return reachableHost(host), number
