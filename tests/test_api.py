"""
The public API is declared twice, once for the documentation (the zope
interfaces of L{trialnet._interfaces}) and once for the types, with the
bodies (L{trialnet._front.NetworkAPI}); these tests prove the two agree.
"""

from __future__ import annotations

import inspect
from typing import Any

from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import Interface
from zope.interface.interface import InterfaceClass, Method
from zope.interface.verify import verifyObject

import trialnet
from trialnet._front import NetworkAPI

from .helpers import closedNetwork

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
    inspect.Parameter.VAR_POSITIONAL: "varargs",
    inspect.Parameter.KEYWORD_ONLY: "keyword-only",
    inspect.Parameter.VAR_KEYWORD: "kwargs",
}


def declared(interface: InterfaceClass, name: str) -> list[tuple[str, str, Any]]:
    """
    The parameters of the method C{name} as C{interface} (or one it
    extends) declares it: C{(name, kind, default)} each, in order, with
    C{inspect.Parameter.empty} for no default.
    """
    info = interface[name].getSignatureInfo()
    optional = info["optional"]
    parameters = [
        (parameter, "positional", optional.get(parameter, inspect.Parameter.empty))
        for parameter in info["positional"]
    ]
    if info["varargs"]:
        parameters.append((info["varargs"], "varargs", inspect.Parameter.empty))
    if info["kwargs"]:
        parameters.append((info["kwargs"], "kwargs", inspect.Parameter.empty))
    return parameters


def typed(implementation: type, name: str) -> list[tuple[str, str, Any]]:
    """
    The parameters of the method C{name} of C{implementation}, without
    C{self}, in the form of L{declared}.
    """
    signature = inspect.signature(getattr(implementation, name))
    return [
        (parameter.name, _KINDS[parameter.kind], parameter.default)
        for parameter in list(signature.parameters.values())[1:]
    ]


def disagreements(interface: InterfaceClass, implementation: type) -> list[str]:
    """
    Every way the methods of C{interface} (its own and those of the
    interfaces it extends) and those of C{implementation} differ: a method
    missing on either side, or a parameter whose name, kind or default
    differs.
    """
    methods = {
        name
        for name in interface.names(all=True)
        if isinstance(interface[name], Method)
    }
    public = {
        name
        for name, value in inspect.getmembers(implementation)
        if not name.startswith("_") and inspect.isfunction(value)
    }
    found = [f"{name}: not declared" for name in sorted(public - methods)]
    found.extend(f"{name}: not implemented" for name in sorted(methods - public))
    for name in sorted(methods & public):
        documented, implemented = declared(interface, name), typed(implementation, name)
        if documented != implemented:
            found.append(f"{name}: {documented} != {implemented}")
    return found


class IExample(Interface):
    """
    An interface for the checker's own tests.
    """

    # zope.interface declares methods without self.
    def open(port: int = 0, interface: str = "127.0.0.1") -> None:  # noqa: N805
        """
        Open.
        """


class AgreementTests(SynchronousTestCase):
    """
    The interfaces and the typed mixin declare the same methods, with the
    same parameters and defaults.
    """

    def test_interfaceAndMixinAgree(self) -> None:
        """
        Every method of L{trialnet.INetwork}, its own or declared by the
        interfaces it extends, is a method of the typed mixin with the same
        parameter names, kinds and defaults, and the mixin has no public
        method the interface does not declare.
        """
        self.assertEqual(disagreements(trialnet.INetwork, NetworkAPI), [])

    def test_bothFrontsUseTheMixin(self) -> None:
        """
        L{trialnet.Network} and L{trialnet.NetworkTestCase} take every method
        of the API from the mixin, and both provide the interface.
        """
        for front in (trialnet.Network, trialnet.NetworkTestCase):
            self.assertTrue(issubclass(front, NetworkAPI), front)
            for name in trialnet.INetwork.names(all=True):
                if isinstance(trialnet.INetwork[name], Method):
                    self.assertIs(getattr(front, name), getattr(NetworkAPI, name), name)
        verifyObject(trialnet.INetwork, closedNetwork(self))
        verifyObject(trialnet.INetwork, trialnet.NetworkTestCase())

    def test_noHooksOnTheFronts(self) -> None:
        """
        The public methods of L{trialnet.Network} are the interface's and
        C{close}; those of L{trialnet.NetworkTestCase} add only trial's own.
        """
        api = set(trialnet.INetwork.names(all=True))
        extra = {
            name
            for name, value in vars(trialnet.Network).items()
            if callable(value) and not name.startswith("_")
        }
        self.assertEqual(extra - api, {"close"})
        own = {
            name
            for name, value in vars(trialnet.NetworkTestCase).items()
            if callable(value) and not name.startswith("_")
        }
        # Trial's own methods, overridden: its run, and its lookups of the
        # test's timeout, skip and todo.
        self.assertEqual(own - api, {"run", "getTimeout", "getSkip", "getTodo"})
        for name in own - api:
            self.assertTrue(callable(getattr(TestCase, name, None)), name)

    def test_differentDefaultFound(self) -> None:
        """
        A default that differs between the interface and the implementation
        is reported.
        """

        class Example:
            def open(self, port: int = 0, interface: str = "::1") -> None:
                pass

        self.assertEqual(
            disagreements(IExample, Example),
            [
                "open: [('port', 'positional', 0), ('interface', 'positional', "
                "'127.0.0.1')] != [('port', 'positional', 0), ('interface', "
                "'positional', '::1')]"
            ],
        )

    def test_differentNameOrKindFound(self) -> None:
        """
        A parameter renamed, or made keyword-only, in the implementation is
        reported.
        """

        class Renamed:
            def open(self, number: int = 0, interface: str = "127.0.0.1") -> None:
                pass

        class KeywordOnly:
            def open(self, port: int = 0, *, interface: str = "127.0.0.1") -> None:
                pass

        self.assertEqual(len(disagreements(IExample, Renamed)), 1)
        self.assertEqual(len(disagreements(IExample, KeywordOnly)), 1)

    def test_missingMethodFound(self) -> None:
        """
        A method the interface declares and the implementation lacks, or the
        reverse, is reported.
        """

        class Missing:
            pass

        class Extra:
            def open(self, port: int = 0, interface: str = "127.0.0.1") -> None:
                pass

            def shut(self) -> None:
                pass

        self.assertEqual(disagreements(IExample, Missing), ["open: not implemented"])
        self.assertEqual(disagreements(IExample, Extra), ["shut: not declared"])
