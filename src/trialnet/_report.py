"""
The leftover report: where each tracked thing was opened, and the error that
names whatever would not close.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

_PACKAGE_DIRECTORY = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _twistedDirectories() -> tuple[str, ...]:
    """
    Twisted's package, and automat's: Twisted's state machines
    (C{ClientService}'s) run the user's calls through it.
    """
    import automat
    import twisted

    return tuple(
        os.path.dirname(os.path.abspath(package.__file__ or "")) + os.sep
        for package in (twisted, automat)
    )


_STANDARD_LIBRARY = os.path.dirname(os.path.abspath(os.__file__)) + os.sep
#: Where the frames between the user's code and a socket are.
_LIBRARIES = (*_twistedDirectories(), _STANDARD_LIBRARY)


@dataclass(frozen=True)
class Origin:
    """
    The line of user code that opened or adopted a tracked thing.

    @ivar filename: The source file of that line.
    @ivar lineno: Its line number.
    """

    filename: str
    lineno: int

    def __str__(self) -> str:
        if not self.filename:
            return (
                "a line nothing recorded (run Python with -X tracemalloc=25 "
                "to have it named)"
            )
        return f"{self.filename}:{self.lineno}"


#: The origin of something opened where nothing recorded the line: a socket
#: found in the reactor after the test, whose making nothing traced.
UNKNOWN_ORIGIN = Origin("", 0)


def callerOrigin() -> Origin:
    """
    Find the innermost frame outside trialnet, looking at one frame at a time
    rather than capturing a whole stack: this runs for every port and
    connection.

    @return: The file and line of the first caller outside this package.
    """
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(
        _PACKAGE_DIRECTORY
    ):
        frame = frame.f_back
    return Origin(frame.f_code.co_filename, frame.f_lineno)


def userOrigin() -> Origin:
    """
    Find the line of the user's code that made Twisted open something: the
    innermost frame outside trialnet, Twisted (and automat, which runs its
    state machines) and the standard library.  When
    Twisted opened it from a reactor callback, with no user code on the
    stack, the innermost frame outside trialnet is named instead.
    """
    frame = sys._getframe(1)
    first = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_DIRECTORY):
            if first is None:
                first = frame
            if not filename.startswith(_LIBRARIES) and not filename.startswith(
                "<frozen"
            ):
                return Origin(filename, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    if first is None:
        return Origin("?", 0)
    return Origin(first.f_code.co_filename, first.f_lineno)


def allocationOrigin(*things: object) -> Origin:
    """
    Find the line of the user's code that made something, from its own
    history: where C{tracemalloc}, if it was tracing then, saw the first of
    C{things} it knows allocated (a selectable, then its socket: Python 3.11
    has no history of objects with a managed dictionary).  The innermost
    frame outside trialnet, Twisted and the standard library is named, else
    the innermost outside trialnet.

    @return: That line, or L{UNKNOWN_ORIGIN} when nothing recorded it.
    """
    import tracemalloc

    for thing in things:
        traceback = tracemalloc.get_object_traceback(thing)
        if traceback is not None:
            break
    else:
        return UNKNOWN_ORIGIN
    first = None
    # Oldest frame first: look from the innermost outwards.
    for frame in reversed(traceback):
        if frame.filename.startswith(_PACKAGE_DIRECTORY):
            continue
        origin = Origin(frame.filename, frame.lineno)
        if first is None:
            first = origin
        if not frame.filename.startswith((*_LIBRARIES, "<frozen")):
            return origin
    return UNKNOWN_ORIGIN if first is None else first


@dataclass(frozen=True, kw_only=True)
class Leftover:
    """
    One port or connection that did not close by itself in time.

    Only strings are kept, so a report held by a test result keeps no
    protocol, transport or factory alive.

    @ivar role: C{"port"}, C{"client"}, C{"server"} or C{"tracked"}, and
        the like.
    @ivar origin: Where it was opened.
    @ivar action: What the teardown did about it.
    @ivar kind: The qualified class name of the protocol (or of the port).
    @ivar local: The local address, as text.
    @ivar peer: The peer address, as text (empty for a port).
    @ivar cause: What kept it open, where known, else an empty string.
    @ivar via: The link it crossed, if it crossed one, else an empty string.
    """

    role: str
    origin: Origin
    action: str
    kind: str = ""
    local: str = ""
    peer: str = ""
    cause: str = ""
    via: str = ""

    def __str__(self) -> str:
        ends = self.local if not self.peer else f"{self.local} <-> {self.peer}"
        named = " ".join(part for part in (self.role, self.kind, ends) if part)
        text = f"{named}, opened at {self.origin}"
        if self.via:
            text += f", through {self.via}"
        if self.cause:
            text += f"; kept open by {self.cause}"
        return f"{text}; {self.action}"


class TeardownError(Exception):
    """
    The teardown of a L{trialnet.Network} had to abort or force-close
    something, or a port failed to stop.

    Every socket has been closed by the time this is raised; the error only
    names what did not close in an orderly way.

    @ivar leftovers: One L{Leftover} for each thing that did not close.
    @ivar waited: Seconds the teardown waited for an orderly close, or
        C{None} for sockets found after the test, which nothing waited for.
    """

    def __init__(
        self, leftovers: Sequence[Leftover], waited: float | None = None
    ) -> None:
        self.leftovers = tuple(leftovers)
        self.waited = waited
        super().__init__(self._describe())

    def _describe(self) -> str:
        count = len(self.leftovers)
        noun = "thing" if count == 1 else "things"
        if self.waited is None:
            header = f"trialnet: {count} {noun} left open after the test:"
        else:
            header = (
                f"trialnet teardown: {count} {noun} did not close in an orderly "
                f"way (waited {self.waited:.2f}s):"
            )
        lines = [header]
        lines.extend(f"  - {leftover}" for leftover in self.leftovers)
        return "\n".join(lines)


def describeAddress(address: object) -> str:
    """
    Render an address for the report.

    @param address: An L{IAddress<twisted.internet.interfaces.IAddress>} provider, or
        C{None}.
    @return: C{host:port} for IP addresses, C{[host]:port} for IPv6, else
        the address's own text.
    """
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    if host is None or port is None:
        return "?" if address is None else str(address)
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"
