"""
Tests of L{trialnet._processes}: servers in child processes, and the child
processes a test starts, in the one teardown.
"""
