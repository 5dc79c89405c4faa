"""Repeated wall-time samples, summarised by their median and min (robust to a noisy neighbour)."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Measurement:
    """One benchmarked operation: its samples in seconds, or why it could not be measured."""

    name: str
    samples: list[float] = field(default_factory=list)
    note: str = ""
    error: str | None = None
    runner_seconds: list[float] = field(default_factory=list)
    comparable: bool = True  # False for one-off setup costs, which get no ratio

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def minimum(self) -> float | None:
        return min(self.samples) if self.samples else None

    @property
    def runner_median(self) -> float | None:
        return statistics.median(self.runner_seconds) if self.runner_seconds else None

    def ratio_to(self, base: Measurement | None) -> float | None:
        """This median over ``base``'s median (None when either was not measured)."""
        if not self.comparable or base is None or self.median is None or not base.median:
            return None
        return self.median / base.median


def timed(call: Callable[[], T]) -> tuple[T, float]:
    """``call()``'s result and its wall time in seconds (monotonic clock).

    Garbage left by earlier samples is collected first, so one sample does not pay for another.
    """
    gc.collect()
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def timed_per_call(call: Callable[[], T], budget: float = 0.25) -> tuple[T, float]:
    """``call()`` repeated until ``budget`` seconds have passed; the mean seconds per call.

    One sample of a call that takes milliseconds is mostly timer and scheduler noise; a sample
    that lasts a quarter of a second is not.
    """
    gc.collect()
    calls = 0
    start = time.perf_counter()
    while True:
        result = call()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            return result, elapsed / calls
