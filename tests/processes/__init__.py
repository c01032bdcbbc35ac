"""
Tests for L{trialnet._processes}: the child processes a test starts, in the
one teardown.
"""
