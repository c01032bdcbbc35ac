# -*- test-case-name: tests.processes.test_servers -*-
"""
Servers in child processes (C{spawnServer()}): the launcher that hands a
child its listening socket by systemd socket activation, the ready line of
a child that binds by itself, and the L{ServerProcess} that is a target
wherever a port is.  POSIX only: process groups and descriptor passing.
"""
