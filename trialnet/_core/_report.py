# -*- test-case-name: tests.core.test_reportText,tests.core.test_origins -*-
"""
The leftover report: where each tracked thing was opened, and the error that
names whatever would not close.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from types import FrameType
from typing import NamedTuple

#: The directory of the whole package (whichever subpackage this module is
#: in): no frame inside it is the user's.
_PACKAGE_DIRECTORY = (
    os.path.dirname(
        os.path.abspath(sys.modules[__name__.partition(".")[0]].__file__ or "")
    )
    + os.sep
)

#: The top-level packages of the libraries Twisted itself runs on: their
#: frames are Twisted's doing, never the user's (automat runs the state
#: machine of a C{ClientService}).
_TWISTED_RUNS_ON = (
    "twisted",
    "attr",
    "attrs",
    "automat",
    "constantly",
    "hyperlink",
    "incremental",
    "typing_extensions",
    "zope",
)


def _locations(names: Sequence[str]) -> tuple[str, ...]:
    """
    Where the named top-level packages (or single-file modules) are: a
    directory ending in a separator, or a module's file.
    """
    found: list[str] = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            continue
        if spec.submodule_search_locations is not None:
            found.extend(
                os.path.abspath(path) + os.sep
                for path in spec.submodule_search_locations
            )
        elif spec.origin:
            found.append(os.path.abspath(spec.origin))
    return tuple(found)


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


#: Frames that are never the user's: Twisted's and the libraries it runs
#: on, then the standard library's (which may hold site-packages: installed
#: libraries are told apart before it).
_TWISTED = _locations(_TWISTED_RUNS_ON)
_INSTALLED = _installedDirectories()
_STANDARD_LIBRARY = (os.path.dirname(os.path.abspath(os.__file__)) + os.sep, "<frozen")


class Origin(NamedTuple):
    """
    The line of user code that opened a tracked thing, or handed it to
    C{track()}.

    A named tuple rather than a frozen dataclass: one is made for every port
    and connection, and a tuple is made in one step where a frozen
    dataclass sets each field through C{object.__setattr__}.

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


def userOrigin() -> Origin:
    """
    Find the line of the user's code that called trialnet, or made Twisted
    open something, on the stack as it is now (see L{_pickOrigin}).

    Shaped for speed (it runs for every port and connection): it is
    L{_pickOrigin} written out over the live frames, which it reads one at a
    time and only as far as the pick needs; each file is classified once
    (see L{_kindOf}), and only the frame it names has its line read (which
    decodes the code's line table).
    """
    frame: FrameType | None = sys._getframe(1)
    first = installed = None
    while frame is not None:
        filename = frame.f_code.co_filename
        kind = _kinds.get(filename)
        if kind is None:
            kind = _kindOf(filename)
        if kind == _USER:
            return Origin(filename, frame.f_lineno)
        if kind != _OURS:
            if first is None:
                first = frame
            if kind == _INSTALLED_LIBRARY and installed is None:
                installed = frame
        frame = frame.f_back
    picked = installed or first
    if picked is None:
        return UNKNOWN_ORIGIN
    return Origin(picked.f_code.co_filename, picked.f_lineno)


# What _kindOf says of a source file: trialnet's own, Twisted's or the
# standard library's (never the user's), an installed library's, the user's.
_OURS, _LIBRARY, _INSTALLED_LIBRARY, _USER = range(4)

#: What L{_kindOf} said of each source file seen: a dictionary lookup in
#: place of four prefix comparisons for every frame of every origin.
_kinds: dict[str, int] = {}

#: How many files L{_kinds} remembers before it starts again (code compiled
#: at run time can have a name of its own each time).
_KINDS_KEPT = 4096


def _kindOf(filename: str) -> int:
    """
    Whose code the source file C{filename} is, for an origin: trialnet's,
    a library's (Twisted and what it runs on, the standard library), an
    installed library's (told apart before the standard library, which may
    hold the site-packages), or the user's; remembered in L{_kinds}.
    """
    if filename.startswith(_PACKAGE_DIRECTORY):
        kind = _OURS
    elif filename.startswith(_TWISTED):
        kind = _LIBRARY
    elif filename.startswith(_INSTALLED):
        kind = _INSTALLED_LIBRARY
    elif filename.startswith(_STANDARD_LIBRARY):
        kind = _LIBRARY
    else:
        kind = _USER
    if len(_kinds) >= _KINDS_KEPT:
        _kinds.clear()
    _kinds[filename] = kind
    return kind


def allocationOrigin(*things: object) -> Origin:
    """
    Find the line of the user's code that made something, from its own
    history: where C{tracemalloc}, if it was tracing then, saw the first of
    C{things} it knows allocated (a selectable, then its socket: Python 3.11
    has no history of objects with a managed dictionary), picked as
    L{_pickOrigin} does.

    @return: That line, or L{UNKNOWN_ORIGIN} when nothing recorded it.
    """
    import tracemalloc

    for thing in things:
        traceback = tracemalloc.get_object_traceback(thing)
        if traceback is not None:
            break
    else:
        return UNKNOWN_ORIGIN
    # Oldest frame first: look from the innermost outwards.
    frames = ((frame.filename, frame.lineno) for frame in reversed(traceback))
    return _pickOrigin(frames) or UNKNOWN_ORIGIN


def _pickOrigin(frames: Iterable[tuple[str, int]]) -> Origin | None:
    """
    The line of the user's code among C{frames} (innermost first), the one
    rule for every origin: the innermost outside trialnet, Twisted (with the
    libraries Twisted runs on), the standard library and the installed
    libraries (treq, say).  Where none is left but an installed library's
    (the user's own code, installed into the environment the tests run in),
    the innermost of those; when Twisted opened it from a reactor callback,
    with neither on the stack, the innermost frame outside trialnet; None
    for no frame at all.
    """
    first = installed = None
    for filename, lineno in frames:
        kind = _kinds.get(filename)
        if kind is None:
            kind = _kindOf(filename)
        if kind == _USER:
            return Origin(filename, lineno)
        if kind != _OURS:
            if first is None:
                first = Origin(filename, lineno)
            if kind == _INSTALLED_LIBRARY and installed is None:
                installed = Origin(filename, lineno)
    return installed or first


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


#: The steps of trialnet that a L{TeardownError} may come from.
TEARDOWN_STEP = "trialnet teardown"
LATE_STEP = (
    "trialnet, after tearDown, closing what was first opened in tearDown "
    "(not the test's own tearDown failing)"
)
SCAN_STEP = (
    "trialnet's last check, after tearDown, of the reactor's sockets that "
    "trialnet could not see opened (not the test's own tearDown failing)"
)


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
        C{None} where that is not known.
    @ivar step: Which of trialnet's steps found them, as the error's text
        begins: the test's teardown (a cleanup), or one of the steps trialnet
        runs after C{tearDown}, which a traceback through trial's
        C{tearDown} would otherwise seem to blame on the test's own.
    """

    def __init__(
        self,
        leftovers: Sequence[Leftover],
        waited: float | None = None,
        step: str = TEARDOWN_STEP,
    ) -> None:
        self.leftovers = tuple(leftovers)
        self.waited = waited
        self.step = step
        super().__init__(self._describe())

    def _describe(self) -> str:
        stuck = [leftover for leftover in self.leftovers if not leftover.leftOpen]
        leftOpen = [leftover for leftover in self.leftovers if leftover.leftOpen]
        parts = []
        if stuck:
            waited = "" if self.waited is None else f" (waited {self.waited:.2f}s)"
            parts.append(
                f"{_things(len(stuck))} did not close in an orderly way{waited}"
            )
        if leftOpen:
            parts.append(
                f"{_things(len(leftOpen))} left open by the code under test "
                f"(strictCleanup); closed by the teardown"
            )
        return _listed(f"{self.step}: {'; '.join(parts)}:", stuck + leftOpen)


def _things(count: int) -> str:
    return f"{count} thing" if count == 1 else f"{count} things"


def _listed(header: str, leftovers: Sequence[Leftover]) -> str:
    lines = [header]
    lines.extend(f"  - {leftover}" for leftover in leftovers)
    return "\n".join(lines)
