# -*- test-case-name: tests.http -*-
"""
HTTP: the C{agent()} and C{url()} of a test's ports, and the names of
C{mapName()}.  A feature: it imports L{trialnet._sockets} and
L{trialnet._core}, never another feature (a link is a C{mapName()} target
through L{PortFront<trialnet._sockets._targets.PortFront>}).
"""
