# -*- test-case-name: tests.core -*-
"""
The core: the records the teardown closes and their interface, the teardown's
phase machine, every record's lifecycle (its states and moves), the report of
what was left, the retries and timers a close provokes and their owners,
patches of an application's objects, the one check of a number of seconds,
and the defaults.  It knows records, not sockets: it imports nothing else of
trialnet.
"""
