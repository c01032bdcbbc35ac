"""
The release notes: C{CHANGES.rst} is valid reStructuredText, and the
fragments in C{newsfragments/} are named as towncrier expects and build
into valid reStructuredText.
"""

from __future__ import annotations

import configparser
import io
import os
import re
import subprocess
import sys

from docutils.core import publish_doctree
from twisted.trial.unittest import SynchronousTestCase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAGMENTS = os.path.join(ROOT, "newsfragments")
TYPES = ("feature", "bugfix", "doc", "removal", "misc")
_FRAGMENT = re.compile(r"(\d+|\+\w+)\.(" + "|".join(TYPES) + r")\.rst")


def checkRST(text: str, what: str) -> None:
    """
    Parse C{text}, raising docutils' C{SystemMessage} at its first warning.
    """
    publish_doctree(
        text,
        settings_overrides={
            "halt_level": 2,
            "report_level": 2,
            "warning_stream": io.StringIO(),
        },
        source_path=what,
    )


def version() -> str:
    """
    The release that C{setup.cfg} prepares (C{0.1.0} for C{0.1.0.dev0}).
    """
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "setup.cfg"))
    return re.sub(r"\.dev\d+$", "", config["metadata"]["version"])


def fragments() -> list[str]:
    """
    The names of the files in C{newsfragments/}, but its README.
    """
    return sorted(name for name in os.listdir(FRAGMENTS) if name != "README.rst")


class ChangesTests(SynchronousTestCase):
    """
    The release notes build.
    """

    def test_changesValid(self) -> None:
        """
        C{CHANGES.rst} parses without a warning and holds the marker where
        towncrier adds each release.
        """
        with open(os.path.join(ROOT, "CHANGES.rst"), encoding="utf-8") as f:
            text = f.read()
        checkRST(text, "CHANGES.rst")
        self.assertIn("\n.. towncrier release notes start\n", text)

    def test_fragmentNames(self) -> None:
        """
        Every fragment is named C{ISSUE.TYPE.rst} or C{+NAME.TYPE.rst} with a
        type towncrier knows: a misnamed one would be left out of the notes.
        """
        for name in fragments():
            self.assertIsNotNone(_FRAGMENT.fullmatch(name), name)

    def test_draft(self) -> None:
        """
        C{towncrier build --draft} renders every fragment for the next
        release, as valid reStructuredText, and writes nothing.
        """
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "towncrier",
                "build",
                "--draft",
                "--version",
                version(),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(completed.returncode, 0, completed.stderr)
        # towncrier says what it does on stderr, and prints the notes.
        notes = completed.stdout
        self.assertIn(f"{version()} (", notes)
        checkRST("Changes\n=======\n\n" + notes, "draft")
        for name in fragments():
            if ".misc." in name:
                continue
            with open(os.path.join(FRAGMENTS, name), encoding="utf-8") as f:
                firstLine = f.readline().strip()
            self.assertIn(firstLine, notes, name)
