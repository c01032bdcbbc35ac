# -*- test-case-name: tests.test_exports -*-
"""
The interfaces of trialnet: its public API (L{INetwork}), written once for
L{trialnet.Network} and L{trialnet.NetworkTestCase}, and the types it hands
out (L{IUDPPort<trialnet.IUDPPort>}, declared with the sockets that make
it).  L{INetwork} declares its methods by subject in the
interfaces it extends, each in a module of its own:
L{INetworkOpening<trialnet._iopening.INetworkOpening>},
L{INetworkWaits<trialnet._iwaits.INetworkWaits>} and
L{INetworkLinks<trialnet._ilinks.INetworkLinks>}.
"""

from __future__ import annotations

from zope.interface import Attribute

from ._ilinks import INetworkLinks
from ._iopening import INetworkOpening
from ._iwaits import INetworkWaits


class INetwork(INetworkOpening, INetworkWaits, INetworkLinks):
    """
    The public API of L{trialnet.Network} and L{trialnet.NetworkTestCase}:
    open ports and connections that close by themselves.

    Its methods are declared by subject in the three interfaces it extends,
    and documented there: L{INetworkOpening} opens ports, connections,
    endpoints and an HTTP client, and adopts what was opened by other means;
    L{INetworkWaits} waits for what happens on the connections; and
    L{INetworkLinks} puts a bad network in front of a port.  The attributes
    are this interface's own: the teardown's bound and strictness, whether
    the waits fail fast, and the TLS authority.

    Everything opened through it, adopted with
    L{track<trialnet.INetworkOpening.track>}, or opened by the code under
    test on the reactor while it is open (C{listenTCP}, C{connectTCP},
    C{listenSSL}, C{connectSSL}, C{listenUNIX}, C{connectUNIX},
    C{listenUDP}, and so endpoints, strports, an C{Agent}, PB and services)
    joins one teardown: ports stop listening, connection attempts stop,
    every connection end is closed, and all of it is waited for, for at
    most C{disconnectTimeout} seconds before what is left is aborted and
    reported.
    """

    disconnectTimeout = Attribute(
        "Seconds allowed for an orderly close before the teardown aborts what "
        "is left (5 by default)."
    )
    strictCleanup = Attribute(
        "Whether what the code under test opened by itself, and left open when "
        "the teardown began (a port it never stopped, a connection it never "
        "closed, a retry it left pending), fails the teardown with a report "
        "naming the line that opened it.  Off by default: such things are "
        "closed quietly, and reported only when they had to be aborted."
    )
    failFast = Attribute(
        "Whether an error logged while a wait is pending (a protocol that "
        "raised in dataReceived or connectionMade, which the reactor logs) "
        "fails that wait at once with the error itself, rather than at its "
        "bound.  On by default, for this network's waits (serverProtocolFor, "
        "acceptedProtocol, whenClosed, whenHandshakeDone, whenCalled), read "
        "at each wait, and for the waits of every trialnet.Recorder it "
        "connects or accepts, read when the Recorder connects (set the "
        "Recorder's own failFast after that); turn it off for a test that "
        "expects the code under test to log an error while it waits."
    )
    tlsAuthority = Attribute(
        "The L{trialnet.TLSAuthority} made for this process (once, on first "
        "use), which signs the certificate of "
        "L{listenTLS<trialnet.INetworkOpening.listenTLS>}: its PEM file for "
        "external clients, client and server options for C{startTLS}, and "
        "client certificates for mutual TLS.  Reading it raises ImportError "
        "when the C{tls} extra is not installed."
    )
