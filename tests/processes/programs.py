"""
What the tests of processes share: small child programs run with
C{sys.executable -c}, a process protocol that keeps the tail of its output,
and looks at C{/proc} for what a test left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure

#: Prints a line, then sleeps; ends on SIGTERM.
SLEEPER = "import time\nprint('ready', flush=True)\ntime.sleep(60)\n"

#: Ignores SIGTERM and SIGQUIT: only SIGKILL ends it.
STUBBORN = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "signal.signal(signal.SIGQUIT, signal.SIG_IGN)\n"
    "print('stubborn and ready', flush=True)\n"
    "time.sleep(60)\n"
)

#: Forks a grandchild that holds its standard output and error, and prints
#: the grandchild's pid; both sleep.
FORKS = (
    "import os, time\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    time.sleep(60)\n"
    "    os._exit(0)\n"
    "print(pid, flush=True)\n"
    "time.sleep(60)\n"
)

#: As L{FORKS}, in a session (and process group) of its own, led by the
#: child.
LEADS_GROUP = "import os\nos.setsid()\n" + FORKS

#: As L{LEADS_GROUP}, with a grandchild that ignores SIGTERM and SIGQUIT.
GROUP_STUBBORN = (
    "import os, signal, time\n"
    "os.setsid()\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "    signal.signal(signal.SIGQUIT, signal.SIG_IGN)\n"
    "    time.sleep(60)\n"
    "    os._exit(0)\n"
    "time.sleep(0.2)\n"
    "print(pid, flush=True)\n"
    "time.sleep(60)\n"
)

#: Prints a line; at SIGTERM, leaves the runner's group for a session of
#: its own (as a launcher's C{setsid()} may, after the spawn), forks a
#: grandchild that holds its output, prints the grandchild's pid; both
#: ignore SIGTERM from then on.
LATE_GROUP = (
    "import os, signal, time\n"
    "def term(signum, frame):\n"
    "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "    os.setsid()\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        time.sleep(60)\n"
    "        os._exit(0)\n"
    "    print(pid, flush=True)\n"
    "signal.signal(signal.SIGTERM, term)\n"
    "print('ready', flush=True)\n"
    "while True:\n"
    "    time.sleep(60)\n"
)

#: Ends at once by itself, with status 3.
QUITS = "print('bye', flush=True)\nraise SystemExit(3)\n"


def childArgv(program: str) -> list[str]:
    """
    The argument list that runs C{program} with this Python.
    """
    return [sys.executable, "-c", program]


class Keeper(ProcessProtocol):
    """
    A process protocol that keeps the last C{limit} bytes of its child's
    output (both streams), and tells of its first line and its end.

    @ivar ready: Fires with the output so far once a whole line came.
    @ivar ended: Fires with C{None} once C{processEnded} came.
    @ivar reason: The reason C{processEnded} gave.
    @ivar events: C{"exited"}, C{"ended"}, in the order Twisted told them.
    """

    def __init__(self, events: list[str] | None = None, limit: int = 4096) -> None:
        self.output = bytearray()
        self.limit = limit
        self.ready: Deferred[bytes] = Deferred()
        self.ended: Deferred[None] = Deferred()
        self.reason: Failure | None = None
        self.events = [] if events is None else events

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        self.output += data
        del self.output[: -self.limit]
        if not self.ready.called and b"\n" in self.output:
            self.ready.callback(bytes(self.output))

    def processExited(self, reason: Failure) -> None:
        self.events.append("exited")

    def processEnded(self, reason: Failure) -> None:
        self.events.append("ended")
        self.reason = reason
        self.ended.callback(None)

    def tail(self) -> str:
        """
        The output kept, as text.
        """
        return self.output.decode("utf-8", "replace")

    def firstNumber(self) -> int:
        """
        The number on the first line of the output (a grandchild's pid).
        """
        return int(bytes(self.output).split(b"\n")[0])


def _stat(pid: int) -> tuple[bytes, int] | None:
    """
    The state and parent of process C{pid}, or C{None} if it is gone.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rfind(b")") + 2 :].split()
    return fields[0], int(fields[1])


def running(pid: int) -> bool:
    """
    Whether process C{pid} exists and is not a zombie.
    """
    stat = _stat(pid)
    return stat is not None and stat[0] not in (b"Z", b"X")


def childrenOf(parent: int) -> dict[int, bytes]:
    """
    The children of process C{parent} (zombies too), with their states.
    """
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _stat(int(name))
            if stat is not None and stat[1] == parent:
                found[int(name)] = stat[0]
    return found


def gone(pid: int, within: float = 5.0) -> bool:
    """
    Whether process C{pid} no longer runs, within C{within} seconds (a
    grandchild killed lingers as init's zombie a moment: that counts as
    gone).
    """
    deadline = time.monotonic() + within
    while running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def kill(pid: int) -> None:
    """
    Kill process C{pid} if it still runs (a cleanup of a test whose
    teardown was not meant to end it).
    """
    if running(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def spawn(reactor: Any, protocol: ProcessProtocol, program: str) -> Any:
    """
    Start C{program} as the code under test would: C{reactor.spawnProcess},
    inheriting the environment.
    """
    return reactor.spawnProcess(protocol, sys.executable, childArgv(program), env=None)
