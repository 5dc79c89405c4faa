"""The time source for bounded retries and deadlines (contract P1: bounded internal retry).

Shared by the Coder client and the runner's dependency probes; tests pass a fake that never
really sleeps.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
