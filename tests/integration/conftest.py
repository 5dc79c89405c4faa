"""Fixtures for the real-engine tier: the toolchain, a loopback cluster, an isolated project.

This tier runs only when ``scripts/test`` has the toolchain (it builds it, cache-aware); a
fixture that cannot find it fails loudly instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from coder_platform.contracts import PROJECT
from localkube.cluster import LocalCluster, local_cluster, pinned_crd_versions
from tests.integration.runner import Project

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = (
    "Pulumi.yaml",
    "__main__.py",
    "coder_platform",
    "components",
    "wiring",
    "stacks",
    "policy",
    "templates",
)


def read_toolchain_env() -> dict[str, str]:
    out = subprocess.run(
        [str(ROOT / "scripts" / "install-toolchain"), "--print-env", "--no-python-host"],
        check=False,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        pytest.fail(
            "the integration tier needs the toolchain: run scripts/install-toolchain "
            f"({out.stderr.strip()})",
            pytrace=False,
        )
    env = dict(os.environ)
    for line in out.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = os.path.expandvars(value.strip().strip("'\""))
    return env


@pytest.fixture(scope="session")
def toolchain_env() -> dict[str, str]:
    return read_toolchain_env()


@pytest.fixture(scope="session")
def cluster(
    toolchain_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalCluster]:
    bin_dir = Path(toolchain_env["PATH"].split(os.pathsep)[0])
    with local_cluster(
        tmp_path_factory.mktemp("cluster"), bin_dir, pinned_crd_versions(), toolchain_env
    ) as running:
        yield running


def copy_project(destination: Path) -> Path:
    """The project's program, stacks and pack in a directory of its own, so the embedded
    backend (``.pulumi-state``) and reports of a test never touch the checkout."""
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source,
                destination / name,
                ignore=shutil.ignore_patterns(".venv", "__pycache__"),
            )
        else:
            shutil.copy2(source, destination / name)
    (destination / "policy" / ".venv").symlink_to(ROOT / "policy" / ".venv")
    kubernetes_only(destination / "stacks" / "Pulumi.local.yaml")
    return destination


def kubernetes_only(stack_file: Path) -> None:
    """This tier proves the Kubernetes parts on a loopback API server alone: the copy's local
    stack drops Coder, seeding and Vault (the e2e tier runs the whole local platform)."""
    stack = yaml.safe_load(stack_file.read_text())
    config = stack["config"]
    config[f"{PROJECT}:vault"] = {"enabled": False}
    for key in (f"{PROJECT}:coder", f"{PROJECT}:seeding"):
        config.pop(key, None)
    stack_file.write_text(yaml.safe_dump(stack, sort_keys=False))


@pytest.fixture(scope="module")
def project(
    toolchain_env: dict[str, str], cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Project:
    work_dir = copy_project(tmp_path_factory.mktemp("project"))
    return Project(work_dir, {**toolchain_env, "KUBECONFIG": str(cluster.kubeconfig)})
