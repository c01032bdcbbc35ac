# -*- test-case-name: tests.waits.test_conversation -*-
"""
The interfaces of the waits: what a protocol with bounded waits declares
(L{IBoundedWaits}), so that a network can set its bound.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface


class IBoundedWaits(Interface):
    """
    A protocol whose waits are bounded by a number of seconds that the
    network that connects or accepts it may set (a L{trialnet.Recorder}).
    """

    waitTimeout = Attribute(
        "The default bound of its waits, in seconds, or None for a default "
        "the network may set."
    )
    failFast = Attribute(
        "Whether an error logged while it waits fails its waits at once, or "
        "None for what the network says."
    )
