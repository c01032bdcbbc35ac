"""
Tests of L{trialnet._time}: virtual time on real sockets.
"""
