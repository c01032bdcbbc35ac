# -*- test-case-name: tests.waits -*-
"""
The waits: bounded waits for the other side (C{whenClosed},
C{serverProtocolFor}, C{whenCalled}, C{whenHandshakeDone}), the
L{Recorder<trialnet._waits._conversation.Recorder>} conversation and failing
fast on a logged error.  A feature: it imports L{trialnet._sockets} and
L{trialnet._core}, never another feature.
"""
