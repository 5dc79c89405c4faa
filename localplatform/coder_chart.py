"""Coder's Helm chart for the node, from the Coder module the local platform's Coder is built
from (no Helm repository is reachable here; dev and prod install the same chart from
``coder.chartRepository``).

The module ships the chart as source (``helm/coder``): its ``Chart.yaml`` says version and
appVersion 0.1.0 (upstream injects both at release, and the chart fails "You must specify the
coder.image.tag value if you're installing the Helm chart directly from Git" while appVersion is
0.1.0), and its one dependency, ``libcoder``, is the sibling ``helm/libcoder``
(``repository: file://../libcoder``). The copy made here is what a release package holds: both
versions set to the Coder version, so the chart runs ``ghcr.io/coder/coder:v<version>`` (the
image ``localplatform.images.catalog.coder`` builds from the same Coder build), and libcoder
under ``charts/``, where Helm looks for a dependency without fetching it. The module cache is
read-only; the copy is writable and replaced whole each time.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from localplatform.daemon import PartError

CODER_MODULE = "github.com/coder/coder/v2"
LIBRARY = "libcoder"


def coder_module_dir(version: str) -> Path:
    """The pinned Coder module in Go's module cache (scripts/install-platform downloaded it to
    build Coder)."""
    out = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=False)
    if out.returncode != 0 or not out.stdout.strip():
        raise PartError(f"coder chart: `go env GOMODCACHE` failed: {out.stderr.strip()}")
    module = Path(out.stdout.strip()) / f"{CODER_MODULE}@v{version}"
    if not (module / "helm" / "coder" / "Chart.yaml").is_file():
        raise PartError(
            f"coder chart: {module}/helm/coder is missing: the Coder module v{version} is not in "
            "the module cache (scripts/install-platform downloads it)"
        )
    return module


def _copy(source: Path, destination: Path, *ignored: str) -> None:
    """``source`` copied with owner-writable modes (the module cache's are read-only)."""
    shutil.copytree(
        source,
        destination,
        copy_function=shutil.copyfile,
        ignore=shutil.ignore_patterns(*ignored) if ignored else None,
    )
    for path in [destination, *destination.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def prepare_chart(module: Path, version: str, destination: Path) -> Path:
    """The module's chart at ``destination`` as a release would package it: version and
    appVersion ``version``, libcoder under ``charts/``, upstream's chart tests left out."""
    source = module / "helm"
    if destination.exists():
        shutil.rmtree(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    _copy(source / "coder", destination, "tests")
    _copy(source / LIBRARY, destination / "charts" / LIBRARY)
    chart_file = destination / "Chart.yaml"
    chart = yaml.safe_load(chart_file.read_text())
    dependencies = [d["name"] for d in chart.get("dependencies") or []]
    if dependencies != [LIBRARY]:
        raise PartError(
            f"coder chart: {source / 'coder'} depends on {dependencies}, not on {LIBRARY} alone "
            "as this copy assumes"
        )
    chart["version"] = version
    chart["appVersion"] = version
    chart_file.write_text(yaml.safe_dump(chart, sort_keys=False))
    return destination
