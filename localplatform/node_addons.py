"""What a cluster's platform team runs before the stack deploys, installed on the local node:
the local-path provisioner (the storage driver, as a cloud ships its disk CSI driver), the
CloudNativePG operator and its Barman Cloud plugin (the local stack says
``operators.install: false``: already there; the plugin: ``localplatform.barman_plugin``).

Both come from their pinned modules' own manifests in the Go module cache (the local-path
provisioner's ``deploy/local-path-storage.yaml``, CNPG's ``releases/cnpg-<version>.yaml``),
changed only where a registry-less node needs it: the images built here, pulled only if
absent, and the provisioner's volume directory. The provisioner's own ``local-path`` class
(reclaimPolicy Delete, not the default) stays, as a cloud ships a Delete class beside the
stack's Retain one: the restore drill's scratch clusters use it, so their disks go with them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx

from localkube.cluster import module_dir
from localplatform import barman_plugin
from localplatform.daemon import PartError
from localplatform.images import catalog
from localplatform.kubeapply import ApplyError, apply, documents

LOCAL_PATH_MODULE = "github.com/rancher/local-path-provisioner"
CNPG_MODULE = "github.com/cloudnative-pg/cloudnative-pg"
LOCAL_PATH_NAMESPACE = "local-path-storage"
CNPG_NAMESPACE = "cnpg-system"


def _deployment_containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return containers


def local_path_objects(source: str, version: str, volumes: Path) -> list[dict[str, Any]]:
    objects = []
    for obj in documents(source):
        if obj["kind"] == "Deployment":
            for container in _deployment_containers(obj):
                container["image"] = f"{catalog.LOCAL_PATH_REPOSITORY}:{version}"
                container["imagePullPolicy"] = "IfNotPresent"
        if obj["kind"] == "ConfigMap":
            data = obj["data"]
            data["config.json"] = json.dumps(
                {
                    "nodePathMap": [
                        {"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": [str(volumes)]}
                    ]
                }
            )
            data["helperPod.yaml"] = data["helperPod.yaml"].replace(
                "image: busybox", f"image: {catalog.LOCAL_PATH_HELPER_IMAGE}"
            )
        objects.append(obj)
    return objects


def cnpg_objects(source: str) -> list[dict[str, Any]]:
    objects = documents(source)
    for obj in objects:
        if obj["kind"] == "Deployment":
            for container in _deployment_containers(obj):
                container["imagePullPolicy"] = "IfNotPresent"
    return objects


def _available(client: httpx.Client, namespace: str, name: str) -> bool:
    response = client.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    if response.status_code != 200:
        return False
    conditions = response.json().get("status", {}).get("conditions") or []
    return any(c["type"] == "Available" and c["status"] == "True" for c in conditions)


def install(
    client: httpx.Client,
    versions: dict[str, str],
    volumes: Path,
    seconds: float = 240,
) -> None:
    """Apply both manifests and wait until both Deployments are Available."""
    env = dict(os.environ)
    local_path = module_dir(LOCAL_PATH_MODULE, versions["local_path"], env)
    cnpg = module_dir(CNPG_MODULE, versions["cnpg"], env)
    cnpg_version = versions["cnpg"].removeprefix("v")
    volumes.mkdir(parents=True, exist_ok=True)
    try:
        apply(
            client,
            local_path_objects(
                (local_path / "deploy" / "local-path-storage.yaml").read_text(),
                versions["local_path"],
                volumes,
            ),
        )
        apply(client, cnpg_objects((cnpg / "releases" / f"cnpg-{cnpg_version}.yaml").read_text()))
        # After CNPG's manifest: it creates the cnpg-system namespace the plugin runs in.
        plugin = module_dir(barman_plugin.MODULE, versions["barman_cloud_plugin"], env)
        barman_plugin.create_missing_tls_secrets(client)
        apply(
            client,
            barman_plugin.plugin_objects(
                (plugin / "manifest.yaml").read_text(), versions["barman_cloud_plugin"]
            ),
        )
    except (ApplyError, httpx.HTTPError) as error:
        raise PartError(f"node: installing the add-ons failed: {error}") from None
    deadline = time.monotonic() + seconds
    waiting = {
        (LOCAL_PATH_NAMESPACE, "local-path-provisioner"),
        (CNPG_NAMESPACE, "cnpg-controller-manager"),
        (barman_plugin.NAMESPACE, barman_plugin.SERVICE),
    }
    while waiting and time.monotonic() < deadline:
        waiting = {d for d in waiting if not _available(client, *d)}
        time.sleep(1)
    if waiting:
        raise PartError(f"node: not Available after {seconds:.0f}s: {sorted(waiting)}")
