"""The images the node runs, under the names the stack and containerd's config pin.

Each is made from a binary the project's install scripts built; none is pulled.
"""

from __future__ import annotations

from pathlib import Path

from localplatform.images.archive import Entry, ImageSpec

# containerd's CRI runs every pod's sandbox from this image (its config's sandbox_image); the
# name is upstream's, so nothing else changes when a registry is reachable.
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"


def pause(binary: Path) -> ImageSpec:
    return ImageSpec(
        name=PAUSE_IMAGE,
        entries=[Entry("pause", source=binary)],
        entrypoint=["/pause"],
        user="65535:65535",
    )
