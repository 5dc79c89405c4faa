"""``python -m localkube``: the embedded default's cluster starts, is reused, and stops; its
controllers finish foreground deletes, namespace deletes and replaces."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coder_platform.names import dns_label
from localkube.cluster import LocalCluster
from testbed.project import Project

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def localkube(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localkube", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_up_prints_a_kubeconfig_reuses_the_cluster_and_down_stops_it(
    toolchain_env: dict[str, str], tmp_path: Path
) -> None:
    directory = str(tmp_path / "kube")
    first = localkube(toolchain_env, "up", "--dir", directory)
    try:
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("export KUBECONFIG=")
        kubeconfig = Path(first.stdout.strip().split("=", 1)[1])
        assert kubeconfig.exists()

        again = localkube(toolchain_env, "up", "--dir", directory)
        assert again.returncode == 0
        assert "already running" in again.stderr
        assert again.stdout == first.stdout

        assert localkube(toolchain_env, "status", "--dir", directory).returncode == 0
        server = json.loads((Path(directory) / "state.json").read_text())["server"]
    finally:
        stopped = localkube(toolchain_env, "down", "--dir", directory)
    assert stopped.returncode == 0, stopped.stderr
    assert localkube(toolchain_env, "status", "--dir", directory).returncode == 1
    # Nothing is left behind: the API server's port no longer answers.
    port = int(server.rsplit(":", 1)[1])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def _gone(cluster: LocalCluster, path: str, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cluster.get(path) is None:
            return True
        time.sleep(0.5)
    return False


def test_a_foreground_delete_completes_when_the_garbage_collector_runs(
    cluster: LocalCluster,
) -> None:
    path = "/apis/storage.k8s.io/v1/storageclasses/foreground-delete-probe"
    with cluster.client() as client:
        created = client.post(
            "/apis/storage.k8s.io/v1/storageclasses",
            json={
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {"name": "foreground-delete-probe"},
                "provisioner": "disk.csi.azure.com",
                "reclaimPolicy": "Retain",
            },
        )
        assert created.status_code == 201, created.text
        # What pulumi-kubernetes sends when it deletes a replaced object.
        client.request("DELETE", path, json={"propagationPolicy": "Foreground"}).raise_for_status()
    assert _gone(cluster, path), "the object kept its foregroundDeletion finalizer"


def test_a_deleted_namespace_and_its_objects_are_removed_when_the_controller_runs(
    cluster: LocalCluster,
) -> None:
    with cluster.client() as client:
        client.post(
            "/api/v1/namespaces", json={"metadata": {"name": "namespace-delete-probe"}}
        ).raise_for_status()
        client.post(
            "/api/v1/namespaces/namespace-delete-probe/configmaps",
            json={"metadata": {"name": "inside"}, "data": {"a": "b"}},
        ).raise_for_status()
    cluster.delete("/api/v1/namespaces/namespace-delete-probe")
    assert _gone(cluster, "/api/v1/namespaces/namespace-delete-probe"), "stuck Terminating"
    assert cluster.get("/api/v1/namespaces/namespace-delete-probe/configmaps/inside") is None


def test_reconcile_replaces_the_storage_class_when_its_sku_changes(
    project: Project, cluster: LocalCluster
) -> None:
    first = project.run("reconcile")
    assert first.exit_code in (0, 10), first.stderr[-2000:]
    stack_file = project.work_dir / "stacks" / "Pulumi.local.yaml"
    original = stack_file.read_text()
    assert "skuName: Premium_LRS" in original, "the local stack's SKU changed: update this test"
    classes = "/apis/storage.k8s.io/v1/storageclasses"
    old_class = f"{classes}/{dns_label('coder-Premium_LRS-Retain')}"
    new_class = f"{classes}/{dns_label('coder-StandardSSD_LRS-Retain')}"
    assert cluster.get(old_class) is not None
    stack_file.write_text(original.replace("skuName: Premium_LRS", "skuName: StandardSSD_LRS"))
    try:
        started = time.monotonic()
        replaced = project.run("reconcile")
        assert replaced.exit_code == 10, replaced.stderr[-2000:]
        assert time.monotonic() - started < 300
        assert cluster.get(new_class) is not None
        assert cluster.get(old_class) is None
    finally:
        stack_file.write_text(original)
    assert project.run("reconcile").exit_code == 10
