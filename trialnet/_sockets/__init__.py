# -*- test-case-name: tests.sockets -*-
"""
The sockets: addresses, transport kinds, argument checks and targets, host
names, the records of ports, ends, client attempts and connectors, the
pairing of client and server ends, the registry of a test's sockets, the
opener behind C{listen}/C{connect}, the observation of the reactor and the
scan for what it did not see, endpoints and the run's TLS authority.  It
imports only L{trialnet._core}.
"""
