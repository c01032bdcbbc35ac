"""
Tests of L{trialnet._processes}: servers in child processes.
"""
