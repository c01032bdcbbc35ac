"""
The links page of the docs shows only code the test command runs.
"""

# ruff: noqa: N999

from __future__ import annotations

import os
import re

from twisted.trial.unittest import SynchronousTestCase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")

_INCLUDE = re.compile(
    r"^\.\. literalinclude:: (\S+)\n((?:   :\S+: .*\n)*)", re.MULTILINE
)


class LinkDocsTests(SynchronousTestCase):
    """
    C{docs/links.rst} includes its examples from C{examples/}.
    """

    def test_includesExist(self) -> None:
        """
        Every block is a C{literalinclude} of a test module in C{examples/}
        whose markers are there, and there is no other code block.
        """
        with open(os.path.join(DOCS, "links.rst")) as page:
            text = page.read()
        includes = _INCLUDE.findall(text)
        self.assertGreaterEqual(len(includes), 5)
        for path, options in includes:
            full = os.path.normpath(os.path.join(DOCS, path))
            self.assertEqual(os.path.basename(os.path.dirname(full)), "examples")
            self.assertTrue(os.path.basename(full).startswith("test_"), path)
            with open(full) as example:
                source = example.read()
            for marker in re.findall(r":(?:start-after|end-before): (.*)", options):
                self.assertIn(marker, source)
        self.assertEqual(text.count("::\n"), 0)
        self.assertNotIn("code-block", text)
