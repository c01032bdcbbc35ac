# -*- test-case-name: tests.core.test_seconds -*-
"""
The defaults of trialnet's bounds, each stated once: the public signatures,
the pytest plugin's options and the parts that use them import them here.
"""

from __future__ import annotations

#: Seconds a connection attempt may take (C{connect()}, C{clientEndpoint()},
#: C{agent()}, and the endpoints C{track()} wraps).
CONNECT_TIMEOUT = 30.0

#: Seconds allowed for an orderly close before the teardown aborts what is
#: left.
DISCONNECT_TIMEOUT = 5.0

#: Seconds a wait allows when neither the call nor a test sets a bound.
DEFAULT_WAIT = 10.0

#: How much of a trial test's own timeout a wait allows by default, so that
#: a stuck wait fails with its own message before trial's timeout does.
SHARE_OF_TEST_TIMEOUT = 0.25

#: Where a port listens unless told: IPv4 loopback.
INTERFACE = "127.0.0.1"

#: The listen queue's size unless told.
BACKLOG = 50

#: The largest datagram a UDP port reads unless told.
MAX_PACKET_SIZE = 8192

#: Real seconds a thread started during the test has to end, after the
#: teardown ended, before it is named (goleak and CPython's own suite wait
#: about as long).
THREAD_GRACE = 0.5

#: How much of a trial test's own timeout that grace may take at most.
THREAD_GRACE_SHARE = 0.1

#: Virtual seconds a test in virtual time may jump in all before it fails as
#: runaway time (far above the 100,000 s a test may mean).
VIRTUAL_TIME_BUDGET = 10.0**9

#: Real seconds after the last I/O during which, in virtual time, what the
#: process cannot see into (a child process, a peer in another process)
#: keeps the clock from jumping.
VIRTUAL_TIME_STALL = 1.0
#: Seconds the processes a test started have to stop after SIGTERM, once
#: its connections closed, before the teardown sends SIGQUIT (so that a
#: child that can dumps its stacks) and then SIGKILL.
PROCESS_TIMEOUT = 5.0

#: Seconds between SIGQUIT and SIGKILL.
QUIT_GRACE = 0.5

#: Seconds allowed, after SIGKILL, for the kernel to end a process and the
#: reactor to reap it, before the teardown ends without it.
KILL_GRACE = 1.0
