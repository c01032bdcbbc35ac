# -*- test-case-name: tests.test_exports -*-
"""
L{INetworkLinks<trialnet.INetworkLinks>}: the part of the public API that
puts a bad network in front of a port.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zope.interface import Interface

if TYPE_CHECKING:
    from twisted.internet.interfaces import IListeningPort

    from ._links._datagrams import DatagramLink
    from ._links._links import Link


class INetworkLinks(Interface):
    """
    The part of L{trialnet.INetwork} that puts a bad network between
    clients and a port of the test: an in-process relay whose conditions the
    test sets while connections are open.
    """

    def link(target: IListeningPort, seed: int | None = None) -> Link:
        """
        Put a bad network between clients and one of this test's stream
        ports: an in-process relay, on real sockets, whose conditions the
        test sets and changes while connections are open (latency and
        jitter, bandwidth, slices, a byte limit, hold and release,
        blackhole, reset, down and up; for each direction or both).

        A link is a target wherever a port is
        (L{connect<trialnet.INetworkOpening.connect>},
        L{clientEndpoint<trialnet.INetworkOpening.clientEndpoint>},
        L{url<trialnet.INetworkOpening.url>}), and
        L{serverProtocolFor<trialnet.INetworkWaits.serverProtocolFor>} pairs
        a client of the link with the server end the relay reached.  For a
        TLS port the relay forwards bytes, so a client still verifies the
        real server.  The relay's port and connections close with the rest
        of the teardown (as a clean pass-through, so what closes through it
        closes in an orderly way) and are aborted at its bound, held or
        blackholed; a leftover end that crossed a link names it, with its
        seed.

        @param target: A TCP, TLS or UNIX port of this test, listening.
        @param seed: The seed of the link's random source (jitter); a
            random one by default, in C{link.seed}, the link's C{repr} and
            the test's log, so a run can be replayed.
        @return: The L{Link<trialnet._links._links.Link>}.
        @raise TypeError: If C{target} is not a port of this test, or
            C{seed} not an int.
        @raise ValueError: If C{target} is a UDP port or is not listening.
        """

    def datagramLink(target: IListeningPort, seed: int | None = None) -> DatagramLink:
        """
        Put a bad network between clients and one of this test's UDP ports:
        an in-process relay that drops, duplicates, reorders and delays
        datagrams, each way or one way, from a seeded random source.
        Clients send to the link's C{getHost()}; the server sees each client
        as a socket of the relay's, and its answers go back through the
        link.  A method of its own, rather than L{link}, so that each gives
        back one type.

        @param target: A UDP port of this test, listening.
        @param seed: As for L{link}.
        @return: The L{DatagramLink<trialnet._links._datagrams.DatagramLink>}.
        @raise TypeError: If C{target} is not a port of this test, or
            C{seed} not an int.
        @raise ValueError: If C{target} is a stream port or is not listening.
        """
