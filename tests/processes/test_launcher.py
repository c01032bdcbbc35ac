"""
The launcher: the child leaves the runner's session and group, gets no
core files and only its own socket-activation variables, then becomes the
server's program.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

from trialnet._processes._launcher import CANNOT_RUN, launcherArgv

#: A child that prints what the launcher gave it.
REPORT = (
    "import os, resource; "
    "print(os.getpid() == os.getsid(0) == os.getpgid(0), "
    "resource.getrlimit(resource.RLIMIT_CORE), "
    "os.environ.get('LISTEN_FDS'), os.environ.get('LISTEN_PID') == str(os.getpid()), "
    "os.environ.get('LISTEN_FDNAMES'), os.environ.get('NOTIFY_SOCKET'), "
    "os.environ.get('KEPT'))"
)


def launched(
    activated: bool, env: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    """
    Run L{REPORT} through the launcher, with a listening socket on
    descriptor 3 if C{activated}.
    """
    argv = launcherArgv(
        [os.fsencode(sys.executable), b"-c", REPORT.encode()], activated
    )
    listening = socket.create_server(("127.0.0.1", 0))
    with listening:
        fds = {3: listening.fileno()} if activated else {}

        def mapFD() -> None:
            for target, source in fds.items():
                os.dup2(source, target)

        return subprocess.run(
            argv,
            env=env,
            capture_output=True,
            preexec_fn=mapFD,
            pass_fds=(),
            check=False,
        )


class LauncherTests(SynchronousTestCase):
    """
    What the launcher sets before it execs the server.
    """

    def test_activated(self) -> None:
        """
        With a socket, the child leads a new session and group, has no core
        files, and finds C{LISTEN_PID} equal to its own pid, whatever the
        runner inherited; the rest of its environment is kept.
        """
        env = {"LISTEN_PID": "1", "LISTEN_FDS": "2", "NOTIFY_SOCKET": "/x", "KEPT": "y"}
        done = launched(True, env)
        self.assertEqual(done.stdout, b"True (0, 0) 1 True trialnet None y\n")

    def test_readyLine(self) -> None:
        """
        Without a socket, the child gets none of the variables of socket
        activation, even those the runner inherited.
        """
        env = {"LISTEN_PID": "1", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a"}
        done = launched(False, env)
        self.assertEqual(done.stdout, b"True (0, 0) None False None None None\n")

    def test_cannotRun(self) -> None:
        """
        A program that cannot be run ends the child with status 127, saying
        why on stderr.
        """
        argv = launcherArgv([b"trialnet-no-such-program"], False)
        done = subprocess.run(argv, env={"PATH": "/nonexistent"}, capture_output=True)
        self.assertEqual(done.returncode, CANNOT_RUN)
        self.assertIn(b"cannot run 'trialnet-no-such-program'", done.stderr)
