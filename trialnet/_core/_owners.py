# -*- test-case-name: tests.core.test_leftTimers -*-
"""
The owners of the timers the code under test leaves, where trialnet knows
them: a C{ClientService} waiting to retry, stopped as its C{stopService}
would; an C{HTTPConnectionPool} keeping an expiry timer for a connection of
the test's it cached, made to forget it.  Both read Twisted's private
state, so each fails safe: what it cannot recognise is left as before (the
timer cancelled).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

from twisted.python import log


def closeOwner(call: Any) -> None:
    """
    Stop a pending timer the code under test left, through its owner where
    trialnet knows it: a C{ClientService} waiting to retry is stopped (as
    C{stopService} would stop it), so that it cancels its own retry and
    stays consistent, and stopping it again later does nothing.  Any other
    timer is cancelled.
    """
    owner: Any = clientMachineOf(call.func)
    if owner is not None:
        try:
            owner.stop()
        except Exception:
            log.err(None, "trialnet teardown: error while stopping a ClientService")
    if call.active():
        call.cancel()


def clientMachineOf(function: object) -> object:
    """
    The state machine of a C{ClientService} whose retry C{function} is, the
    one whose C{stop()} the service's C{stopService} calls; else None.

    In recent Twisted the retry is a bound method of the machine (a
    typified automat machine, C{_client_service._Core} within); in older
    ones (24.7) it is a function of automat's, with the machine a variable
    of its closure.
    """
    try:
        owner = getattr(function, "__self__", None)
        core = getattr(
            sys.modules.get("twisted.application._client_service"), "_Core", None
        )
        if core is not None and isinstance(
            getattr(owner, "__automat_core__", None), core
        ):
            return owner
        machine = getattr(
            sys.modules.get("twisted.application.internet"), "_ClientMachine", None
        )
        if machine is not None and inspect.isfunction(function):
            owner = inspect.getclosurevars(function).nonlocals.get("oself")
            if isinstance(owner, machine):
                return owner
    except Exception:
        # A closure with a variable never set, say: no service we know.
        pass
    return None


def forgetPooled(reactor: Any, ours: Callable[[object], object]) -> None:
    """
    Make every C{HTTPConnectionPool} forget the cached connections that are
    a network's (C{ours} says which, by the protocol): their expiry timers
    cancelled and their entries removed, as the pool's own expiry would.
    The pool never notices that a cached connection closed: it would keep
    the timer for minutes, and hand the dead connection to a later test.
    """
    client = sys.modules.get("twisted.web.client")
    poolType = getattr(client, "HTTPConnectionPool", None)
    delayedCalls = getattr(reactor, "getDelayedCalls", None)
    if poolType is None or delayedCalls is None:
        return
    for call in delayedCalls():
        try:
            _forget(call, poolType, ours)
        except Exception:
            log.err(None, "trialnet: error while making a pool forget a connection")


def _forget(call: Any, poolType: type, ours: Callable[[object], object]) -> None:
    function = call.func
    pool = getattr(function, "__self__", None)
    if (
        getattr(function, "__name__", None) != "_removeConnection"
        or not isinstance(pool, poolType)
        or len(call.args) != 2
        or ours(call.args[1]) is None
    ):
        return
    key, connection = call.args
    call.cancel()
    cached = getattr(pool, "_connections", {}).get(key)
    if cached is not None and connection in cached:
        cached.remove(connection)
    getattr(pool, "_timeouts", {}).pop(connection, None)
