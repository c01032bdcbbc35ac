"""
The safety defaults, as tests that fail if one of them goes: loopback by
default, private UNIX socket directories, TLS that verifies, and no key or
certificate in the repository.
"""

from __future__ import annotations

import os
import stat
import subprocess

from twisted.internet.address import IPv4Address, UNIXAddress
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from trialnet import NetworkTestCase

from .helpers import assertCleanRun, closedNetwork, sample

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class DefaultsTests(SynchronousTestCase):
    """
    What trialnet opens without being told more is private.
    """

    def test_listenOnLoopback(self) -> None:
        """
        C{listen}, C{listenTLS} and C{listenUDP} without an interface bind
        the IPv4 loopback address, not every interface.
        """
        hosts: list[str] = []

        def body(case: NetworkTestCase) -> None:
            from twisted.internet.protocol import DatagramProtocol

            for port in (
                case.listen(Factory.forProtocol(Protocol)),
                case.listenTLS(Factory.forProtocol(Protocol)),
                case.listenUDP(DatagramProtocol()),
            ):
                address = port.getHost()
                assert isinstance(address, IPv4Address)
                hosts.append(address.host)

        result = sample(body)

        assertCleanRun(self, result)
        self.assertEqual(hosts, ["127.0.0.1"] * 3)

    def test_unixDirectoryPrivate(self) -> None:
        """
        Nobody but the owner can list, enter or write the directory of a
        C{listenUNIX} socket, and the socket itself is the owner's only.
        """
        modes: list[tuple[int, int]] = []

        def body(case: NetworkTestCase) -> None:
            address = case.listenUNIX(Factory.forProtocol(Protocol)).getHost()
            assert isinstance(address, UNIXAddress) and address.name
            path = os.fsdecode(address.name)
            modes.append(
                (
                    stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode),
                    stat.S_IMODE(os.stat(path).st_mode),
                )
            )

        result = sample(body)

        assertCleanRun(self, result)
        ((directory, socketFile),) = modes
        self.assertEqual(directory & 0o077, 0)
        self.assertEqual(socketFile & 0o077, 0)

    def test_authorityPEMPrivate(self) -> None:
        """
        The directory holding the authority's certificate is the owner's
        only, and only the certificate is written, never a key.
        """
        authority = closedNetwork(self).tlsAuthority
        directory = os.path.dirname(authority.caPath)
        self.assertEqual(stat.S_IMODE(os.stat(directory).st_mode) & 0o077, 0)
        self.assertEqual(os.listdir(directory), ["ca.pem"])
        with open(authority.caPath, "rb") as f:
            self.assertNotIn(b"PRIVATE KEY", f.read())


class RepositoryTests(SynchronousTestCase):
    """
    Keys and certificates are made at run time, never committed.
    """

    def test_noKeyOrCertificateTracked(self) -> None:
        """
        No file tracked by git is a key or a certificate, by name or by
        content.
        """
        if not os.path.isdir(os.path.join(PROJECT, ".git")):
            raise SkipTest("not a git checkout")
        listed = subprocess.run(
            ["git", "ls-files", "-z"],
            cwd=PROJECT,
            capture_output=True,
            check=True,
        ).stdout.split(b"\0")
        # Spelled in two parts so that this file does not match itself.
        begin, privateKey = b"-" * 5 + b"BEGIN", b"PRIVATE KEY" + b"-" * 5
        suspicious = []
        for name in filter(None, listed):
            path = os.path.join(PROJECT, os.fsdecode(name))
            if name.endswith((b".pem", b".key", b".crt", b".p12", b".pfx", b".der")):
                suspicious.append(name)
                continue
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    content = f.read()
                if begin in content and privateKey in content:
                    suspicious.append(name)
        self.assertEqual(suspicious, [])
