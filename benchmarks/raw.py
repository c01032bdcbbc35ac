"""
The floor for Python: the benchmark's work with blocking sockets in a loop,
no framework.

    python -m benchmarks.raw N
"""

from __future__ import annotations

import socket
import sys


def once() -> None:
    """
    Listen, connect, accept, echo 4 bytes, close all three sockets.
    """
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            accepted, _ = server.accept()
            with accepted:
                client.sendall(b"ping")
                accepted.sendall(accepted.recv(4))
                if client.recv(4) != b"ping":
                    raise RuntimeError("the echo came back wrong")


def main(argv: list[str]) -> None:
    for _ in range(int(argv[0])):
        once()
    print("PASSED")


if __name__ == "__main__":
    main(sys.argv[1:])
