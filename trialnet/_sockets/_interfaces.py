# -*- test-case-name: tests.sockets.test_udp -*-
"""
The interfaces of the sockets layer: the types it hands out that Twisted
does not name (L{IUDPPort}).
"""

from __future__ import annotations

from twisted.internet.interfaces import IListeningPort, IUDPTransport


class IUDPPort(IUDPTransport, IListeningPort):
    """
    What L{INetworkOpening.listenUDP<trialnet.INetworkOpening.listenUDP>}
    returns: the reactor's UDP port, which both listens and writes datagrams
    (C{write(datagram, (host, port))}).  It
    names, for type checkers, what every reactor's UDP port has; the port
    itself declares only Twisted's own interfaces.
    """
