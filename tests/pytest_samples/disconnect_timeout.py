"""
A sample test of the C{trialnet_disconnect_timeout} ini option, run in a
pytest process by C{tests/core/test_numbers.py}, which sets the option and says
in C{TRIALNET_SAMPLE_TIMEOUT} what the test's network should have taken
from it.  The file name does not start with C{test_}, so neither trial nor
pytest collects it from the suite.
"""

from __future__ import annotations

import os

from trialnet import Network


def test_disconnectTimeout(network: Network) -> None:
    assert network.disconnectTimeout == float(os.environ["TRIALNET_SAMPLE_TIMEOUT"])
