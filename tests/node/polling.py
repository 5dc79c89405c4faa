"""The node tier's waits: the drills' poll loop, failing the test (not erroring it) on a timeout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from localplatform import polling


def wait_for(check: Callable[[], Any], what: str, seconds: float, every: float = 1) -> Any:
    try:
        return polling.wait_for(check, what, seconds, every)
    except polling.WaitTimeoutError as timeout:
        pytest.fail(str(timeout))
