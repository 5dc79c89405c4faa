"""The time sources: a monotonic ``Clock`` for bounded retries and deadlines (contract P1), and
a wall-clock ``Now`` for expiry decisions (token rotation).

Shared by the Coder client, the providers and the runner's probes; tests pass fakes that never
really sleep and a ``Now`` they move by hand.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

# What time it is now, timezone-aware (UTC); expiry and rotation decisions compare against it.
Now = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
