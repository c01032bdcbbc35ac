# -*- test-case-name: tests.sockets.test_hostnames -*-
"""
The host names trialnet accepts where an IP literal goes, without a resolver
thread: C{localhost}, meaning the loopback address where one of the
network's ports with that number listens, and the names mapped with
L{mapName<trialnet.INetworkOpening.mapName>}.  Any other name is
refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address

from ._addresses import loopbackOf
from ._ports import PortRecord
from ._targets import checkIPLiteral, isIPLiteral, listeningAddress


def ipAddress(record: PortRecord | None) -> IPv4Address | IPv6Address | None:
    """
    The TCP address a tracked port listens on now, or C{None} for a port
    that is not an IP stream port (UDP, UNIX).

    @raise ValueError: If the port is stopping.
    """
    if record is None or record.port is None or not record.transport.stream:
        return None
    if getattr(record.port, "disconnecting", False):
        # Stopping: the reactor still says connected until the stop ends.
        raise ValueError(f"{record.port!r} is not listening")
    address = listeningAddress(record.port)
    if isinstance(address, (IPv4Address, IPv6Address)) and address.type == "TCP":
        return address
    return None


def resolveName(
    host: str,
    number: int,
    ports: Callable[[], Iterable[PortRecord]],
    owner: Any,
    what: str,
) -> tuple[str, int]:
    """
    Where C{(host, number)} leads, for a connection of the network C{owner}.

    @param ports: The network's port records.
    @param what: What asked, such as C{"connect()"}, for the errors.
    @return: C{(address, number)}: an IP literal as it is, a mapped name's
        port, or for C{localhost} the loopback address of one of the
        network's ports numbered C{number} (IPv4 first).
    @raise ValueError: For any other name, or C{localhost} with no such
        port.
    """
    if isIPLiteral(host):
        return host, number
    mapped = None if owner is None else owner.mappedAddress(host)
    if mapped is not None:
        return mapped  # type: ignore[no-any-return]
    if host == "localhost":
        return _localhost(ports(), number, what), number
    try:
        checkIPLiteral(host, f"the host {what} is given", listening=False)
    except ValueError as error:
        raise ValueError(
            f"{error}; {what} resolves no names but localhost (one of this "
            f"test's ports) and those mapped with mapName()"
        ) from None
    return host, number


def _localhost(records: Iterable[PortRecord], number: int, what: str) -> str:
    found = []
    for record in records:
        try:
            address = ipAddress(record)
        except ValueError:
            continue
        if address is not None and address.port == number:
            loopback = loopbackOf(address.host)
            if loopback is not None:
                found.append(loopback)
    if not found:
        raise ValueError(
            f"localhost:{number} is not a port this test listens on through "
            f"loopback: {what} maps localhost to such a port's address and "
            f"resolves no names"
        )
    return min(found, key=lambda host: ":" in host)
