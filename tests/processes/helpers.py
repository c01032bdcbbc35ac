"""
Helpers of the tests of server children.
"""

from __future__ import annotations

from typing import Any, TypeVar

from twisted.internet.defer import Deferred

_E = TypeVar("_E", bound=BaseException)


async def failureOf(waiting: Deferred[Any], kind: type[_E]) -> _E:
    """
    @return: The error of kind C{kind} that C{waiting} fails with.
    @raise AssertionError: If it succeeds, or fails otherwise.
    """
    try:
        result = await waiting
    except kind as error:
        return error
    raise AssertionError(f"expected {kind.__name__}, got {result!r}")
