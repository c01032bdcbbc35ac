"""
The public names are the real objects.
"""

from __future__ import annotations

import os
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementedBy
from zope.interface.interface import Method
from zope.interface.verify import verifyObject

import trialnet
from trialnet._case import NetworkTestCase
from trialnet._core._report import TeardownError
from trialnet._core._threads import LeftThreadWarning
from trialnet._interfaces import INetwork, INetworkLinks, INetworkOpening, INetworkWaits
from trialnet._links._datagrams import DatagramLink
from trialnet._links._links import Link
from trialnet._network import Network
from trialnet._processes._server import ServerProcess, ServerProcessError
from trialnet._sockets._interfaces import IUDPPort
from trialnet._sockets._tls import TLSAuthority
from trialnet._time._clock import LivelockWarning, RunawayTimeError
from trialnet._waits._conversation import (
    ClosedWhileWaitingError,
    Recorder,
    RecorderFactory,
    WaitTimeoutError,
)

from .helpers import closedNetwork

#: The project, first on the path of a fresh interpreter.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ExportTests(SynchronousTestCase):
    """
    C{trialnet} exports exactly its public API.
    """

    def test_allNamesAreTheImplementations(self) -> None:
        """
        Each name in C{__all__} is the object from its private module.
        """
        self.assertEqual(
            {name: getattr(trialnet, name) for name in trialnet.__all__},
            {
                "ClosedWhileWaitingError": ClosedWhileWaitingError,
                "DatagramLink": DatagramLink,
                "INetwork": INetwork,
                "INetworkLinks": INetworkLinks,
                "INetworkOpening": INetworkOpening,
                "INetworkWaits": INetworkWaits,
                "IUDPPort": IUDPPort,
                "LeftThreadWarning": LeftThreadWarning,
                "Link": Link,
                "LivelockWarning": LivelockWarning,
                "Network": Network,
                "NetworkTestCase": NetworkTestCase,
                "TeardownError": TeardownError,
                "Recorder": Recorder,
                "RecorderFactory": RecorderFactory,
                "RunawayTimeError": RunawayTimeError,
                "ServerProcess": ServerProcess,
                "ServerProcessError": ServerProcessError,
                "TLSAuthority": TLSAuthority,
                "WaitTimeoutError": WaitTimeoutError,
            },
        )

    def test_publicNamesDocumented(self) -> None:
        """
        Every public name and every public method of theirs has a docstring.
        """
        undocumented = []
        for name in trialnet.__all__:
            exported = getattr(trialnet, name)
            if not exported.__doc__:
                undocumented.append(name)
            declared = (
                {
                    method
                    for interface in implementedBy(exported)
                    for method in interface.names(all=True)
                    if interface[method].__doc__
                }
                if isinstance(exported, type)
                else set()
            )
            for attribute, value in vars(exported).items():
                public = callable(value) and not attribute.startswith("_")
                if public and not value.__doc__ and attribute not in declared:
                    undocumented.append(f"{name}.{attribute}")
        self.assertEqual(undocumented, [])

    def test_oneInterface(self) -> None:
        """
        L{trialnet.Network} and L{trialnet.NetworkTestCase} both provide the
        one public interface, L{trialnet.INetwork}, whose every method and
        attribute, its own or declared by the interfaces it extends, is
        documented.
        """
        verifyObject(trialnet.INetwork, closedNetwork(self))
        verifyObject(trialnet.INetwork, trialnet.NetworkTestCase())
        names = trialnet.INetwork.names(all=True)
        # names() alone gives only INetwork's own names, its attributes.
        self.assertIn("listen", names)
        for name in names:
            self.assertTrue(trialnet.INetwork[name].__doc__, name)

    def test_interfaceBySubject(self) -> None:
        """
        L{trialnet.INetwork} extends one interface a subject, which declare
        its methods, each once; its own names are its attributes.
        """
        parts = (
            trialnet.INetworkOpening,
            trialnet.INetworkWaits,
            trialnet.INetworkLinks,
        )
        self.assertEqual(trialnet.INetwork.__bases__, parts)
        declared = [
            name
            for interface in (trialnet.INetwork, *parts)
            for name in interface.names()
        ]
        self.assertEqual(len(declared), len(set(declared)))
        methods = [
            name
            for name in trialnet.INetwork.names()
            if isinstance(trialnet.INetwork[name], Method)
        ]
        self.assertEqual(methods, [])


class ImportTests(SynchronousTestCase):
    """
    What importing trialnet costs every test module that does.
    """

    def test_noWebUntilHTTP(self) -> None:
        """
        Importing trialnet imports no part of twisted.web: the tests that use
        C{agent()} or C{url()} import it when they do.
        """
        script = (
            "import sys, trialnet; "
            "print(sorted(m for m in sys.modules if m.startswith('twisted.web')))"
        )
        output = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, PYTHONPATH=ROOT),
        ).stdout
        self.assertEqual(output.strip(), "[]")
