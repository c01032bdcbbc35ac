# -*- test-case-name: tests.processes -*-
"""
Processes: the child processes a test starts (the code under test, on the
reactor, or trialnet's own servers), as records of the one teardown, stopped
once the test's connections closed.  A feature: it imports
L{trialnet._sockets} and L{trialnet._core}, never another feature.
"""
