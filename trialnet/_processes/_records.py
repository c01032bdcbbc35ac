# -*- test-case-name: tests.processes.test_records,tests.processes.test_stopping -*-
"""
A child process as a record of the one teardown: one the code under test
started on the reactor (C{reactor.spawnProcess}, observed as ports and
connectors are), or one trialnet started for the test.  It is stopped once
the test's connections closed: SIGTERM, the orderly step, to it or to the
process group it leads; at the processes' bound SIGQUIT, then SIGKILL.  It
is reaped by Twisted's own process handling (its protocol's
C{processEnded} still comes), and settled once reaped, its group empty and
its pipes closed, without waiting for C{processEnded}: a grandchild that
holds its pipes would keep that from coming.

Nothing tells when a grandchild ends, and a reactor run without a
C{SIGCHLD} handler may not reap at all: while it stops, a record looks
again on the reactor's timers, at most every L{MOST_STEP} seconds.
"""

from __future__ import annotations

import os
import shlex
import signal
from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IProcessTransport
from twisted.python import log

from .._core._lifecycle import PROCESS_MOVES, ProcessEvent, ProcessState, move
from .._core._record import STOP_PROCESSES, Record
from .._core._report import Leftover, Origin, userOrigin
from .._core._teardown import LEFT_OPEN
from ._stopping import (
    closePipes,
    endedText,
    forceClosePipes,
    groupAlive,
    leadsGroup,
    pipesOf,
    signalProcess,
)

#: The longest wait, in seconds, between two looks at a stopping process.
MOST_STEP = 0.05
#: The first wait; each next one doubles, up to L{MOST_STEP}.
FIRST_STEP = 0.005

#: What strict cleanup says of a process the code under test left running.
LEFT_RUNNING = (
    "left running by the code under test when the test ended; stopped with "
    "SIGTERM by the teardown"
)

#: The most of an output tail a report quotes, in characters.
TAIL_LIMIT = 4000

#: The most of an argument list a report quotes, in characters.
ARGV_LIMIT = 200

_RUNNING = ProcessState.RUNNING
_ENDED = ProcessState.ENDED


class ProcessRecord(Record):
    """
    One child process of the reactor, and how the teardown stops it.

    @ivar pid: Its process id (also its group's, if it leads one), kept
        after it was reaped, for the report.
    @ivar argv: Its argument list, as text, for the report.
    @ivar outputTail: What gives the tail of its output for the report, if
        its owner said (see L{describeProcess}); C{None} otherwise.
    @ivar state: Where it is, moved by L{PROCESS_MOVES} only.
    """

    stage = STOP_PROCESSES
    role = "process"

    def __init__(
        self,
        process: Any,
        argv: Sequence[str],
        origin: Origin,
        observed: bool,
        onSettled: Callable[[Record], None],
        reactor: Any,
    ) -> None:
        super().__init__(origin, observed, onSettled)
        self.pid: int = process.pid or 0
        self.argv = tuple(argv)
        self.outputTail: Callable[[], str] | None = None
        self.state = _RUNNING
        self._process: Any = process
        self._reactor = reactor
        self._group = False
        self._sent: list[str] = []
        self._status: int | None = None
        self._waited = 0.0
        self._step = FIRST_STEP
        self._timer: IDelayedCall | None = None

    def __repr__(self) -> str:
        return f"<ProcessRecord pid {self.pid} {self.state.name} from {self.origin}>"

    @property
    def transport(self) -> Any:
        """
        The reactor's process transport, until the teardown forgets it.
        """
        return self._process

    @property
    def kind(self) -> str:
        text = shlex.join(self.argv)
        if len(text) > ARGV_LIMIT:
            text = text[: ARGV_LIMIT - 3] + "..."
        return text

    @property
    def settled(self) -> bool:
        state = self.state
        if state is _ENDED:
            return True
        if state is not _RUNNING:
            return False
        # Not being stopped: settled if it ended by itself, was reaped, and
        # its pipes are closed.
        process = self._process
        return process is None or (process.pid is None and not pipesOf(process))

    def _move(self, event: ProcessEvent) -> None:
        self.state = move(PROCESS_MOVES, self.state, event, self)

    # The teardown's steps

    def close(self) -> None:
        """
        SIGTERM, to the process or to the group it leads; then look until it
        is reaped, its group empty and its pipes closed.
        """
        if self.settled:
            if self.state is _RUNNING:
                self._move(ProcessEvent.ENDED)
            return
        self._move(ProcessEvent.TERM)
        self._send(signal.SIGTERM)
        self._look()

    def abort(self, waited: float) -> Leftover | None:
        """
        The processes' bound passed: SIGQUIT (a child that can, dumps its
        stacks).
        """
        if self.settled:
            return None
        self._waited = waited
        self._move(ProcessEvent.QUIT)
        self._send(signal.SIGQUIT)
        return self.describe()

    def force(self, leftover: Any) -> Leftover | None:
        """
        The grace after SIGQUIT passed: SIGKILL; the teardown waits a moment
        more for the reap.
        """
        if self.settled:
            return leftover  # type: ignore[no-any-return]
        self._move(ProcessEvent.KILL)
        self._send(signal.SIGKILL)
        return self.describe()

    def finalReport(self) -> Leftover | None:
        """
        A process that had to be sent SIGQUIT is described now that its end
        is known (or known not to have come).
        """
        if "SIGQUIT" not in self._sent:
            return None
        return self.describe()

    def forget(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()
        process, self._process = self._process, None
        self.outputTail = None
        if process is not None:
            # Never left in the reactor: trial would call them a dirty
            # reactor.  Closing ones close on the next turn.
            forceClosePipes(process)

    # Inside

    def _send(self, signum: signal.Signals) -> None:
        self._sent.append(signum.name)
        process = self._process
        if process is not None:
            self._regroup(process)
            signalProcess(process, self.pid, self._group, signum)

    def _regroup(self, process: Any) -> bool:
        """
        Whether the child came to lead a process group of its own since it
        was last asked (a launcher's C{setsid()} may run after the spawn,
        or after the first signal): asked only while the number is still
        the child's own, not reaped.
        """
        if self._group or process.pid is None:
            return False
        self._group = leadsGroup(process.pid)
        return self._group

    def _look(self) -> None:
        """
        Reap, through Twisted's own C{reapProcess} (a reactor that handles
        C{SIGCHLD} has done so already); once reaped, close the pipes; once
        they are closed and the group is empty, settle.  Otherwise look
        again a little later.
        """
        self._timer = None
        process = self._process
        if process is None or self.state is _ENDED:
            return
        if process.pid is not None:
            if self._sent and self._regroup(process):
                # Its group's members have not had the last signal yet.
                signalProcess(process, self.pid, True, signal.Signals[self._sent[-1]])
            try:
                process.reapProcess()
            except Exception:
                log.err(None, f"trialnet teardown: error while reaping {self.pid}")
        if process.pid is None:
            self._readStatus(process)
            closePipes(process)
            if not pipesOf(process) and not (self._group and groupAlive(self.pid)):
                self._move(ProcessEvent.ENDED)
                self._settle()
                return
        self._timer = self._reactor.callLater(self._step, self._look)
        self._step = min(MOST_STEP, self._step * 2)

    # The report

    def leftover(self, action: str, **details: Any) -> Leftover:
        if action == LEFT_OPEN:
            action = LEFT_RUNNING
        where = f"pid {self.pid}"
        if self._group:
            where += " (and its process group)"
        return Leftover(
            role=self.role,
            origin=self.origin,
            action=action,
            kind=self.kind,
            local=where,
            **details,
        )

    def describe(self) -> Leftover:
        """
        Describe it as one that had to be aborted: the signals it was sent,
        how it ended, and the tail of its output if its owner keeps one.
        """
        sent = ", then ".join(self._sent[1:]) or "nothing more"
        process = self._process
        if process is not None:
            self._readStatus(process)
        if self._status is not None:
            ended = endedText(self._status)
        elif self.state is ProcessState.KILLED:
            ended = "not reaped yet after SIGKILL"
        else:
            ended = "still running"
        if self._group and ended and self.state is not _ENDED:
            ended += " (its group may still have members)"
        action = (
            f"still running {self._waited:.2f}s after SIGTERM; sent {sent}; {ended}"
        )
        return self.leftover(action + self._tail())

    def _readStatus(self, process: Any) -> None:
        """
        Keep the wait status of a reaped process (Twisted's is -1 until
        then).
        """
        status = process.status
        if process.pid is None and isinstance(status, int) and status >= 0:
            self._status = status

    def _tail(self) -> str:
        tail = self.outputTail
        if tail is None:
            return ""
        try:
            text = tail()
        except Exception:
            log.err(None, "trialnet teardown: error while reading a process's output")
            return ""
        if not text:
            return ". It wrote nothing"
        if len(text) > TAIL_LIMIT:
            text = "..." + text[-TAIL_LIMIT:]
        lines = "\n".join(f"    | {line}" for line in text.rstrip("\n").split("\n"))
        return f". The end of its output:\n{lines}"


def recordProcess(
    registry: Any,
    process: Any,
    argv: Sequence[str],
    origin: Origin,
    observed: bool,
) -> ProcessRecord:
    """
    Make a process a record of a network's teardown, unless it is one.

    @param registry: The network's registry.
    @param process: The reactor's process transport.
    @param argv: Its argument list, as text.
    @param origin: The line that started it.
    @param observed: Whether the code under test started it by itself.
    @return: Its record.
    """
    known = recordOf(registry, process)
    if known is not None:
        known.observed = known.observed and observed
        return known
    record = ProcessRecord(
        process, argv, origin, observed, registry.recordSettled, registry.reactor
    )
    registry.addRecord(record)
    return record


def recordOf(registry: Any, process: object) -> ProcessRecord | None:
    """
    The record of C{process} in C{registry}, if it has one.
    """
    for record in registry.records():
        if isinstance(record, ProcessRecord) and record.transport is process:
            return record
    return None


def describeProcess(
    network: Any,
    transport: Any,
    *,
    argv: Sequence[str | bytes] | None = None,
    outputTail: Callable[[], str] | None = None,
    owned: bool = True,
) -> ProcessRecord:
    """
    Say more of a process a network's teardown stops, as the owner of its
    protocol knows it (trialnet's C{spawnServer}, say): its reports then
    name its true argument list and quote the tail of its output.

    @param network: A L{trialnet.Network}, a L{trialnet.NetworkTestCase},
        the parts of either, or a registry.
    @param transport: The process transport C{reactor.spawnProcess} gave;
        one the network did not see started (spawned quietly) is recorded
        now, with the caller's line.
    @param argv: Its argument list, if the one it was spawned with (a
        launcher's) is not the one to report.
    @param outputTail: A callable giving the end of its output as text,
        read when a report is written.
    @param owned: Whether the caller started it for the test, so it is no
        leftover of the code under test even under strict cleanup.
    @return: Its record.
    @raise TypeError: If C{transport} is not a process transport, or
        C{outputTail} is not callable.
    """
    if outputTail is not None and not callable(outputTail):
        raise TypeError(
            f"outputTail must be a callable giving text, not {outputTail!r}"
        )
    registry = _registryOf(network)
    if not IProcessTransport.providedBy(transport):
        raise TypeError(
            f"describeProcess() takes the process transport spawnProcess "
            f"returned, not {transport!r}"
        )
    record = recordOf(registry, transport)
    if record is None:
        record = recordProcess(
            registry, transport, _text(argv or ()), userOrigin(), observed=not owned
        )
    if argv is not None:
        record.argv = tuple(_text(argv))
    if outputTail is not None:
        record.outputTail = outputTail
    if owned:
        record.observed = False
    return record


def _text(argv: Sequence[str | bytes]) -> list[str]:
    return [os.fsdecode(part) for part in argv]


def _registryOf(network: Any) -> Any:
    """
    The registry of a network, its test case, its parts, or itself.
    """
    parts = getattr(network, "_parts", None)
    if callable(parts):
        network = parts()
    registry = getattr(network, "registry", network)
    if not (
        callable(getattr(registry, "records", None)) and hasattr(registry, "addRecord")
    ):
        raise TypeError(
            f"describeProcess() takes a trialnet Network, NetworkTestCase or "
            f"their parts, not {network!r}"
        )
    return registry
