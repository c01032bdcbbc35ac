# -*- test-case-name: tests.test_plugin -*-
"""
trialnet's pytest plugin: the C{network} fixture, for tests run by
U{pytest-twisted<https://github.com/pytest-dev/pytest-twisted>}.

pytest finds it through the C{pytest11} entry point; nothing needs to be
configured.  Trial users never import it, and importing it without pytest
installed defines no fixture and fails nothing.

pytest-twisted runs the reactor for the whole session (in a greenlet, with
C{--reactor=default} or C{--reactor=asyncio}); the fixture gives each test a
L{trialnet.Network} on that reactor, and at the test's teardown waits for
L{trialnet.Network.close}, so a teardown that had to abort anything is the
test's error, with the same report as under trial.

Set the bound with the C{trialnet_disconnect_timeout} ini option (seconds,
5 by default) or per test, by setting C{network.disconnectTimeout}; the
processes' bound with C{trialnet_process_timeout} or
C{network.processTimeout}.

Virtual time (see L{INetwork.virtualTime<trialnet.INetwork.virtualTime>}):
mark a test with C{@pytest.mark.virtual_time} (or C{virtual_time(False)} to
opt one out), or turn it on for every test with the C{trialnet_virtual_time}
ini option.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._core._defaults import DISCONNECT_TIMEOUT, PROCESS_TIMEOUT
from ._core._seconds import checkSeconds
from ._network import Network
from ._time._virtual import checkVirtualTime

#: The ini option that sets C{disconnectTimeout} for every test.
TIMEOUT_OPTION = "trialnet_disconnect_timeout"

#: The ini option that sets C{processTimeout} for every test.
PROCESS_TIMEOUT_OPTION = "trialnet_process_timeout"

#: The ini option that sets C{strictCleanup} for every test.
STRICT_OPTION = "trialnet_strict_cleanup"

#: The ini option that sets C{virtualTime} for every test.
VIRTUAL_OPTION = "trialnet_virtual_time"

#: The marker that sets C{virtualTime} for one test.
VIRTUAL_MARKER = "virtual_time"


def _closeAndWait(network: Network) -> None:
    try:
        import pytest_twisted
    except ImportError:
        raise RuntimeError(
            "trialnet's network fixture waits for its teardown on the reactor "
            "that pytest-twisted runs: install pytest-twisted"
        ) from None
    pytest_twisted.blockon(network.close())


def _iniTimeout(config: Any, option: str = TIMEOUT_OPTION) -> float:
    """
    The C{trialnet_disconnect_timeout} ini option (or another bound's), in
    seconds.

    @raise ValueError: Naming the option, when its value is not a finite
        positive number (C{abc}, C{-1}, C{inf}, C{nan}, C{1e400}).
    """
    text = config.getini(option)
    try:
        return checkSeconds(float(text), option)
    except (TypeError, ValueError):
        raise ValueError(
            f"the ini option {option} must be a finite positive number "
            f"of seconds, not {text!r}"
        ) from None


def _virtualTime(request: Any) -> bool:
    """
    Whether the test asked for virtual time: its C{virtual_time} marker
    (C{True} unless given an argument), else the ini option.

    @raise TypeError: When the marker's argument is not a C{bool}.
    """
    marker = request.node.get_closest_marker(VIRTUAL_MARKER)
    if marker is None:
        return bool(request.config.getini(VIRTUAL_OPTION))
    if marker.args:
        return checkVirtualTime(marker.args[0], f"the {VIRTUAL_MARKER} marker")
    return True


def network(request: Any) -> Iterator[Network]:
    """
    A L{trialnet.Network} for one test, closed (and waited for) when the
    test ends.

    @return: An iterator that yields the network, as pytest wants of a
        fixture with a teardown.
    """
    timeout = _iniTimeout(request.config)
    stopping = _iniTimeout(request.config, PROCESS_TIMEOUT_OPTION)
    strict = bool(request.config.getini(STRICT_OPTION))
    opened = Network(
        disconnectTimeout=timeout,
        strictCleanup=strict,
        processTimeout=stopping,
        virtualTime=_virtualTime(request),
    )
    try:
        yield opened
    finally:
        _closeAndWait(opened)


def pytest_configure(config: Any) -> None:
    """
    Declare the C{virtual_time} marker.
    """
    config.addinivalue_line(
        "markers",
        f"{VIRTUAL_MARKER}(on=True): run the test's network fixture in virtual "
        "time (trialnet)",
    )


def pytest_addoption(parser: Any) -> None:
    """
    Add the C{trialnet_disconnect_timeout}, C{trialnet_process_timeout},
    C{trialnet_strict_cleanup} and C{trialnet_virtual_time} ini options.
    """
    parser.addini(
        VIRTUAL_OPTION,
        "whether the network fixture makes the reactor's clock virtual for "
        "every test (or mark tests with virtual_time)",
        type="bool",
        default=False,
    )
    parser.addini(
        STRICT_OPTION,
        "whether what the code under test left open when a test ended fails "
        "that test (the network fixture's strictCleanup)",
        type="bool",
        default=False,
    )
    parser.addini(
        TIMEOUT_OPTION,
        "seconds the network fixture's teardown allows for an orderly close",
        default=str(DISCONNECT_TIMEOUT),
    )
    parser.addini(
        PROCESS_TIMEOUT_OPTION,
        "seconds the network fixture's teardown allows the processes started "
        "during a test to end after SIGTERM, before SIGQUIT and SIGKILL",
        default=str(PROCESS_TIMEOUT),
    )


try:
    import pytest
except ImportError:  # Trial users need not have pytest.
    pass
else:
    network = pytest.fixture(network)
