"""
The leftover report: where each tracked thing was opened, and the error that
names whatever would not close.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

_PACKAGE_DIRECTORY = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _twistedDirectory() -> str:
    import twisted

    return os.path.dirname(os.path.abspath(twisted.__file__)) + os.sep


def _installedDirectories() -> tuple[str, ...]:
    """
    Where installed libraries live: the environment's site-packages (which
    may be inside the standard library's directory, outside a virtual
    environment), and the user's.
    """
    import site
    import sysconfig

    paths = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    paths.update(getattr(site, "getsitepackages", list)())
    if site.ENABLE_USER_SITE:
        paths.add(site.getusersitepackages())
    return tuple(sorted(os.path.abspath(path) + os.sep for path in paths if path))


_TWISTED_DIRECTORY = _twistedDirectory()
_STANDARD_LIBRARY = os.path.dirname(os.path.abspath(os.__file__)) + os.sep
_INSTALLED = _installedDirectories()

#: The top-level packages of the libraries Twisted itself requires: their
#: frames are Twisted's doing, never the user's.
_TWISTED_RUNS_ON = frozenset(
    {
        "attr",
        "attrs",
        "automat",
        "constantly",
        "hyperlink",
        "incremental",
        "typing_extensions",
        "zope",
    }
)


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
        return f"{self.filename}:{self.lineno}"


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
    innermost frame outside trialnet, Twisted (with the libraries Twisted
    runs on, such as automat, whose state machines run a C{ClientService}),
    the standard library and the installed libraries (treq, say).

    Where no such frame is left but an installed library's (the user's own
    code, installed into the environment the tests run in), the innermost
    of those is named; when Twisted opened it from a reactor callback, with
    neither on the stack, the innermost frame outside trialnet.
    """
    frame = sys._getframe(1)
    first = installed = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PACKAGE_DIRECTORY):
            if first is None:
                first = frame
            if not _isTwisteds(frame, filename):
                if filename.startswith(_INSTALLED):
                    if installed is None:
                        installed = frame
                elif not filename.startswith((_STANDARD_LIBRARY, "<frozen")):
                    return Origin(filename, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    named = installed or first
    if named is None:
        return Origin("?", 0)
    return Origin(named.f_code.co_filename, named.f_lineno)


def _isTwisteds(frame: Any, filename: str) -> bool:
    """
    Whether a frame runs Twisted's code, or that of a library Twisted runs
    on.
    """
    if filename.startswith(_TWISTED_DIRECTORY):
        return True
    module = frame.f_globals.get("__name__")
    return isinstance(module, str) and module.partition(".")[0] in _TWISTED_RUNS_ON


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
    @ivar leftOpen: Whether it is named only because the test class asked
        for strict cleanup: the code under test left it open, and the
        teardown closed it (or cancelled it) in an orderly way.
    """

    role: str
    origin: Origin
    action: str
    kind: str = ""
    local: str = ""
    peer: str = ""
    cause: str = ""
    via: str = ""
    leftOpen: bool = False

    def asLeftOpen(self) -> Leftover:
        """
        This leftover as strict cleanup names what the code under test left
        open, before the teardown closes it: with no cause, since what
        could keep it open (a paused transport, bytes still buffered)
        matters only if it has to be aborted, and then the abort's own
        report, with its cause, takes this one's place.
        """
        return replace(self, cause="", leftOpen=True)

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
    something, or a port failed to stop; or, with strict cleanup, the code
    under test left something open.

    Every socket has been closed by the time this is raised; the error only
    names what did not close in an orderly way, and under strict cleanup
    what the code under test left open (each such leftover's C{leftOpen} is
    true).

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
        if self.waited is None:
            header = (
                f"trialnet: {_things(len(self.leftovers))} left open after the test:"
            )
            return _listed(header, self.leftovers)
        stuck = [leftover for leftover in self.leftovers if not leftover.leftOpen]
        leftOpen = [leftover for leftover in self.leftovers if leftover.leftOpen]
        parts = []
        if stuck:
            parts.append(
                f"{_things(len(stuck))} did not close in an orderly way "
                f"(waited {self.waited:.2f}s)"
            )
        if leftOpen:
            parts.append(
                f"{_things(len(leftOpen))} left open by the code under test "
                f"(strictCleanup); closed by the teardown"
            )
        return _listed(f"trialnet teardown: {'; '.join(parts)}:", stuck + leftOpen)


def _things(count: int) -> str:
    return f"{count} thing" if count == 1 else f"{count} things"


def _listed(header: str, leftovers: Sequence[Leftover]) -> str:
    lines = [header]
    lines.extend(f"  - {leftover}" for leftover in leftovers)
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
