"""
The time examples for L{benchmarks.virtualtime}: C{examples/test_time.py}'s
classes, in virtual time or, with C{TRIALNET_BENCH_VIRTUAL=0}, in real time.
"""

from __future__ import annotations

import os

from examples import test_time

VIRTUAL = os.environ.get("TRIALNET_BENCH_VIRTUAL", "1") == "1"


def _variant(name: str) -> type:
    example = getattr(test_time, name)
    attributes: dict[str, object] = {"virtualTime": VIRTUAL}
    if not VIRTUAL:
        # Real time takes the example's virtual seconds for real.
        attributes.update(timeout=900)
        test_time.REAL_BOUND = 900.0
    return type(name, (example,), attributes)


IdleTests = _variant("IdleTests")
BackoffTests = _variant("BackoffTests")
HTTPTimeoutTests = _variant("HTTPTimeoutTests")
RetransmitTests = _variant("RetransmitTests")
LatencyTests = _variant("LatencyTests")
