"""CoderDouble: a unit-test double of the Coder API endpoints this project calls.

Not Coder: an in-memory model of ``/api/v2`` served through ``httpx.MockTransport``, faithful to
the status codes and body shapes of Coder's API. It counts every request so tests can prove
idempotence, wipes itself (a DB reset, the incident this project exists for), drops connections
or answers 5xx on demand. The core and each endpoint group live in modules of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from testbed.coder_double.core import (
    BASE_URL,
    FIXED_NOW,
    NS,
    ORG_ID,
    DoubleKey,
    DoubleUser,
    FakeClock,
    go_duration,
    message,
    reply,
)
from testbed.coder_double.people import PeopleDouble
from testbed.coder_double.templates import TemplatesDouble


@dataclass
class CoderDouble(TemplatesDouble, PeopleDouble):
    """In-memory Coder; ``transport()`` plugs it into a CoderClient."""


__all__ = [
    "BASE_URL",
    "FIXED_NOW",
    "NS",
    "ORG_ID",
    "CoderDouble",
    "DoubleKey",
    "DoubleUser",
    "FakeClock",
    "go_duration",
    "message",
    "reply",
]
