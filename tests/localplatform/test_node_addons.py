"""The add-ons' upstream manifests, changed only where a node without a registry needs it."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from localplatform.images import catalog
from localplatform.node_addons import cnpg_objects, local_path_objects

# The shape of rancher/local-path-provisioner's deploy/local-path-storage.yaml, cut down.
LOCAL_PATH = """
apiVersion: v1
kind: Namespace
metadata: {name: local-path-storage}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: local-path-provisioner, namespace: local-path-storage}
spec:
  template:
    spec:
      containers:
        - name: local-path-provisioner
          image: rancher/local-path-provisioner:v0.0.30
          imagePullPolicy: IfNotPresent
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local-path}
provisioner: rancher.io/local-path
reclaimPolicy: Delete
---
kind: ConfigMap
apiVersion: v1
metadata: {name: local-path-config, namespace: local-path-storage}
data:
  config.json: '{"nodePathMap": [{"paths": ["/opt/local-path-provisioner"]}]}'
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    spec:
      containers:
      - name: helper-pod
        image: busybox
        imagePullPolicy: IfNotPresent
"""


def test_the_provisioner_runs_the_local_images_and_keeps_volumes_in_the_nodes_dir() -> None:
    objects = local_path_objects(LOCAL_PATH, "v0.0.30", Path("/srv/node/volumes"))
    by_kind = {o["kind"]: o for o in objects}
    [container] = by_kind["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"{catalog.LOCAL_PATH_REPOSITORY}:v0.0.30"
    config = json.loads(by_kind["ConfigMap"]["data"]["config.json"])
    assert config["nodePathMap"][0]["paths"] == ["/srv/node/volumes"]
    helper = yaml.safe_load(by_kind["ConfigMap"]["data"]["helperPod.yaml"])
    assert helper["spec"]["containers"][0]["image"] == catalog.LOCAL_PATH_HELPER_IMAGE


def test_the_provisioners_own_delete_class_is_kept_for_scratch_volumes() -> None:
    objects = local_path_objects(LOCAL_PATH, "v0.0.30", Path("/v"))
    assert [o["kind"] for o in objects] == ["Namespace", "Deployment", "StorageClass", "ConfigMap"]
    [storage_class] = [o for o in objects if o["kind"] == "StorageClass"]
    assert storage_class["reclaimPolicy"] == "Delete"


def test_the_operator_is_never_pulled_when_its_image_is_present() -> None:
    source = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: cnpg-controller-manager, namespace: cnpg-system}
spec:
  template:
    spec:
      containers:
        - name: manager
          image: ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0
          imagePullPolicy: Always
"""
    [deployment] = cnpg_objects(source)
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["image"] == "ghcr.io/cloudnative-pg/cloudnative-pg:1.30.0"
