"""RetainStorageClass: the second line of defence for the Coder database's disks.

Retain saves a mistaken PVC delete (contract C3); the off-cluster backups are the first line.
Azure Disk CSI in dev and prod; on a local node (``storage.provisioner``, refused on managed
stacks) Rancher's local-path provisioner, which takes no parameters and cannot expand a volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from coder_platform.contracts import (
    AZURE_DISK_CSI,
    MANAGED_BY_LABEL,
    PROJECT,
    RECLAIM_POLICY_KEY,
    ComponentType,
)

# Kubernetes forbids updates to these StorageClass fields; a change must replace the class.
IMMUTABLE_FIELDS = ["provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"]


@dataclass(frozen=True)
class RetainStorageClassArgs:
    name: str
    sku_name: str = "Premium_LRS"
    caching_mode: str = "ReadOnly"
    fs_type: str = "ext4"
    reclaim_policy: Literal["Retain", "Delete"] = "Retain"
    disk_resource_group: str | None = None
    provisioner: str = AZURE_DISK_CSI


class RetainStorageClass(pulumi.ComponentResource):
    """A StorageClass with ``reclaimPolicy: Retain`` and a deterministic name (Azure Disk CSI
    unless the args name another provisioner)."""

    storage_class: k8s.storage.v1.StorageClass
    name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: RetainStorageClassArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(ComponentType.STORAGE, name, None, opts)
        azure_disk = args.provisioner == AZURE_DISK_CSI
        parameters = (
            {"skuName": args.sku_name, "cachingMode": args.caching_mode, "fsType": args.fs_type}
            if azure_disk
            else {}
        )
        if azure_disk and args.disk_resource_group:
            parameters["resourceGroup"] = args.disk_resource_group
        self.storage_class = k8s.storage.v1.StorageClass(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.name,
                labels={
                    MANAGED_BY_LABEL: PROJECT,
                    RECLAIM_POLICY_KEY: args.reclaim_policy.lower(),
                },
            ),
            provisioner=args.provisioner,
            reclaim_policy=args.reclaim_policy,
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=azure_disk,
            parameters=parameters or None,
            opts=pulumi.ResourceOptions(
                parent=self,
                replace_on_changes=IMMUTABLE_FIELDS,
                delete_before_replace=True,
            ),
        )
        self.name = self.storage_class.metadata.name
        self.register_outputs({"name": self.name})
