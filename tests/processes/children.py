"""
The servers and failing children that the tests of C{spawnServer()} run,
in a child process: C{python -I children.py MODE}.  Only the C{activated}
mode imports Twisted (a real Twisted server on the inherited socket); the
others are a bare interpreter's, so that the tests stay fast.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable

#: This file, for the argv of a child.
SCRIPT = os.path.abspath(__file__)


def argv(mode: str, *more: str) -> list[str]:
    """
    @return: The argv that runs this script in C{mode}.
    """
    return [sys.executable, "-I", SCRIPT, mode, *more]


def _echo(listening: socket.socket) -> None:
    """
    Echo each connection's bytes until it closes, one thread each.
    """

    def serve(connection: socket.socket) -> None:
        with connection:
            while data := connection.recv(65536):
                connection.sendall(data)

    while True:
        connection, _ = listening.accept()
        threading.Thread(target=serve, args=(connection,), daemon=True).start()


def activated() -> None:
    """
    A Twisted echo server on the socket of systemd socket activation.
    """
    from twisted.internet import reactor
    from twisted.internet.endpoints import serverFromString
    from twisted.internet.protocol import Factory, Protocol

    class Echo(Protocol):
        def dataReceived(self, data: bytes) -> None:
            assert self.transport is not None
            self.transport.write(data)

    endpoint = serverFromString(reactor, "systemd:domain=INET:index=0")
    endpoint.listen(Factory.forProtocol(Echo))
    print("serving on the inherited socket", flush=True)
    reactor.run()


def printsPort(
    stream: str = "stdout", text: str = "listening on {host}:{port}"
) -> None:
    """
    An echo server that binds by itself and says where on C{stream}, in
    two writes (a line is matched once complete).
    """
    listening = socket.create_server(("127.0.0.1", 0))
    host, port = listening.getsockname()
    out = sys.stdout if stream == "stdout" else sys.stderr
    print("starting up", file=sys.stdout, flush=True)
    line = text.format(host=host, port=port)
    out.write(line[:5])
    out.flush()
    time.sleep(0.01)
    out.write(line[5:] + "\n")
    out.flush()
    _echo(listening)


def crash() -> None:
    """
    Fail at start-up, with a traceback on stderr, after a word on stdout.
    """
    print("configuring", flush=True)
    raise SystemExit("cannot read the configuration: no such file")


def boom() -> None:
    """
    Exit with status 3 at once, saying why on stderr (with socket
    activation it is ready before it runs).
    """
    sys.stderr.write("boom: missing config\n")
    sys.stderr.flush()
    os._exit(3)


def silent() -> None:
    """
    Never say anything, and never end by itself.
    """
    while True:
        time.sleep(60)


def closesOutput() -> None:
    """
    Close both output streams without a ready line, and keep running.
    """
    print("detaching", flush=True)
    os.close(1)
    os.close(2)
    while True:
        time.sleep(60)


def environment() -> None:
    """
    Print what the child inherits, then serve on the inherited socket.
    """
    listening = socket.socket(fileno=3)
    print(
        f"cwd={os.getcwd()} marker={os.environ.get('TRIALNET_MARKER')} "
        f"pid={os.getpid()} listenPid={os.environ.get('LISTEN_PID')} "
        f"names={os.environ.get('LISTEN_FDNAMES')} pgid={os.getpgid(0)} "
        f"sid={os.getsid(0)}",
        flush=True,
    )
    _echo(listening)


def chatty(count: str) -> None:
    """
    Write C{count} numbered lines, alternating stdout and stderr, then
    exit.
    """
    for number in range(int(count)):
        out = sys.stdout if number % 2 else sys.stderr
        out.write(f"line {number}\n")
        out.flush()


def exitsAfter(seconds: str) -> None:
    """
    Serve on the inherited socket, then exit with status 4 after
    C{seconds}, saying why.
    """
    listening = socket.socket(fileno=3)
    threading.Thread(target=_echo, args=(listening,), daemon=True).start()
    time.sleep(float(seconds))
    print("giving up: the database went away", file=sys.stderr, flush=True)
    os._exit(4)


def stubborn() -> None:
    """
    Serve on the inherited socket, ignoring SIGTERM and SIGQUIT: only
    SIGKILL ends it.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    print("stubborn server up, ignoring SIGTERM", flush=True)
    _echo(socket.socket(fileno=3))


def forks() -> None:
    """
    Fork a grandchild that holds the output and sleeps, print its pid, then
    serve on the inherited socket.
    """
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    print(pid, flush=True)
    _echo(socket.socket(fileno=3))


def watchesClose() -> None:
    """
    Echo the first bytes of one connection on the inherited socket; at
    SIGTERM, say whether that connection was closed by then.
    """
    connection, _ = socket.socket(fileno=3).accept()

    def terminated(signum: int, frame: object) -> None:
        connection.setblocking(False)
        try:
            # Nothing more to read: it ended (an orderly end, or a reset).
            state = "open" if connection.recv(1) else "closed"
        except BlockingIOError:
            state = "open"
        except OSError:
            state = "closed"
        print(f"SIGTERM with the connection {state}", flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, terminated)
    connection.sendall(connection.recv(65536))
    while True:
        time.sleep(60)


def slowReady(seconds: str) -> None:
    """
    Bind, stay silent for C{seconds} of real time, then say where and
    serve.
    """
    listening = socket.create_server(("127.0.0.1", 0))
    time.sleep(float(seconds))
    print(f"listening on 127.0.0.1:{listening.getsockname()[1]}", flush=True)
    _echo(listening)


MODES: dict[str, Callable[..., None]] = {
    "activated": activated,
    "printsPort": printsPort,
    "crash": crash,
    "boom": boom,
    "silent": silent,
    "closesOutput": closesOutput,
    "environment": environment,
    "chatty": chatty,
    "exitsAfter": exitsAfter,
    "stubborn": stubborn,
    "forks": forks,
    "watchesClose": watchesClose,
    "slowReady": slowReady,
}

if __name__ == "__main__":
    MODES[sys.argv[1]](*sys.argv[2:])
