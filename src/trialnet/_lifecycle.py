"""
The rule every lifecycle of trialnet follows: one state value, its moves in
one table, and one function that applies a move and refuses an impossible
one.

The teardown's phases (L{trialnet._teardown}) and each record's own
lifecycle (an end, a client attempt, a port, a test run, a side of a relay's
pipe) keep their table next to the class they describe, as h11's
C{_state.py} does: what can happen to it is read in one place, not inferred
from booleans spread over the class.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

_S = TypeVar("_S", bound=Enum)


class ImpossibleMoveError(RuntimeError):
    """
    A lifecycle was told of an event its table has no move for: a bug of
    trialnet's, or an order of events it did not expect from Twisted.

    @ivar owner: What the lifecycle belongs to.
    @ivar state: The state it was in.
    @ivar event: The event it was told of.
    """

    def __init__(self, owner: object, state: Enum, event: Enum) -> None:
        super().__init__(
            f"trialnet: impossible move of {owner}: {state.name} "
            f"on {event.name} (please report this as a bug of trialnet)"
        )
        self.owner = owner
        self.state = state
        self.event = event


def move(table: dict[tuple[_S, Enum], _S], state: _S, event: Enum, owner: object) -> _S:
    """
    The state that C{state} moves to on C{event}, by C{table}.

    @param owner: What moves, named in the error.
    @raise ImpossibleMoveError: If C{table} has no move for the pair.
    """
    try:
        return table[state, event]
    except KeyError:
        raise ImpossibleMoveError(owner, state, event) from None


def moves(table: dict[tuple[_S, Enum], _S]) -> dict[_S, dict[Enum, _S]]:
    """
    The moves of C{table}, by state: for a test that walks them, and for the
    docs.
    """
    byState: dict[_S, dict[Enum, _S]] = {}
    for (state, event), target in table.items():
        byState.setdefault(state, {})[event] = target
    return byState
