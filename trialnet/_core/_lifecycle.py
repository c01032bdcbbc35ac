# -*- test-case-name: tests.core.test_lifecycles -*-
"""
Every lifecycle of trialnet's records, as h11's C{_state.py} holds its
rules: for a connection end, a client attempt, a port, a test run, a
link's pipe and each of its two connections, and a child process, one
state enum, the events that move it, and one table of moves, with no
I/O.  The classes they describe hold one state value each and move it only
through L{move}, which refuses a move its table lacks: read here what can
happen to each.

The teardown's own phases are in L{trialnet._core._phases}.

An impossible move raises L{ImpossibleMoveError}.  Inside the teardown's
steps (close, abort, force) the teardown's guard logs it as an error of
trialnet and the rest still runs; from the reactor's callbacks Twisted logs
it, and trial fails the test with it.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

_S = TypeVar("_S", bound=Enum)
_E = TypeVar("_E", bound=Enum)


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


def move(table: dict[tuple[_S, _E], _S], state: _S, event: _E, owner: object) -> _S:
    """
    The state that C{state} moves to on C{event}, by C{table}.

    @param owner: What moves, named in the error.
    @raise ImpossibleMoveError: If C{table} has no move for the pair.
    """
    try:
        return table[state, event]
    except KeyError:
        raise ImpossibleMoveError(owner, state, event) from None


def moves(table: dict[tuple[_S, _E], _S]) -> dict[_S, dict[_E, _S]]:
    """
    The moves of C{table}, by state: for a test that walks them, and for the
    docs.
    """
    byState: dict[_S, dict[_E, _S]] = {}
    for (state, event), target in table.items():
        byState.setdefault(state, {})[event] = target
    return byState


class EndState(Enum):
    """
    Where one connection end is.
    """

    #: Recorded, its protocol not connected yet.
    NEW = "not connected yet"
    #: Connected.
    OPEN = "open"
    #: Inside its transport's C{connectionLost}: the connection is gone,
    #: though its protocol may not have heard it yet.
    LOSING = "losing its connection"
    #: Its connection closed.
    CLOSED = "closed"

    # Hashed by identity, in C: a move is one dict lookup.
    __hash__ = object.__hash__


class EndEvent(Enum):
    """
    What moves an end.
    """

    CONNECTED = "its protocol was connected"
    LOSING = "its transport's connectionLost began"
    CLOSED = "its connection closed"

    __hash__ = object.__hash__


#: Every move of an end; a pair missing here is impossible, and raises.
END_MOVES: dict[tuple[EndState, EndEvent], EndState] = {
    (EndState.NEW, EndEvent.CONNECTED): EndState.OPEN,
    (EndState.OPEN, EndEvent.LOSING): EndState.LOSING,
    (EndState.LOSING, EndEvent.CLOSED): EndState.CLOSED,
    # Forced, when the protocol's connectionLost failed before it began.
    (EndState.OPEN, EndEvent.CLOSED): EndState.CLOSED,
}


class PortState(Enum):
    """
    Where a tracked port is.
    """

    #: Not listening when it was recorded (adopted after it stopped, or
    #: before it started), nor since.
    IDLE = "not listening"
    LISTENING = "listening"
    #: Its one real stop has begun.
    STOPPING = "stopping"
    STOPPED = "stopped"

    __hash__ = object.__hash__


class PortEvent(Enum):
    """
    What moves a port.
    """

    START = "startListening"
    STOP = "its stop begins (stopListening, or the teardown)"
    STOPPED = "its stop finished, or it was released by force"

    __hash__ = object.__hash__


#: Every move of a port; a pair missing here is impossible, and raises.
PORT_MOVES: dict[tuple[PortState, PortEvent], PortState] = {
    (PortState.IDLE, PortEvent.START): PortState.LISTENING,
    # Recorded as listening before its own startListening ran (a port
    # without a connected attribute).
    (PortState.LISTENING, PortEvent.START): PortState.LISTENING,
    # Stopped, then started again.
    (PortState.STOPPED, PortEvent.START): PortState.LISTENING,
    (PortState.IDLE, PortEvent.STOP): PortState.STOPPING,
    (PortState.LISTENING, PortEvent.STOP): PortState.STOPPING,
    # A port stops once: a second stopListening joins the first.
    (PortState.STOPPING, PortEvent.STOP): PortState.STOPPING,
    (PortState.STOPPED, PortEvent.STOP): PortState.STOPPED,
    (PortState.STOPPING, PortEvent.STOPPED): PortState.STOPPED,
    # Released by force without a stop (started again while closing).
    (PortState.LISTENING, PortEvent.STOPPED): PortState.STOPPED,
    # The real stop's outcome after the teardown released it by force.
    (PortState.STOPPED, PortEvent.STOPPED): PortState.STOPPED,
}


class AttemptState(Enum):
    """
    Where one C{connect()} is: whether its outcome is known, and whether the
    connector (or endpoint) runs its factory.
    """

    #: No outcome yet; its factory not started (or stopped already).
    DIALING = "dialing"
    #: No outcome yet; its factory started.
    CONNECTING = "connecting"
    #: Connected, or failed, and its factory still runs (a connector that
    #: connects again keeps it running).
    RUNNING = "outcome known, factory running"
    #: Connected, or failed, and its factory stopped.
    OVER = "over"
    #: Released by the teardown's force: its factory is told no more.
    HALTED = "halted"

    __hash__ = object.__hash__


class AttemptEvent(Enum):
    """
    What moves a client attempt.
    """

    START = "doStart"
    STOP = "doStop, or a loss after which no doStop comes"
    OUTCOME = "it connected, failed, or was cancelled"
    ABANDON = "dialing raised"
    HALT = "the teardown forced it while its factory ran"

    __hash__ = object.__hash__


_A, _AE = AttemptState, AttemptEvent

#: Every move of a client attempt; a pair missing here is impossible, and
#: raises.  An event that repeats what is known already leaves the state as
#: it is: the reactor tells some things twice (an endpoint's parallel
#: attempts each start the factory; a loss that raised is followed by the
#: connector's own stop).
ATTEMPT_MOVES: dict[tuple[AttemptState, AttemptEvent], AttemptState] = {
    (_A.DIALING, _AE.START): _A.CONNECTING,
    (_A.DIALING, _AE.STOP): _A.DIALING,
    (_A.DIALING, _AE.OUTCOME): _A.OVER,
    (_A.DIALING, _AE.ABANDON): _A.OVER,
    (_A.CONNECTING, _AE.START): _A.CONNECTING,
    (_A.CONNECTING, _AE.STOP): _A.DIALING,
    (_A.CONNECTING, _AE.OUTCOME): _A.RUNNING,
    (_A.CONNECTING, _AE.ABANDON): _A.OVER,
    (_A.RUNNING, _AE.START): _A.RUNNING,
    (_A.RUNNING, _AE.STOP): _A.OVER,
    (_A.RUNNING, _AE.OUTCOME): _A.RUNNING,
    (_A.RUNNING, _AE.ABANDON): _A.OVER,
    (_A.RUNNING, _AE.HALT): _A.HALTED,
    # A connector that connects again starts its factory again.
    (_A.OVER, _AE.START): _A.RUNNING,
    (_A.OVER, _AE.STOP): _A.OVER,
    (_A.OVER, _AE.OUTCOME): _A.OVER,
    (_A.OVER, _AE.ABANDON): _A.OVER,
    # What the connector still does is not the application's business.
    (_A.HALTED, _AE.START): _A.HALTED,
    (_A.HALTED, _AE.STOP): _A.HALTED,
    (_A.HALTED, _AE.OUTCOME): _A.HALTED,
}


class RunState(Enum):
    """
    Where one run of one test case is, for trialnet.
    """

    #: Made; the reactor not observed yet (a generator C{setUp}, which
    #: trial must see as it is, is not wrapped).
    IDLE = "not observing"
    #: Observing the reactor; nothing opened yet.
    WATCHING = "observing"
    #: The network's teardown is registered as a cleanup.
    REGISTERED = "teardown registered"
    #: Trial ran the cleanups, the registered teardown among them.
    CLOSING = "cleanups ran"
    #: Trial ran the cleanups; nothing had been opened.
    CLEANED = "cleanups ran, nothing registered"
    #: The same, for a run that never observed.
    CLEANED_UNOBSERVED = "cleanups ran, never observed"
    #: The run ended: observation stopped, every network let go.
    FINISHED = "finished"

    __hash__ = object.__hash__


class RunEvent(Enum):
    """
    What moves a test run.
    """

    WATCH = "observe the reactor"
    REGISTER = "something was opened: register the teardown"
    CLEANUPS = "trial ran the cleanups (or tearDown began)"
    FINISH = "the run ended"

    __hash__ = object.__hash__


_R, _RE = RunState, RunEvent

#: Every move of a test run; a pair missing here is impossible, and raises.
RUN_MOVES: dict[tuple[RunState, RunEvent], RunState] = {
    (_R.IDLE, _RE.WATCH): _R.WATCHING,
    (_R.IDLE, _RE.CLEANUPS): _R.CLEANED_UNOBSERVED,
    (_R.IDLE, _RE.FINISH): _R.FINISHED,
    (_R.WATCHING, _RE.WATCH): _R.WATCHING,
    (_R.WATCHING, _RE.REGISTER): _R.REGISTERED,
    (_R.WATCHING, _RE.CLEANUPS): _R.CLEANED,
    (_R.WATCHING, _RE.FINISH): _R.FINISHED,
    (_R.REGISTERED, _RE.WATCH): _R.REGISTERED,
    (_R.REGISTERED, _RE.REGISTER): _R.REGISTERED,
    (_R.REGISTERED, _RE.CLEANUPS): _R.CLOSING,
    (_R.REGISTERED, _RE.FINISH): _R.FINISHED,
    # The code under test opens more while the teardown closes.
    (_R.CLOSING, _RE.REGISTER): _R.CLOSING,
    # Observing already (tearDown observes nothing new).
    (_R.CLOSING, _RE.WATCH): _R.CLOSING,
    (_R.CLEANED, _RE.WATCH): _R.CLEANED,
    # The registered teardown ran, then tearDown.
    (_R.CLOSING, _RE.CLEANUPS): _R.CLOSING,
    (_R.CLOSING, _RE.FINISH): _R.FINISHED,
    (_R.CLEANED, _RE.CLEANUPS): _R.CLEANED,
    (_R.CLEANED, _RE.FINISH): _R.FINISHED,
    (_R.CLEANED_UNOBSERVED, _RE.CLEANUPS): _R.CLEANED_UNOBSERVED,
    (_R.CLEANED_UNOBSERVED, _RE.FINISH): _R.FINISHED,
}

#: The states of a run that observes the reactor.
RUN_OBSERVING = frozenset([_R.WATCHING, _R.REGISTERED, _R.CLOSING, _R.CLEANED])
#: The states of a run whose teardown is registered.
RUN_REGISTERED = frozenset([_R.REGISTERED, _R.CLOSING])
#: The states of a run whose cleanups trial ran (a finished run's ran, but
#: for a test trial skipped).
RUN_CLEANED_UP = frozenset([_R.CLOSING, _R.CLEANED, _R.CLEANED_UNOBSERVED, _R.FINISHED])


class PipeState(Enum):
    """
    Where one connection through a link is.
    """

    #: The relay accepted the client and dials the server.
    DIALING = "dialing the server"
    #: Both of the relay's connections are made.
    JOINED = "joined"
    #: Both are gone (or the server's never came).
    CLOSED = "closed"

    __hash__ = object.__hash__


class PipeEvent(Enum):
    """
    What moves a pipe.
    """

    JOINED = "the relay's connection to the server was made"
    CLOSED = "both of the relay's connections are gone"

    __hash__ = object.__hash__


#: Every move of a pipe; a pair missing here is impossible, and raises.
PIPE_MOVES: dict[tuple[PipeState, PipeEvent], PipeState] = {
    (PipeState.DIALING, PipeEvent.JOINED): PipeState.JOINED,
    (PipeState.DIALING, PipeEvent.CLOSED): PipeState.CLOSED,
    (PipeState.JOINED, PipeEvent.CLOSED): PipeState.CLOSED,
    # The server's connection made after the client's was gone and the
    # dial given up: it is closed at once.
    (PipeState.CLOSED, PipeEvent.JOINED): PipeState.CLOSED,
}


class SideState(Enum):
    """
    Where one of a pipe's two connections is, as a half-closeable
    connection: whether each way is shut.
    """

    #: Bytes may go both ways (or, for the server's, it is being dialled).
    OPEN = "open both ways"
    #: Its peer shut its writing side: nothing more comes from it.
    READ_SHUT = "its peer shut writing"
    #: The relay shut its writing side towards it.
    WRITE_SHUT = "shut writing"
    #: Both ways are shut: the relay closes it.
    SHUT = "shut both ways"
    #: Its connection is gone (or was never made).
    LOST = "lost"

    __hash__ = object.__hash__


class SideEvent(Enum):
    """
    What moves one of a pipe's connections.
    """

    READ_DONE = "nothing more comes from its peer"
    WRITE_DONE = "the relay passed on its other peer's close"
    LOST = "its connection is gone"

    __hash__ = object.__hash__


_P, _PE = SideState, SideEvent

#: Every move of a pipe's connection; a pair missing here is impossible, and
#: raises.  Its peer's side is known shut again when the other connection
#: goes (whatever it knew), and a connection is lost once, however often it
#: is told.
SIDE_MOVES: dict[tuple[SideState, SideEvent], SideState] = {
    (_P.OPEN, _PE.READ_DONE): _P.READ_SHUT,
    (_P.OPEN, _PE.WRITE_DONE): _P.WRITE_SHUT,
    (_P.OPEN, _PE.LOST): _P.LOST,
    (_P.READ_SHUT, _PE.READ_DONE): _P.READ_SHUT,
    (_P.READ_SHUT, _PE.WRITE_DONE): _P.SHUT,
    (_P.READ_SHUT, _PE.LOST): _P.LOST,
    (_P.WRITE_SHUT, _PE.READ_DONE): _P.SHUT,
    (_P.WRITE_SHUT, _PE.LOST): _P.LOST,
    (_P.SHUT, _PE.READ_DONE): _P.SHUT,
    (_P.SHUT, _PE.LOST): _P.LOST,
    (_P.LOST, _PE.READ_DONE): _P.LOST,
    (_P.LOST, _PE.LOST): _P.LOST,
}

#: The states of a connection whose writing side the relay shut.
SIDE_WRITE_SHUT = frozenset([_P.WRITE_SHUT, _P.SHUT])


class ProcessState(Enum):
    """
    Where a child process of the test is, as the teardown stops it.
    """

    #: Running, or ended but not yet reaped: the teardown has not begun to
    #: stop it.
    RUNNING = "running"
    #: Sent SIGTERM, the orderly step.
    TERMINATED = "sent SIGTERM"
    #: Sent SIGQUIT at the bound.
    QUIT = "sent SIGQUIT"
    #: Sent SIGKILL after the grace.
    KILLED = "sent SIGKILL"
    #: Reaped, its group (if it led one) empty, its pipes closed.
    ENDED = "ended"

    __hash__ = object.__hash__


class ProcessEvent(Enum):
    """
    What moves a process.
    """

    TERM = "the teardown stops it"
    QUIT = "the bound passed"
    KILL = "the grace after SIGQUIT passed"
    ENDED = "reaped, its group empty and its pipes closed"

    __hash__ = object.__hash__


_PS, _PSE = ProcessState, ProcessEvent

#: Every move of a process; a pair missing here is impossible, and raises.
#: A process that ended is asked nothing more (the teardown may still call
#: it: nothing happens), and one may end at any time.
PROCESS_MOVES: dict[tuple[ProcessState, ProcessEvent], ProcessState] = {
    (_PS.RUNNING, _PSE.TERM): _PS.TERMINATED,
    (_PS.RUNNING, _PSE.ENDED): _PS.ENDED,
    (_PS.TERMINATED, _PSE.QUIT): _PS.QUIT,
    (_PS.TERMINATED, _PSE.ENDED): _PS.ENDED,
    (_PS.QUIT, _PSE.KILL): _PS.KILLED,
    (_PS.QUIT, _PSE.ENDED): _PS.ENDED,
    (_PS.KILLED, _PSE.ENDED): _PS.ENDED,
    (_PS.ENDED, _PSE.TERM): _PS.ENDED,
    (_PS.ENDED, _PSE.QUIT): _PS.ENDED,
    (_PS.ENDED, _PSE.KILL): _PS.ENDED,
    (_PS.ENDED, _PSE.ENDED): _PS.ENDED,
}
