# -*- test-case-name: tests.core -*-
"""
The core: the records the teardown closes and their interface, the teardown's
phase machine, the report of what was left, the retries and timers a close
provokes, patches of an application's objects, and the one check of a number
of seconds.  It knows records, not sockets: it imports nothing else of
trialnet.
"""
