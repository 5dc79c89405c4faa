"""The runner image the node imports runs the project's code: its entrypoint, as the image's
user, with the image's environment, inside the image's filesystem and nothing of the host's.

Part of the node tier (root: ``chroot`` and a private mount namespace for ``/dev``; the venvs
from ``scripts/install-node runner-venvs`` and the toolchain). It needs no node running.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from coder_platform.specs.jobs import RUN_AS
from localplatform.binaries import ROOT, installed_paths
from localplatform.images.archive import ImageSpec, layer_tar
from localplatform.images.runner import RUNNER_IMAGE, installed_inputs, runner

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def image() -> ImageSpec:
    paths = installed_paths(ROOT, "install-node", "node: not installed", "builds it")
    return runner(
        installed_inputs(ROOT, Path(paths["runner_venv"]), Path(paths["runner_policy_venv"]))
    )


@pytest.fixture(scope="module")
def rootfs(image: ImageSpec, tmp_path_factory: pytest.TempPathFactory) -> Path:
    into = tmp_path_factory.mktemp("runner-rootfs")
    subprocess.run(["tar", "-x", "-C", str(into)], input=layer_tar(image.entries), check=True)
    (into / "dev").mkdir(exist_ok=True)
    into.chmod(0o755)  # the image's / (pytest makes its directories 0700)
    return into


def run_in_image(
    image: ImageSpec, rootfs: Path, command: list[str]
) -> subprocess.CompletedProcess[str]:
    """As a container runtime would: the image's env, user and workdir; /dev from the host."""
    inner = " ".join([f"cd {image.workdir} &&", "exec", *(f"'{word}'" for word in command)])
    return subprocess.run(
        [
            "/usr/bin/unshare",
            "--mount",
            "--fork",
            "/bin/sh",
            "-c",
            '/usr/bin/mount --rbind /dev "$0/dev" && '
            f'exec /usr/sbin/chroot --userspec={image.user} "$0" /bin/sh -c "$1"',
            str(rootfs),
            inner,
        ],
        env=dict(image.env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_runner_image_answers_its_default_command_when_run_as_the_image_runs_it(
    image: ImageSpec, rootfs: Path
) -> None:
    out = run_in_image(image, rootfs, [*image.entrypoint, *image.cmd])

    assert image.name == RUNNER_IMAGE
    assert image.user == f"{RUN_AS}:{RUN_AS}"
    assert out.returncode == 0, out.stderr[-2000:]
    assert "reconcile" in out.stdout


def test_the_drill_entry_starts_and_names_its_missing_settings_when_run_without_them(
    image: ImageSpec, rootfs: Path
) -> None:
    out = run_in_image(image, rootfs, ["python", "-m", "automation.drill"])

    assert out.returncode == 2, out.stderr[-2000:]
    line = json.loads(out.stdout.splitlines()[-1])
    assert line["kind"] == "error" and "CODER_PLATFORM_DRILL_STACK" in line["message"]


def test_the_engine_in_the_image_is_the_toolchains_when_asked_its_version(
    image: ImageSpec, rootfs: Path
) -> None:
    out = run_in_image(image, rootfs, ["pulumi", "version"])

    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("v3.")
