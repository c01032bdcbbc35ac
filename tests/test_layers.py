"""
trialnet's modules import one another without a cycle: the layers contract
(C{.importlinter}, run by C{lint-imports}) keeps imports pointing down between
subpackages, and this test catches a cycle anywhere, inside one subpackage
too.  Imports under C{if TYPE_CHECKING:} and inside functions count.
"""

from __future__ import annotations

import os
import re

import grimp
from twisted.trial.unittest import SynchronousTestCase


def importCycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """
    Find the import cycles of a graph of modules: its strongly connected
    components of more than one module, and any module that imports itself.

    @param imports: For each module, the modules it imports.
    @return: Each cycle's modules, sorted; the cycles sorted.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    onStack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        # Tarjan's algorithm; the graph has some fifty modules, so the
        # recursion stays shallow.
        index[module] = low[module] = len(index)
        stack.append(module)
        onStack.add(module)
        for imported in imports.get(module, ()):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in onStack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                onStack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1 or module in imports.get(module, ()):
                cycles.append(sorted(component))

    for module in sorted(imports):
        if module not in index:
            visit(module)
    return sorted(cycles)


def trialnetImports() -> dict[str, set[str]]:
    """
    @return: For each module of the installed trialnet, the modules of
        trialnet it imports, type-checking imports included.
    """
    graph = grimp.build_graph("trialnet", exclude_type_checking_imports=False)
    return {
        module: set(graph.find_modules_directly_imported_by(module))
        for module in graph.modules
    }


class ImportCyclesTests(SynchronousTestCase):
    """
    The cycle finder, on small graphs, and on trialnet itself.
    """

    def test_noCycle(self) -> None:
        """
        A graph whose imports all point one way has no cycle.
        """
        self.assertEqual(importCycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}), [])

    def test_cycle(self) -> None:
        """
        Modules that import one another, directly or through others, form
        one cycle; a module outside it is not named.
        """
        self.assertEqual(
            importCycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}),
            [["a", "b", "c"]],
        )

    def test_selfImport(self) -> None:
        """
        A module that imports itself is a cycle of one.
        """
        self.assertEqual(importCycles({"a": {"a"}}), [["a"]])

    def test_trialnetHasNoCycle(self) -> None:
        """
        No module of trialnet imports, however indirectly, one that imports
        it back.
        """
        imports = trialnetImports()
        self.assertIn("trialnet._core._report", imports)
        self.assertEqual(importCycles(imports), [])


class TestCaseNameTests(SynchronousTestCase):
    """
    Each source module names its tests on its first line, in the header
    trial's C{--testmodule} reads, and nowhere else.
    """

    def test_everyModuleNamesItsTests(self) -> None:
        """
        The first line of each module of trialnet is one
        C{# -*- test-case-name: ... -*-} header; no later line is another;
        every module it names is a test module of the suite.
        """
        import importlib.util

        import trialnet

        root = os.path.dirname(trialnet.__file__)
        header = re.compile(r"# -\*- test-case-name: ([\w., ]+) -\*-$")
        for directory, _, names in os.walk(root):
            for name in sorted(n for n in names if n.endswith(".py")):
                path = os.path.join(directory, name)
                with open(path, encoding="utf-8") as source:
                    lines = source.read().splitlines()
                found = header.match(lines[0]) if lines else None
                self.assertIsNotNone(found, f"{path}: no test-case-name first")
                assert found is not None
                later = [line for line in lines[1:] if "test-case-name" in line]
                self.assertEqual(later, [], path)
                for module in found.group(1).split(","):
                    module = module.strip()
                    self.assertIsNotNone(
                        importlib.util.find_spec(module), f"{path}: {module}"
                    )
