"""RetainStorageClass: Azure Disk CSI, Retain, and replaced (not failed) on immutable edits."""

from __future__ import annotations

import pulumi

from components.storage import RetainStorageClass, RetainStorageClassArgs
from testbed.harness import CapturedOptions, run_component


def build(capture: CapturedOptions, **overrides: str) -> None:
    RetainStorageClass(
        "db-storage",
        RetainStorageClassArgs(name="coder-premium-lrs-retain", **overrides),  # type: ignore[arg-type]
        opts=pulumi.ResourceOptions(transformations=[capture]),
    )


def test_storage_class_is_retained_premium_azure_disk() -> None:
    capture = CapturedOptions()
    mocks = run_component(lambda: build(capture))
    sc = mocks.one("kubernetes:storage.k8s.io/v1:StorageClass").inputs
    assert sc["provisioner"] == "disk.csi.azure.com"
    assert sc["reclaimPolicy"] == "Retain"
    assert sc["allowVolumeExpansion"] is True
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["parameters"]["skuName"] == "Premium_LRS"
    assert sc["metadata"]["name"] == "coder-premium-lrs-retain"


def test_immutable_fields_replace_the_class_instead_of_failing() -> None:
    capture = CapturedOptions()
    run_component(lambda: build(capture))
    opts = capture.opts("db-storage")
    assert opts.replace_on_changes is not None
    assert {"reclaimPolicy", "parameters", "volumeBindingMode", "provisioner"} <= set(
        opts.replace_on_changes
    )
    # The name is deterministic, so the old class must go before the new one is created.
    assert opts.delete_before_replace is True


def test_disk_resource_group_is_passed_when_set() -> None:
    capture = CapturedOptions()
    mocks = run_component(lambda: build(capture, disk_resource_group="rg-disks"))
    params = mocks.one("kubernetes:storage.k8s.io/v1:StorageClass").inputs["parameters"]
    assert params["resourceGroup"] == "rg-disks"


def test_local_path_class_is_retained_without_azure_parameters_when_config_names_it() -> None:
    capture = CapturedOptions()
    mocks = run_component(lambda: build(capture, provisioner="rancher.io/local-path"))
    sc = mocks.one("kubernetes:storage.k8s.io/v1:StorageClass").inputs
    assert sc["provisioner"] == "rancher.io/local-path"
    assert sc["reclaimPolicy"] == "Retain"
    # The local-path provisioner takes no parameters and cannot expand a volume.
    assert "parameters" not in sc
    assert sc["allowVolumeExpansion"] is False
