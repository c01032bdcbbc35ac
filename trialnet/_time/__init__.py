# -*- test-case-name: tests.time -*-
"""
Virtual time: the reactor's own clock made virtual while a test runs, jumping
to the next timer whenever nothing else can happen.  A feature: it imports
L{trialnet._sockets} and L{trialnet._core}, never another feature.
"""
