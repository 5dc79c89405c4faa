"""Cron schedules for the in-cluster jobs: evenly spaced, never rarer than configured."""

from __future__ import annotations

import hashlib

MINUTE_STEPS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)
HOUR_STEPS = (1, 2, 3, 4, 6, 8, 12)


def schedule_for(interval_minutes: int, stack: str) -> tuple[str, int]:
    """A cron schedule at most ``interval_minutes`` apart, and its real interval in minutes.

    Cron steps restart every hour (or day), so the interval is rounded down to a divisor of 60
    minutes (or 24 hours) to keep runs evenly spaced; never up, so runs are never rarer than
    configured. A per-stack offset from the stack name keeps stacks from all firing at :00.
    """
    seed = int(hashlib.sha256(stack.encode()).hexdigest(), 16)
    if interval_minutes < 60:
        step = max(s for s in MINUTE_STEPS if s <= interval_minutes)
        return f"{seed % step}-59/{step} * * * *", step
    minute = seed % 60
    if interval_minutes < 1440:
        hours = max(h for h in HOUR_STEPS if h <= interval_minutes // 60)
        return f"{minute} {(seed // 60) % hours}-23/{hours} * * *", hours * 60
    return f"{minute} {(seed // 60) % 24} * * *", 1440
