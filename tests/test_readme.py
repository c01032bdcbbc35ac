"""
The README's code runs: each of its Python blocks is run as a module of
trial tests, into a result that must show them passing.
"""

from __future__ import annotations

import os
import types
import unittest

from docutils import nodes
from docutils.core import publish_doctree
from twisted.trial.reporter import TestResult
from twisted.trial.runner import TestLoader
from twisted.trial.unittest import SynchronousTestCase

README = os.path.join(os.path.dirname(os.path.dirname(__file__)), "README.rst")

#: Languages of blocks that are commands to type, not code to run.
COMMANDS = {"sh", "console"}


def codeBlocks(text: str) -> list[tuple[str, str]]:
    """
    The literal blocks of a reStructuredText document.

    @return: For each block, in order, its language (C{""} for none) and its
        text.
    """
    document = publish_doctree(
        text, settings_overrides={"report_level": 5, "syntax_highlight": "none"}
    )
    blocks = []
    for block in document.findall(nodes.literal_block):
        classes = [name for name in block["classes"] if name != "code"]
        blocks.append((classes[0] if classes else "", block.astext()))
    return blocks


def runBlock(source: str, name: str) -> TestResult:
    """
    Run the trial tests that a block of Python defines, as a module of its
    own, into a fresh result.
    """
    namespace = types.ModuleType(name).__dict__
    exec(compile(source, name, "exec"), namespace)
    loader = TestLoader()
    result = TestResult()
    for value in list(namespace.values()):
        if (
            isinstance(value, type)
            and issubclass(value, unittest.TestCase)
            and value.__module__ == name
        ):
            loader.loadClass(value).run(result)
    return result


def readme() -> str:
    with open(README, encoding="utf-8") as f:
        return f.read()


class ReadmeTests(SynchronousTestCase):
    """
    Every Python block of the README is run, and passes.
    """

    def test_blocksFound(self) -> None:
        """
        The README has Python blocks, and every block is either Python or
        commands: a block of another kind would not be run.
        """
        blocks = codeBlocks(readme())
        self.assertIn("python", [language for language, _ in blocks])
        for language, text in blocks:
            self.assertIn(language, {"python"} | COMMANDS, text)

    def test_blocksPass(self) -> None:
        """
        Each Python block defines trial tests, and they pass.
        """
        blocks = [
            text for language, text in codeBlocks(readme()) if language == "python"
        ]
        for number, text in enumerate(blocks, 1):
            result = runBlock(text, f"readme_block_{number}")
            problems = result.errors + result.failures
            self.assertEqual(problems, [], text)
            self.assertGreater(result.testsRun, 0, f"block {number} ran no test")
            self.assertTrue(result.wasSuccessful(), text)

    def test_ciCommand(self) -> None:
        """
        The quick start shows the command that CI runs, verbatim.
        """
        ci = os.path.join(os.path.dirname(README), ".ci", "run")
        with open(ci, encoding="utf-8") as f:
            command = f.read().rstrip().splitlines()[-1]
        self.assertIn(("sh", command), codeBlocks(readme()))

    def test_installFromCheckout(self) -> None:
        """
        The quick start installs trialnet, with its C{tls} extra, from a
        checkout, in the form C{packaging/check-installed.sh} runs, and never
        by a bare name: the package is not published.
        """
        commands = [text for language, text in codeBlocks(readme()) if language == "sh"]
        self.assertIn("pip install '/path/to/trialnet[tls]' ", "\n".join(commands))
        for text in commands:
            self.assertNotRegex(text, r"pip install (-q )?'?trialnet\b")
        script = os.path.join(
            os.path.dirname(README), "packaging", "check-installed.sh"
        )
        with open(script, encoding="utf-8") as f:
            self.assertIn("/path/to/trialnet", f.read())

    def test_noTypeIgnore(self) -> None:
        """
        The README's code needs no C{# type: ignore}.
        """
        self.assertNotIn("type: ignore", readme())


class HarnessTests(SynchronousTestCase):
    """
    The harness fails a block that stops working, and one that runs nothing.
    """

    def test_failingBlock(self) -> None:
        """
        A block whose test fails gives a result with that failure.
        """
        source = (
            "from trialnet import NetworkTestCase\n"
            "class T(NetworkTestCase):\n"
            "    def test_it(self) -> None:\n"
            "        self.assertEqual(1, 2)\n"
        )
        result = runBlock(source, "failing")
        self.assertEqual((result.testsRun, len(result.failures)), (1, 1))

    def test_undefinedName(self) -> None:
        """
        A block that uses a name it never defined (the README's old first
        block did) fails when it runs.
        """
        source = (
            "from twisted.internet.protocol import Factory\n"
            "from trialnet import NetworkTestCase\n"
            "class T(NetworkTestCase):\n"
            "    async def test_it(self) -> None:\n"
            "        self.listen(Factory.forProtocol(Echo))\n"
        )
        result = runBlock(source, "undefined")
        self.assertEqual((result.testsRun, len(result.errors)), (1, 1))

    def test_noTests(self) -> None:
        """
        A block that defines no test runs none, which the README test
        counts as a failure.
        """
        self.assertEqual(runBlock("x = 1\n", "empty").testsRun, 0)

    def test_untaggedBlock(self) -> None:
        """
        A literal block with no language is found, and found untagged.
        """
        text = (
            "Title\n=====\n\n::\n\n    x = 1\n\n.. code-block:: python\n\n    y = 2\n"
        )
        self.assertEqual(codeBlocks(text), [("", "x = 1"), ("python", "y = 2")])
