"""Waiting for a real node to catch up: the one poll loop the drills and the node tier share."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class WaitTimeoutError(RuntimeError):
    """What was awaited did not happen in time; the message names it and the last answer."""


def wait_for(check: Callable[[], Any], what: str, seconds: float, every: float = 1) -> Any:
    """``check()``'s first truthy answer within ``seconds``; else raise naming ``what`` and the
    last answer seen (a pod phase, a condition list), which is what a person debugs from."""
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise WaitTimeoutError(f"{what} did not happen within {seconds:.0f}s (last seen: {last!r})")
