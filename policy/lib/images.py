"""Container image references: pinned means a version tag or a digest, never ``latest``.

A deliberate copy of ``coder_platform.contracts.is_pinned_image``: the pack runs in its own
virtualenv and cannot import the project. ``tests/policy/test_contracts_copy.py`` keeps the
two in agreement.
"""

from __future__ import annotations

import re

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def is_pinned(image: str) -> bool:
    """``repo:1.2.3`` or ``repo@sha256:...``; not ``repo``, ``repo:latest``, ``host:5000/repo``."""
    if _DIGEST.search(image):
        return True
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.rsplit(":", 1)[1]
    return bool(tag) and tag.lower() != "latest"
