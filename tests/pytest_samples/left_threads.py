"""
Sample tests of the C{network} fixture that leave a thread running, run in a
pytest process by C{tests/core/test_threads.py}.  The file name does not
start with C{test_}, so neither trial nor pytest collects it from the suite.
"""

from __future__ import annotations

import threading

from trialnet import Network

#: Set by the last test: the threads left behind end then.
RELEASE = threading.Event()


def blockedUntilSet() -> None:
    RELEASE.wait(30)


def test_leftWarns(network: Network) -> None:
    threading.Thread(target=blockedUntilSet, name="sample-left-warned").start()


def test_leftStrict(network: Network) -> None:
    network.strictCleanup = True
    threading.Thread(target=blockedUntilSet, name="sample-left-strict").start()


def test_released() -> None:
    RELEASE.set()
