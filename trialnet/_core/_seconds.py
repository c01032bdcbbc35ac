# -*- test-case-name: tests.core.test_seconds,tests.core.test_numbers -*-
"""
The one check of a number of seconds, wherever trialnet takes one: a bound
(C{disconnectTimeout}, a connection attempt's C{timeout}, a wait's), a
link's latency, jitter or gap, a datagram link's delay.  Each is a finite
C{int} or C{float}, never a C{bool}, NaN or infinity (which would leave a
bound unbounded, or schedule a timer the reactor cannot order); positive
where zero would mean nothing (a bound), zero or more where zero is a
meaningful delay.  A wrong type is a C{TypeError}, a wrong value a
C{ValueError}, both with the one message saying what was expected.
"""

from __future__ import annotations

import math


def checkSeconds(value: object, what: str, zero: bool = False) -> float:
    """
    @param what: The argument's name, for the error.
    @param zero: Whether zero is allowed (a delay of none), rather than a
        positive number (a bound).
    @return: C{value} as a float.
    @raise TypeError: When it is not an C{int} or C{float}, or is a C{bool}.
    @raise ValueError: When it is NaN, infinite, too large for a float,
        negative, or zero where that is not allowed.
    """
    return checkAmount(value, what, "seconds", zero)


def checkAmount(value: object, what: str, unit: str, zero: bool = False) -> float:
    """
    L{checkSeconds} of an amount in another C{unit}, such as the
    C{"bytes a second"} of a link's bandwidth.
    """
    if zero:
        expected = f"a finite number of {unit}, zero or more (an int or a float)"
    else:
        expected = f"a finite positive number of {unit} (an int or a float)"
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{what} must be {expected}, not {value!r}")
    try:
        amount = float(value)
    except OverflowError:
        # Only an int overflows, with too many digits to show (repr even
        # refuses past 4300 of them).
        digits = int(int(value).bit_length() * math.log10(2)) + 1
        shown = (
            f"a negative int of about {digits} digits"
            if value < 0
            else f"an int of about {digits} digits, too large for a float"
        )
        raise ValueError(f"{what} must be {expected}, not {shown}") from None
    if not math.isfinite(amount) or amount < 0 or (amount == 0 and not zero):
        raise ValueError(f"{what} must be {expected}, not {value!r}")
    return amount
