# -*- test-case-name: tests.links -*-
"""
Links: the relay between a client and a server, its pipes, the conditions
that shape their flows, and datagram links.  A feature: it imports
L{trialnet._sockets} and L{trialnet._core}, never another feature.
"""
