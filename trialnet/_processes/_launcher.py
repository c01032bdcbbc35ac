# -*- test-case-name: tests.processes.test_launcher -*-
"""
The launcher every server child starts through: a few lines of Python run
with C{sys.executable -c}, between the fork and the server's own program,
where only the child knows its pid.

It drops the socket-activation variables the runner itself may have
inherited, sets them for the listening socket on descriptor 3 when there
is one (C{LISTEN_PID} must be the server's own pid, which C{exec} keeps),
leaves the runner's session and process group (C{setsid()}: the child's
whole group can be signalled without touching the runner), disables core
files (so that a SIGQUIT at the teardown's bound dumps stacks, not cores),
then C{exec}s the server's argv, searched on the C{PATH} of the child's
own environment.
"""

from __future__ import annotations

import sys

#: The descriptor the child finds its listening socket on (systemd's
#: C{SD_LISTEN_FDS_START}).
LISTEN_FD = 3

#: The name of that descriptor in C{LISTEN_FDNAMES}.
FD_NAME = "trialnet"

#: The variables of socket activation and readiness notification that a
#: child must not inherit from the runner: they describe the runner's own
#: descriptors (or its supervisor's socket), not the child's.
INHERITED = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET")

#: Exit status of a child whose program could not be run (as a shell's).
CANNOT_RUN = 127

# Run by the child's Python with -I -S: no site, no user path, nothing of
# trialnet imported, so it costs a bare interpreter's start.  argv[1] says
# whether descriptor 3 is a listening socket; the rest is the server's argv.
LAUNCHER = f"""\
import os, resource, sys
activated, program = sys.argv[1] == "1", sys.argv[2:]
env = dict(os.environ)
for name in {INHERITED!r}:
    env.pop(name, None)
if activated:
    env.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()),
               LISTEN_FDNAMES={FD_NAME!r})
try:
    os.setsid()
except OSError:
    pass
try:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
except (OSError, ValueError):
    pass
try:
    os.execvpe(program[0], program, env)
except OSError as e:
    sys.stderr.write(f"trialnet: cannot run {{program[0]!r}}: {{e}}\\n")
    sys.stderr.flush()
    os._exit({CANNOT_RUN})
"""


def launcherArgv(argv: list[bytes], activated: bool) -> list[bytes]:
    """
    The argv that runs C{argv} through the launcher.

    @param argv: The server's argv, checked.
    @param activated: Whether the child gets a listening socket on
        descriptor 3.
    """
    python = sys.executable.encode() if sys.executable else b"python3"
    flag = b"1" if activated else b"0"
    return [python, b"-I", b"-S", b"-c", LAUNCHER.encode(), flag, *argv]
