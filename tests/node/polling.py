"""Waiting for a real node to catch up: the node tier's one poll loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def wait_for(check: Callable[[], Any], what: str, seconds: float, every: float = 1) -> Any:
    """``check()``'s first truthy answer within ``seconds``; else fail naming ``what`` and the
    last answer seen (a pod phase, a condition list), which is what a person debugs from."""
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"{what} did not happen within {seconds:.0f}s (last seen: {last!r})")
