"""Fixtures for the real-engine tier: the toolchain, a loopback cluster, an isolated project.

This tier runs only when ``scripts/test`` has the toolchain (it builds it, cache-aware); a
fixture that cannot find it fails loudly instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from localkube.cluster import LocalCluster, local_cluster, pinned_crd_versions
from testbed.project import Project, ToolchainMissingError, copy_project, read_toolchain_env


@pytest.fixture(scope="session")
def toolchain_env() -> dict[str, str]:
    try:
        return read_toolchain_env()
    except ToolchainMissingError as missing:
        pytest.fail(str(missing), pytrace=False)


def _started_cluster(
    name: str, toolchain_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalCluster]:
    bin_dir = Path(toolchain_env["PATH"].split(os.pathsep)[0])
    with local_cluster(
        tmp_path_factory.mktemp(name), bin_dir, pinned_crd_versions(), toolchain_env
    ) as running:
        yield running


@pytest.fixture(scope="session")
def cluster(
    toolchain_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalCluster]:
    yield from _started_cluster("cluster", toolchain_env, tmp_path_factory)


@pytest.fixture(scope="module")
def own_cluster(
    toolchain_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalCluster]:
    """An API server for one module alone: its RBAC, admission policies and cluster-wide objects
    are what that module proves, so no other module's may be there."""
    yield from _started_cluster("own-cluster", toolchain_env, tmp_path_factory)


@pytest.fixture(scope="module")
def project(
    toolchain_env: dict[str, str], cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Project:
    work_dir = copy_project(tmp_path_factory.mktemp("project"))
    return Project(work_dir, {**toolchain_env, "KUBECONFIG": str(cluster.kubeconfig)})
