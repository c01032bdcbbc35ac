# -*- test-case-name: tests.processes.test_stopping,tests.processes.test_servers -*-
"""
What stopping a child process of the reactor takes, without the teardown:
signalling it, or the process group it leads (never the runner's own);
telling whether that group still has a live member, or a child is exiting
already; and closing its pipes once it is reaped, after reading what it
left in them.  POSIX; a group's members, and a child's exit, are read
from C{/proc} on Linux.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from typing import Any

from twisted.internet.error import ConnectionDone, ProcessExitedAlready
from twisted.internet.process import ProcessReader
from twisted.python import log
from twisted.python.failure import Failure

#: At most this many reads of a reaped process's output pipe (of up to
#: L{_READ_SIZE} bytes each) before it is closed: a grandchild that holds it
#: and keeps writing cannot keep the teardown reading.
_MOST_READS = 64
_READ_SIZE = 65536

#: The states of C{/proc/<pid>/stat} of a process that no longer runs: a
#: zombie (a member reparented to init lingers as one until init reaps it),
#: or one being torn down.
_GONE_STATES = frozenset([b"Z", b"X", b"x"])

#: Linux's C{PF_EXITING}, in the flags of C{/proc/<pid>/stat}: set as the
#: process begins to exit, before its descriptors close.
_PF_EXITING = 0x4


def leadsGroup(pid: int) -> bool:
    """
    Whether the process C{pid} (a child not yet reaped, so the number is
    still its own) leads a process group of its own, and that group is not
    the runner's.
    """
    try:
        return os.getpgid(pid) == pid and mayStopGroup(pid)
    except OSError:
        return False


def mayStopGroup(group: int) -> bool:
    """
    Whether the process group C{group} may be signalled: never the runner's
    own, nor init's.
    """
    return group > 1 and group != os.getpgrp()


def signalProcess(process: Any, pid: int, group: bool, signum: int) -> None:
    """
    Send C{signum} to a process, through Twisted's own C{signalProcess}, or
    to the whole group it leads.  What has ended already is not an error.

    @param process: The reactor's process transport.
    @param pid: Its process id (the group's id, if it leads one), kept from
        before it was reaped.
    @param group: Whether to signal the group it leads.
    """
    if group:
        if not mayStopGroup(pid):
            raise ValueError(f"trialnet never signals process group {pid}")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signum)
        return
    if process.pid is None:
        return
    with contextlib.suppress(ProcessExitedAlready):
        process.signalProcess(signum)


def groupAlive(group: int) -> bool:
    """
    Whether the process group C{group} has a member that still runs.  On
    Linux a zombie member does not count: one reparented to init lingers
    until init reaps it, seconds later.  Elsewhere any member counts.
    """
    try:
        names = os.listdir("/proc")
    except OSError:
        return _groupExists(group)
    wanted = str(group).encode("ascii")
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                text = stat.read()
        except OSError:
            continue
        # The command's name, in parentheses, may hold spaces: the fields
        # after it are state, parent, group.
        fields = text[text.rfind(b")") + 2 :].split()
        if len(fields) > 2 and fields[2] == wanted and fields[0] not in _GONE_STATES:
            return True
    return False


def exiting(pid: int) -> bool:
    """
    Whether the child C{pid}, not reaped yet (so the number is still its
    own), is exiting already although C{waitpid} cannot reap it yet.  The
    kernel closes an exiting process's descriptors (its sockets: their
    peers see them close) before it becomes a zombie to reap.  Linux only
    (C{/proc}): elsewhere C{False}.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return False
    # After the command's name: state, parent, group, session, terminal,
    # its group, flags.
    fields = text[text.rfind(b")") + 2 :].split()
    if not fields:
        return False
    if fields[0] in _GONE_STATES:
        return True
    try:
        return bool(int(fields[6]) & _PF_EXITING)
    except (IndexError, ValueError):
        return False


def _groupExists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pipesOf(process: Any) -> list[Any]:
    """
    The pipes of a process transport still open (none for a process on a
    pseudo-terminal: its one descriptor ends with the process).
    """
    pipes = getattr(process, "pipes", None)
    if not isinstance(pipes, dict):
        return []
    return list(pipes.values())


def closePipes(process: Any) -> None:
    """
    The process was reaped: close its pipes, which a grandchild may hold
    open for ever.  What it wrote before it ended is read first and handed
    to its protocol as the reactor would; an output pipe is closed as
    Twisted closes one (its protocol hears of it one turn later), an input
    pipe at once (nobody reads it any more).
    """
    for pipe in pipesOf(process):
        if isinstance(pipe, ProcessReader):
            if pipe.disconnecting or not pipe.connected:
                continue
            _drain(pipe)
            if pipe.connected and not pipe.disconnecting:
                pipe.loseConnection()
        elif pipe.connected:
            _lose(pipe)


def forceClosePipes(process: Any) -> None:
    """
    Close, now, every pipe of a process that is not closing already.
    """
    for pipe in pipesOf(process):
        if pipe.connected and not pipe.disconnecting:
            _lose(pipe)


def _lose(pipe: Any) -> None:
    pipe.connectionLost(Failure(ConnectionDone()))


def _drain(pipe: ProcessReader) -> None:
    """
    Hand what waits in an output pipe to its process, as the reactor's read
    would, up to a bound.
    """
    deliver: Callable[[bytes], None] = pipe.dataReceived
    for _ in range(_MOST_READS):
        try:
            data = os.read(pipe.fileno(), _READ_SIZE)
        except OSError:
            # Nothing more now (EAGAIN: a grandchild holds it), or broken.
            return
        if not data:
            return
        try:
            deliver(data)
        except Exception:
            log.err(
                None, "trialnet teardown: error while handing on a process's output"
            )
            return
        if not pipe.connected:
            return


def endedText(status: int | None) -> str:
    """
    How a process ended, from its wait status.
    """
    if status is None:
        return "its end unknown"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        core = " (core dumped)" if os.WCOREDUMP(status) else ""
        return f"killed by {name}{core}"
    if os.WIFEXITED(status):
        return f"exited with status {os.WEXITSTATUS(status)}"
    return f"wait status {status}"
