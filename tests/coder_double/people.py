"""The people endpoints of the Coder double: users, roles, groups, licenses, entitlements."""

from __future__ import annotations

from dataclasses import dataclass

from tests.coder_double.core import CoderDoubleCore


@dataclass
class PeopleDouble(CoderDoubleCore):
    """Extends the core with user, group, license and entitlement routes."""
