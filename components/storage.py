"""RetainStorageClass: the second line of defence for the Coder database's disks.

Retain saves a mistaken PVC delete (contract C3); the off-cluster backups are the first line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from coder_platform.contracts import MANAGED_BY_LABEL, PROJECT, RECLAIM_POLICY_KEY, ComponentType

AZURE_DISK_CSI = "disk.csi.azure.com"

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


class RetainStorageClass(pulumi.ComponentResource):
    """An Azure Disk CSI StorageClass with ``reclaimPolicy: Retain`` and a deterministic name."""

    storage_class: k8s.storage.v1.StorageClass
    name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: RetainStorageClassArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(ComponentType.STORAGE, name, None, opts)
        parameters = {
            "skuName": args.sku_name,
            "cachingMode": args.caching_mode,
            "fsType": args.fs_type,
        }
        if args.disk_resource_group:
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
            provisioner=AZURE_DISK_CSI,
            reclaim_policy=args.reclaim_policy,
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            parameters=parameters,
            opts=pulumi.ResourceOptions(
                parent=self,
                replace_on_changes=IMMUTABLE_FIELDS,
                delete_before_replace=True,
            ),
        )
        self.name = self.storage_class.metadata.name
        self.register_outputs({"name": self.name})
