# -*- test-case-name: tests.processes -*-
"""
Child processes: servers in child processes (C{spawnServer()}: the launcher
that hands a child its listening socket by systemd socket activation, the
ready line of a child that binds by itself, the L{ServerProcess} that is a
target wherever a port is), and every child process a test starts (the code
under test, on the reactor, or trialnet's own servers) as a record of the one
teardown, stopped once the test's connections closed.  POSIX only: process
groups and descriptor passing.  A feature: it imports L{trialnet._sockets}
and L{trialnet._core}, never another feature.
"""
