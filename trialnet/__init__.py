# -*- test-case-name: tests.test_exports -*-
"""
trialnet: end-to-end tests of Twisted network code that clean up after
themselves.

Inherit L{NetworkTestCase}, call C{self.listen()} and C{self.connect()}, and
every port, connection attempt and connection end is closed, waited for and,
after a bound, aborted and reported by name.  L{Network} is the same without
a test case.
"""

from ._case import NetworkTestCase
from ._core._report import TeardownError
from ._core._threads import LeftThreadWarning
from ._interfaces import INetwork, INetworkLinks, INetworkOpening, INetworkWaits
from ._links._datagrams import DatagramLink
from ._links._links import Link
from ._network import Network
from ._processes._server import ServerProcess, ServerProcessError
from ._sockets._interfaces import IUDPPort
from ._sockets._tls import TLSAuthority
from ._time._clock import LivelockWarning, RunawayTimeError
from ._waits._conversation import (
    ClosedWhileWaitingError,
    Recorder,
    RecorderFactory,
    WaitTimeoutError,
)

__all__ = [
    "ClosedWhileWaitingError",
    "DatagramLink",
    "INetwork",
    "INetworkLinks",
    "INetworkOpening",
    "INetworkWaits",
    "IUDPPort",
    "LeftThreadWarning",
    "Link",
    "LivelockWarning",
    "Network",
    "NetworkTestCase",
    "Recorder",
    "RecorderFactory",
    "RunawayTimeError",
    "ServerProcess",
    "ServerProcessError",
    "TLSAuthority",
    "TeardownError",
    "WaitTimeoutError",
]
