"""Import a docker-archive tar into containerd's ``k8s.io`` namespace (the CRI's), by ``ctr``."""

from __future__ import annotations

import subprocess
from pathlib import Path

from localplatform.daemon import PartError

CRI_NAMESPACE = "k8s.io"  # where containerd's CRI plugin, hence the kubelet, looks for images


def imported(ctr: Path, address: Path, name: str) -> bool:
    out = subprocess.run(
        [str(ctr), "--address", str(address), "-n", CRI_NAMESPACE, "images", "ls", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.returncode == 0 and name in out.stdout.split()


def import_archive(ctr: Path, address: Path, archive: Path) -> None:
    """``ctr images import`` (unpacked into the default snapshotter, ready for a pod)."""
    base = [str(ctr), "--address", str(address), "-n", CRI_NAMESPACE]
    out = subprocess.run(
        [*base, "images", "import", str(archive)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise PartError(f"node: importing {archive.name} failed: {out.stderr.strip()[-1000:]}")
