"""
trialnet: end-to-end tests of Twisted network code that clean up after
themselves.

Inherit L{NetworkTestCase}, call C{self.listen()} and C{self.connect()}, and
every port, connection attempt and connection end is closed, waited for and,
after a bound, aborted and reported by name.  L{Network} is the same without
a test case.
"""

from ._case import NetworkTestCase
from ._conversation import (
    ClosedWhileWaitingError,
    Recorder,
    RecorderFactory,
    WaitTimeoutError,
)
from ._datagrams import DatagramLink
from ._interfaces import (
    INetwork,
    INetworkLinks,
    INetworkOpening,
    INetworkWaits,
    IUDPPort,
)
from ._links import Link
from ._network import Network
from ._report import TeardownError
from ._tls import TLSAuthority

__all__ = [
    "ClosedWhileWaitingError",
    "DatagramLink",
    "INetwork",
    "INetworkLinks",
    "INetworkOpening",
    "INetworkWaits",
    "IUDPPort",
    "Link",
    "Network",
    "NetworkTestCase",
    "Recorder",
    "RecorderFactory",
    "TLSAuthority",
    "TeardownError",
    "WaitTimeoutError",
]
