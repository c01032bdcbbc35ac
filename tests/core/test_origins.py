"""
The origin of what a test opened skips every frame inside trialnet, in its
top-level modules and in each of its subpackages alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from twisted.trial.unittest import SynchronousTestCase

import trialnet
from trialnet._core import _report
from trialnet._links import _relay
from trialnet._sockets import _opening


def thisFile() -> str:
    """
    @return: The source file of this module.
    """
    return __file__.replace(".pyc", ".py")


def inside(module: str, call: Callable[[], _report.Origin]) -> _report.Origin:
    """
    Call C{call} from a frame whose code is in the file C{module} (a path
    inside trialnet), as a function of that module would.

    @return: What C{call} returned.
    """
    namespace: dict[str, object] = {"call": call}
    code = compile("def fromInside():\n    return call()\n", module, "exec")
    exec(code, namespace)
    fromInside = namespace["fromInside"]
    assert callable(fromInside)
    result = fromInside()
    assert isinstance(result, _report.Origin)
    return result


class PackageDirectoryTests(SynchronousTestCase):
    """
    The directory whose frames an origin skips is the whole package's.
    """

    def test_packageRoot(self) -> None:
        """
        It is the directory of C{trialnet/__init__.py}, not of the
        subpackage the report module is in.
        """
        self.assertEqual(
            _report._PACKAGE_DIRECTORY,
            os.path.dirname(os.path.abspath(trialnet.__file__)) + os.sep,
        )


class OriginSkipsSubpackagesTests(SynchronousTestCase):
    """
    A frame in any subpackage of trialnet is never the origin.
    """

    def test_userOriginSkipsSubpackageFrame(self) -> None:
        """
        C{userOrigin} called from a frame in C{trialnet._sockets} names this
        test's line, the first frame outside the package.
        """
        line = inside(_opening.__file__, _report.userOrigin)
        self.assertEqual(line.filename, thisFile())

    def test_pickSkipsSubpackageFrames(self) -> None:
        """
        Of a stack whose innermost frames are in C{trialnet._links} and
        C{trialnet._sockets}, the origin is the first frame outside them.
        """
        origin = _report._pickOrigin(
            [(_relay.__file__, 10), (_opening.__file__, 20), (thisFile(), 30)]
        )
        self.assertEqual(origin, _report.Origin(thisFile(), 30))


class FileKindsTests(SynchronousTestCase):
    """
    Each source file is classified once, in a table of bounded size.
    """

    def test_kindRemembered(self) -> None:
        """
        The file of the line an origin names is remembered as the user's.
        """
        _report._kinds.pop(thisFile(), None)
        _report.userOrigin()
        self.assertEqual(_report._kinds.get(thisFile()), _report._USER)

    def test_tableBounded(self) -> None:
        """
        A table holding L{_report._KINDS_KEPT} files starts again at the next
        file, rather than growing with code compiled at run time.
        """
        saved = dict(_report._kinds)
        self.addCleanup(_report._kinds.update, saved)
        _report._kinds.clear()
        _report._kinds.update(
            (f"<generated {number}>", _report._USER)
            for number in range(_report._KINDS_KEPT)
        )
        origin = inside(os.path.join(os.sep, "elsewhere", "new.py"), _report.userOrigin)
        self.assertEqual(origin.filename, os.path.join(os.sep, "elsewhere", "new.py"))
        self.assertEqual(
            _report._kinds, {os.path.join(os.sep, "elsewhere", "new.py"): _report._USER}
        )

    def test_cachedKindSameOrigin(self) -> None:
        """
        A file already in the table gives the same origin as a first look:
        a trialnet frame is still passed over.
        """
        _report._kinds.pop(_opening.__file__, None)
        _report._kinds.pop(thisFile(), None)
        first = inside(_opening.__file__, _report.userOrigin)
        again = inside(_opening.__file__, _report.userOrigin)
        self.assertEqual(first.filename, thisFile())
        self.assertEqual(again.filename, thisFile())
        self.assertEqual(_report._kinds[_opening.__file__], _report._OURS)
