# -*- test-case-name: tests.core.test_teardown,tests.processes.test_records -*-
"""
The phases of a teardown and every rule that moves it from one to the next
(L{TRANSITIONS}); L{trialnet._core._teardown.Teardown} runs each phase's
action on entering it.  The phases::

    OPEN --close--> CLOSING --settled--> DONE
                       |bound
                       v
                    ABORTED --settled--> DONE
                       |grace
                       v
                    FORCED --settled--> DONE

Processes (records of the stage
L{STOP_PROCESSES<trialnet._core._record.STOP_PROCESSES>}) are stopped only
once everything else settled (or was aborted, or forced), within a bound of
their own, C{processTimeout}::

    CLOSING, ABORTED or FORCED --closed--> STOPPING --settled--> DONE
                                              |bound
                                              v
                                           QUITTING --settled--> DONE
                                              |grace
                                              v
                                           KILLING --settled, grace--> DONE
"""

from __future__ import annotations

from enum import Enum


class Phase(Enum):
    """
    The phases of a teardown.
    """

    #: Nothing closes yet: the test runs.
    OPEN = "open"
    #: Ports stopped accepting, everything was asked to close, and the
    #: teardown waits for it.
    CLOSING = "orderly close"
    #: The bound passed: what had not closed was aborted.
    ABORTED = "aborted"
    #: Even aborting did not close it all: the rest was released by force.
    FORCED = "forced"
    #: Everything else settled: the processes were sent SIGTERM, and the
    #: teardown waits for them to end.
    STOPPING = "stopping processes"
    #: Their bound passed: what had not ended was sent SIGQUIT.
    QUITTING = "processes sent SIGQUIT"
    #: The grace after SIGQUIT passed: what had not ended was sent SIGKILL,
    #: and is waited for a moment more.
    KILLING = "processes sent SIGKILL"
    #: Everything settled; the outcome is known and every reference dropped.
    DONE = "done"

    # Each member is its only instance: hash it by identity, in C, rather
    # than through Enum's Python __hash__ at every transition.
    __hash__ = object.__hash__


class Event(Enum):
    """
    What moves a teardown.
    """

    CLOSE = "close requested"
    SETTLED = "every record settled"
    CLOSED = "every record but the processes settled"
    BOUND = "disconnectTimeout (processTimeout, for processes) passed"
    GRACE = "the grace after aborting (or SIGQUIT, or SIGKILL) passed"

    __hash__ = object.__hash__


#: Every transition.  A pair missing here leaves the phase as it is.
TRANSITIONS: dict[tuple[Phase, Event], Phase] = {
    (Phase.OPEN, Event.CLOSE): Phase.CLOSING,
    (Phase.CLOSING, Event.SETTLED): Phase.DONE,
    (Phase.CLOSING, Event.BOUND): Phase.ABORTED,
    (Phase.ABORTED, Event.SETTLED): Phase.DONE,
    (Phase.ABORTED, Event.GRACE): Phase.FORCED,
    (Phase.FORCED, Event.SETTLED): Phase.DONE,
    (Phase.CLOSING, Event.CLOSED): Phase.STOPPING,
    (Phase.ABORTED, Event.CLOSED): Phase.STOPPING,
    (Phase.FORCED, Event.CLOSED): Phase.STOPPING,
    (Phase.STOPPING, Event.SETTLED): Phase.DONE,
    (Phase.STOPPING, Event.BOUND): Phase.QUITTING,
    (Phase.QUITTING, Event.SETTLED): Phase.DONE,
    (Phase.QUITTING, Event.GRACE): Phase.KILLING,
    (Phase.KILLING, Event.SETTLED): Phase.DONE,
    (Phase.KILLING, Event.GRACE): Phase.DONE,
}

#: The phases that close everything but the processes.
CLOSING_PHASES = frozenset([Phase.CLOSING, Phase.ABORTED, Phase.FORCED])
#: The phases that stop the processes.
STOPPING_PHASES = frozenset([Phase.STOPPING, Phase.QUITTING, Phase.KILLING])
#: The phases in which nothing is waited for: before the close, and after.
NOT_CLOSING = frozenset([Phase.OPEN, Phase.DONE])


def nextPhase(phase: Phase, event: Event) -> Phase:
    """
    The phase a teardown in C{phase} moves to on C{event}.
    """
    return TRANSITIONS.get((phase, event), phase)
