"""The dev and prod stacks as a whole, run through the real ``__main__.py`` under mocks."""

from __future__ import annotations

import copy

import pytest

from coder_platform.run_limits import stale_lock_after_seconds
from testbed.harness import load_stack_file, run_program

DATA_SURVIVAL_TYPES = {
    "kubernetes:storage.k8s.io/v1:StorageClass",
    "kubernetes:postgresql.cnpg.io/v1:Cluster",
    "kubernetes:barmancloud.cnpg.io/v1:ObjectStore",
    "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup",
    "azure-native:storage:StorageAccount",
    "azure-native:storage:BlobContainer",
    "azure-native:managedidentity:UserAssignedIdentity",
    "azure-native:managedidentity:FederatedIdentityCredential",
    "azure-native:authorization:RoleAssignment",
}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_registers_the_whole_data_survival_layer(stack: str) -> None:
    mocks = run_program(load_stack_file(stack), stack=stack)
    types = {r.type for r in mocks.resources}
    assert types >= DATA_SURVIVAL_TYPES
    sc = mocks.one("kubernetes:storage.k8s.io/v1:StorageClass").inputs
    assert sc["reclaimPolicy"] == "Retain"
    assert sc["provisioner"] == "disk.csi.azure.com"
    cluster = mocks.custom_resource("Cluster").inputs["spec"]
    assert cluster["storage"]["storageClass"] == sc["metadata"]["name"]
    assert cluster["plugins"][0]["isWALArchiver"] is True
    # The restore drill's scratch namespace has an ObjectStore of its own (same destination).
    [store] = [
        r.inputs["spec"]["configuration"]
        for r in mocks.of_type("kubernetes:barmancloud.cnpg.io/v1:ObjectStore")
        if r.name == "coder-db-object-store"
    ]
    account = mocks.one("azure-native:storage:StorageAccount").inputs["accountName"]
    assert store["destinationPath"] == f"https://{account}.blob.core.windows.net/cnpg-backups"
    assert store["azureCredentials"] == {"inheritFromAzureAD": True}
    identity_client = cluster["serviceAccountTemplate"]["metadata"]["annotations"]
    assert identity_client["azure.workload.identity/client-id"]  # the UAMI's client id output
    backup = mocks.custom_resource("ScheduledBackup").inputs["spec"]
    assert backup["cluster"]["name"] == cluster_name(mocks)


def cluster_name(mocks: object) -> str:
    return str(mocks.custom_resource("Cluster").inputs["metadata"]["name"])  # type: ignore[attr-defined]


def test_prod_runs_three_instances_spread_across_nodes() -> None:
    mocks = run_program(load_stack_file("prod"), stack="prod")
    cluster = mocks.custom_resource("Cluster").inputs["spec"]
    assert cluster["instances"] == 3
    assert cluster["affinity"]["podAntiAffinityType"] == "required"
    assert cluster["enablePDB"] is True


def test_dev_runs_one_instance_on_retained_disks() -> None:
    mocks = run_program(load_stack_file("dev"), stack="dev")
    assert mocks.custom_resource("Cluster").inputs["spec"]["instances"] == 1
    sc = mocks.one("kubernetes:storage.k8s.io/v1:StorageClass").inputs
    assert sc["reclaimPolicy"] == "Retain"


def test_dev_declared_ephemeral_gets_delete_storage() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["database"]["ephemeral"] = True
    mocks = run_program(raw, stack="dev")
    sc = mocks.one("kubernetes:storage.k8s.io/v1:StorageClass").inputs
    assert sc["reclaimPolicy"] == "Delete"


def test_operators_are_pinned_helm_releases_and_optional() -> None:
    mocks = run_program(load_stack_file("dev"), stack="dev")
    releases = {r.inputs["chart"]: r.inputs for r in mocks.of_type("kubernetes:helm.sh/v3:Release")}
    assert releases["cloudnative-pg"]["version"] == "0.29.0"
    assert releases["plugin-barman-cloud"]["version"] == "0.7.0"
    assert releases["plugin-barman-cloud"]["namespace"] == releases["cloudnative-pg"]["namespace"]

    raw = copy.deepcopy(load_stack_file("dev"))
    raw["operators"]["install"] = False
    charts = {
        r.inputs["chart"]
        for r in run_program(raw, stack="dev").of_type("kubernetes:helm.sh/v3:Release")
    }
    assert charts.isdisjoint({"cloudnative-pg", "plugin-barman-cloud"})


def test_stack_in_recovery_mode_bootstraps_from_the_previous_generation() -> None:
    raw = copy.deepcopy(load_stack_file("prod"))
    raw["database"]["generation"] = 2
    raw["database"]["recovery"] = {"enabled": True}
    mocks = run_program(raw, stack="prod")
    cluster = mocks.custom_resource("Cluster").inputs["spec"]
    assert cluster["bootstrap"]["recovery"]["source"] == "coder-db-g1"
    assert cluster["plugins"][0]["parameters"]["serverName"] == "coder-db-g2"


def test_plain_kubernetes_stack_uses_an_external_identity_and_no_azure_resources() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["azure"] = {"enabled": False}
    raw["database"]["backup"]["workloadIdentityClientId"] = "0b7e4d2a-9f1c-4e6b-8a3d-5c2f1e9d7b60"
    mocks = run_program(raw, stack="dev")
    assert not [r for r in mocks.resources if r.type.startswith("azure-native:")]
    cluster = mocks.custom_resource("Cluster").inputs["spec"]
    annotations = cluster["serviceAccountTemplate"]["metadata"]["annotations"]
    assert (
        annotations["azure.workload.identity/client-id"] == "0b7e4d2a-9f1c-4e6b-8a3d-5c2f1e9d7b60"
    )


@pytest.mark.parametrize(("stack", "interval"), [("dev", 1800), ("prod", 900)])
def test_stack_deploys_its_reconciler_on_the_configured_interval(stack: str, interval: int) -> None:
    mocks = run_program(load_stack_file(stack), stack=stack)
    [cronjob] = [  # the restore drill's CronJob runs next to it
        r
        for r in mocks.of_type("kubernetes:batch/v1:CronJob")
        if r.inputs["metadata"]["namespace"] == "coder-reconciler"
    ]
    metadata = cronjob.inputs["metadata"]
    assert metadata["labels"]["app.kubernetes.io/component"] == "reconciler"
    assert metadata["annotations"]["coder-platform.io/reconcile-interval-seconds"] == str(interval)
    spec = cronjob.inputs["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["jobTemplate"]["spec"]["backoffLimit"] == 0
    [container] = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "crcoderplatform.azurecr.io/coder-platform-runner:0.1.0"
    assert container["command"][:6] == ["python", "-m", "automation", "reconcile", "--stack", stack]
    deadline = spec["jobTemplate"]["spec"]["activeDeadlineSeconds"]
    stale = f"{stale_lock_after_seconds(deadline)}s"
    assert container["command"][6:] == ["--break-stale-lock-after", stale]


def test_local_stack_is_kubernetes_only() -> None:
    mocks = run_program(load_stack_file("local"), stack="local")
    types = {r.type for r in mocks.resources}
    assert not [t for t in types if t.startswith(("azure-native:", "vault:", "pulumi:providers"))]
    assert not mocks.of_type("kubernetes:helm.sh/v3:Release")
    assert {
        "kubernetes:storage.k8s.io/v1:StorageClass",
        "kubernetes:postgresql.cnpg.io/v1:Cluster",
        "kubernetes:barmancloud.cnpg.io/v1:ObjectStore",
        "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup",
        "kubernetes:batch/v1:CronJob",
    } <= types


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_every_kubernetes_object_is_force_applied_so_drift_heals(stack: str) -> None:
    mocks = run_program(load_stack_file(stack), stack=stack)
    objects = [
        r
        for r in mocks.resources
        if r.custom and r.type.startswith("kubernetes:") and "helm.sh" not in r.type
    ]
    assert len(objects) > 5
    for obj in objects:
        annotations = obj.inputs["metadata"].get("annotations", {})
        assert annotations.get("pulumi.com/patchForce") == "true", obj.name


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_namespace_the_stack_creates_enforces_a_pod_security_level(stack: str) -> None:
    """Without the labels a namespace is 'privileged': whatever may create a pod there may create
    a privileged one (Pod Security admission reads pod-security.kubernetes.io/enforce)."""
    mocks = run_program(load_stack_file(stack), stack=stack)
    levels = {
        ns.inputs["metadata"]["name"]: ns.inputs["metadata"]["labels"].get(
            "pod-security.kubernetes.io/enforce"
        )
        for ns in mocks.of_type("kubernetes:core/v1:Namespace")
    }

    assert levels == {
        "coder-db": "baseline",
        "coder-db-drill": "baseline",
        "coder": "baseline",
        "coder-reconciler": "restricted",
        "cnpg-system": "baseline",  # the program's namespace, not Helm's createNamespace
    }
