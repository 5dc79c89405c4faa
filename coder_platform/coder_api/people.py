"""User, group, license and entitlement endpoints."""

from __future__ import annotations

from coder_platform.coder_api.core import CoderClientCore


class PeopleEndpoints(CoderClientCore):
    """``/users``, ``/groups``, ``/licenses`` and ``/entitlements``."""
