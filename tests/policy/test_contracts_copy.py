"""The policy pack's copies of project contracts agree with the originals.

The pack runs in its own virtualenv and keeps a copy of what it needs; a copy that drifts would
let the pack pass an image the program refuses, or the other way round.
"""

from __future__ import annotations

import pytest

from coder_platform.contracts import is_pinned_image
from policy.lib.images import is_pinned

IMAGES = [
    "ghcr.io/coder/coder:v2.36.1",
    "ghcr.io/coder/coder",
    "ghcr.io/coder/coder:latest",
    "ghcr.io/coder/coder:LATEST",
    "registry.local:5000/runner",
    "registry.local:5000/runner:1.2.3",
    "runner@sha256:" + "a" * 64,
    "runner@sha256:abc",
    "runner:",
]


@pytest.mark.parametrize("image", IMAGES)
def test_pack_and_program_agree_on_pinned_images_when_given_the_same_reference(image: str) -> None:
    assert is_pinned(image) == is_pinned_image(image)
