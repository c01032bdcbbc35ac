"""
What a pass-through link costs, against a direct connection, in one run on
one machine.

    python -m benchmarks.links [--tests N] [--repeat R] [--megabytes M]

1. Per test: the same trialnet suite (listen, connect, wait for both ends,
   echo 4 bytes, tear down) straight to the port and through a link with no
   condition, each run in a fresh process, interleaved; the medians, and
   their ratio.
2. Throughput: M megabytes from a client to a server, straight and through
   the link, in one process; the medians, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol

from trialnet import Network

from .run import perTestSeconds, runProcess


class _Sink(Protocol):
    """
    Counts what it receives, and says when it has it all.
    """

    def __init__(self, expected: int, done: Deferred[float]) -> None:
        self.expected = expected
        self.received = 0
        self.done = done

    def dataReceived(self, data: bytes) -> None:
        self.received += len(data)
        if self.received >= self.expected and not self.done.called:
            self.done.callback(time.perf_counter())


class _SinkFactory(Factory):
    noisy = False

    def __init__(self, expected: int, done: Deferred[float]) -> None:
        self.expected = expected
        self.done = done

    def buildProtocol(self, addr: object) -> _Sink:
        return _Sink(self.expected, self.done)


async def _transfer(reactor: Any, size: int, linked: bool) -> float:
    """
    Send C{size} bytes to a server, directly or through a link.

    @return: Seconds from the first write to the last byte received.
    """
    network = Network(reactor)
    try:
        done: Deferred[float] = Deferred()
        port = network.listen(_SinkFactory(size, done))
        target = network.link(port) if linked else port
        client = await network.connect(target, Factory.forProtocol(Protocol))
        assert client.transport is not None
        chunk = b"x" * 65536
        started = time.perf_counter()
        for _ in range(size // len(chunk)):
            client.transport.write(chunk)
        return await done - started
    finally:
        await network.close()


def measureThroughput(megabytes: int, repeat: int) -> None:
    """
    Print the median throughput, in MB/s, straight and through a link, then
    C{OK}: run in a process of its own, since it runs the reactor.
    """
    from twisted.internet.task import react

    size = megabytes * 1024 * 1024
    samples: dict[str, list[float]] = {"direct": [], "link": []}

    async def measure(reactor: Any) -> None:
        for _ in range(repeat):
            for name in samples:
                seconds = await _transfer(reactor, size, name == "link")
                samples[name].append(megabytes / seconds)
        for name, values in samples.items():
            print(name, statistics.median(values))
        print("\nOK")

    react(lambda reactor: Deferred.fromCoroutine(measure(reactor)))


def throughput(megabytes: int, repeat: int) -> dict[str, float]:
    """
    The median throughput, in MB/s, straight and through a link.
    """
    command = ("benchmarks.links", "--throughput", str(megabytes), str(repeat))
    output = runProcess(command, 0).output
    rates = {}
    for line in output.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] in ("direct", "link"):
            rates[fields[0]] = float(fields[1])
    return rates


def perTest(tests: int, repeat: int) -> dict[str, float]:
    """
    The median seconds per test of each suite, in fresh processes, less
    those of an empty suite (the interpreter and trial starting).
    """
    return perTestSeconds(
        "benchmarks.link_cases",
        {"empty": "EmptyTests", "direct": "DirectTests", "link": "LinkedTests"},
        tests,
        repeat,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--megabytes", type=int, default=64)
    options = parser.parse_args(argv)
    costs = perTest(options.tests, options.repeat)
    print(f"Per test, {options.tests} tests, median of {options.repeat} runs:")
    for name, seconds in costs.items():
        print(f"  {name:<8} {seconds * 1000:8.3f} ms")
    added = (costs["link"] - costs["direct"]) * 1000
    ratio = costs["link"] / costs["direct"]
    print(f"  link / direct: {ratio:.2f} (a link adds {added:.3f} ms a test)")
    rates = throughput(options.megabytes, options.repeat)
    print(f"Throughput, {options.megabytes} MB, median of {options.repeat}:")
    for name, rate in rates.items():
        print(f"  {name:<8} {rate:8.1f} MB/s")
    print(f"  link / direct: {rates['link'] / rates['direct']:.2f}")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--throughput"]:
        measureThroughput(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
