"""
The check that the suite leaves no child process: C{tests.childrenLeft},
run on small modules that leave a child, or not.
"""

# ruff: noqa: N999

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from .programs import gone

#: The directory that holds the C{tests} package.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def check(program: str) -> subprocess.CompletedProcess[str]:
    """
    Run the check on a module holding C{program}.
    """
    with tempfile.TemporaryDirectory() as directory:
        with open(os.path.join(directory, "sampleRunner.py"), "w") as f:
            f.write(program)
        return subprocess.run(
            [sys.executable, "-m", "tests.childrenLeft", "-m", "sampleRunner", "ran"],
            env=dict(os.environ, PYTHONPATH=os.pathsep.join([directory, ROOT])),
            capture_output=True,
            text=True,
            timeout=60,
        )


class ChildrenLeftTests(SynchronousTestCase):
    """
    C{tests.childrenLeft} fails a run that leaves a child.
    """

    def test_clean(self) -> None:
        """
        A run that leaves nothing keeps its own exit status, and its
        arguments.
        """
        done = check(
            "import subprocess, sys\n"
            "subprocess.run([sys.executable, '-c', 'pass'])\n"
            "assert sys.argv[1:] == ['ran'], sys.argv\n"
            "raise SystemExit(0)\n"
        )
        self.assertEqual((done.returncode, done.stderr), (0, ""))
        failed = check("raise SystemExit(3)\n")
        self.assertEqual(failed.returncode, 3)

    def test_childLeft(self) -> None:
        """
        A child left running, and one left as a zombie, fail a run that
        passed, each named with its pid; both are killed and reaped.
        """
        done = check(
            "import os, subprocess, sys, time\n"
            "running = subprocess.Popen([sys.executable, '-c', "
            "'import time; time.sleep(60)'])\n"
            "zombie = subprocess.Popen([sys.executable, '-c', 'pass'])\n"
            "time.sleep(0.5)\n"
            "print(running.pid, zombie.pid)\n"
            "running.returncode = zombie.returncode = 0\n"
        )
        self.assertEqual(done.returncode, 1, done.stderr)
        pids = [int(word) for word in done.stdout.split()]
        self.assertIn("left 2 child process(es) behind", done.stderr)
        for pid in pids:
            self.assertIn(f"pid {pid}, state", done.stderr)
            self.assertTrue(gone(pid))
        self.assertIn("state Z", done.stderr)
