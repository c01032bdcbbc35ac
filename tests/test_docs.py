"""
The documentation's code runs: every code block of the pages in C{docs/} is
a C{literalinclude} of a file the suite runs or mypy checks, and the pytest
example runs under pytest.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")

#: Directives that would put code on a page that nothing runs.
_INLINE_CODE = re.compile(
    r"^\s*\.\.\s+(code-block|code|sourcecode|testcode|doctest)::", re.MULTILINE
)
_INCLUDE = re.compile(r"^\s*\.\.\s+literalinclude::\s*(\S+)", re.MULTILINE)


def pages() -> list[str]:
    """
    The paths of the documentation's pages.
    """
    found: list[str] = []
    for directory, _, names in os.walk(DOCS):
        if "_build" in directory:
            continue
        found.extend(
            os.path.join(directory, name) for name in names if name.endswith(".rst")
        )
    return sorted(found)


def isRun(path: str) -> bool:
    """
    Whether the suite runs (or, for the project's configuration, mypy reads)
    the file at C{path}: an example module that trial, or the pytest example
    test below, collects.
    """
    relative = os.path.relpath(path, ROOT)
    if relative == "pyproject.toml":
        return True
    directory, name = os.path.split(relative)
    return directory == "examples" and (
        re.fullmatch(r"(test|pytest)_\w+\.py", name) is not None
    )


class PagesTests(SynchronousTestCase):
    """
    The pages show only code that the test command runs.
    """

    def test_pagesFound(self) -> None:
        """
        The pages are where this test looks for them.
        """
        self.assertIn(os.path.join(DOCS, "index.rst"), pages())

    def test_noInlineCode(self) -> None:
        """
        No page holds a code block of its own: code comes from files the
        suite runs.
        """
        for page in pages():
            with open(page, encoding="utf-8") as f:
                found = _INLINE_CODE.findall(f.read())
            self.assertEqual(found, [], page)

    def test_includesAreRun(self) -> None:
        """
        Every C{literalinclude} names an example that the suite runs, and
        the pages include at least one.
        """
        included = []
        for page in pages():
            with open(page, encoding="utf-8") as f:
                for target in _INCLUDE.findall(f.read()):
                    path = os.path.normpath(os.path.join(os.path.dirname(page), target))
                    self.assertTrue(os.path.isfile(path), f"{page}: {target}")
                    self.assertTrue(isRun(path), f"{page}: {target} is not run")
                    included.append(path)
        self.assertIn(os.path.join(ROOT, "examples", "pytest_echo.py"), included)


class ExamplesTests(SynchronousTestCase):
    """
    The examples are what users copy: they type-check as they are.
    """

    def test_noTypeIgnore(self) -> None:
        """
        No example silences the type checker (the marker is assembled here,
        so this file does not count as one).
        """
        marker = "type" + ": ignore"
        directory = os.path.join(ROOT, "examples")
        silenced = []
        for name in sorted(os.listdir(directory)):
            if name.endswith(".py"):
                with open(os.path.join(directory, name), encoding="utf-8") as f:
                    for number, line in enumerate(f, 1):
                        if marker in line:
                            silenced.append(f"{name}:{number}")
        self.assertEqual(silenced, [])


class PytestExampleTests(SynchronousTestCase):
    """
    The pytest page's example passes under pytest-twisted.
    """

    def test_passes(self) -> None:
        """
        pytest runs both tests of C{examples/pytest_echo.py}, and both pass.
        """
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                os.path.join(ROOT, "examples", "pytest_echo.py"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = completed.stdout + completed.stderr
        self.assertEqual(completed.returncode, 0, output)
        self.assertRegex(output, r"\b2 passed\b")
