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


OPERATOR_CHARTS = {"cloudnative-pg", "plugin-barman-cloud"}
RELEASE = "kubernetes:helm.sh/v3:Release"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"


def _operator_subtree(mocks: object) -> set[tuple[str, str]]:
    return {
        (r.type, r.name)
        for r in mocks.resources  # type: ignore[attr-defined]
        if r.name == "operators" or r.name.startswith("operators-")
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_operators_stack_registers_the_pinned_operator_releases_and_nothing_else(env: str) -> None:
    mocks = run_program(load_stack_file(f"{env}-operators"), stack=f"{env}-operators")
    releases = {r.inputs["chart"]: r.inputs for r in mocks.of_type(RELEASE)}
    assert releases["cloudnative-pg"]["version"] == "0.29.0"
    assert releases["plugin-barman-cloud"]["version"] == "0.7.0"
    assert {r["namespace"] for r in releases.values()} == {"cnpg-system"}
    assert {(r.type, r.name) for r in mocks.resources} == {
        ("coder-platform:database:CnpgOperators", "operators"),
        ("kubernetes:core/v1:Namespace", "operators-namespace"),
        (RELEASE, "operators-cnpg"),
        (RELEASE, "operators-barman-cloud"),
    }


def test_operators_keep_their_names_when_they_move_from_an_app_stack_to_their_own() -> None:
    """``pulumi state move`` keeps each resource's name and parent chain: the operators stack
    must register them under the names an app stack that installed them did, or its first
    update would replace (uninstall and reinstall) the operator."""
    before = copy.deepcopy(load_stack_file("dev"))
    before["operators"]["install"] = True
    before["reconciler"]["enabled"] = False  # the only app stack that may still install them
    installed_by_app = _operator_subtree(run_program(before, stack="dev"))
    own = _operator_subtree(run_program(load_stack_file("dev-operators"), stack="dev-operators"))
    assert installed_by_app == own
    assert len(own) == 4


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_app_stack_installs_no_operator_and_leaves_their_namespace_read_only(env: str) -> None:
    mocks = run_program(load_stack_file(env), stack=env)
    assert not {r.inputs["chart"] for r in mocks.of_type(RELEASE)} & OPERATOR_CHARTS
    assert not _operator_subtree(mocks)
    roles = {r.inputs["metadata"]["namespace"]: r.inputs for r in mocks.of_type(ROLE)}
    assert "cnpg-system" not in roles
    policies = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in mocks.of_type(POLICY)}
    guard = policies[f"coder-reconciler-{env}-operator-namespace"]
    assert guard["validations"][0]["expression"] == 'request.namespace != "cnpg-system"'


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_reconciler_is_granted_no_kind_only_the_operator_charts_render(env: str) -> None:
    mocks = run_program(load_stack_file(env), stack=env)
    granted = {
        resource
        for role in mocks.of_type(ROLE)
        for rule in role.inputs["rules"]
        for resource in rule["resources"]
    }
    assert granted.isdisjoint(
        {"networkpolicies", "poddisruptionbudgets", "certificates", "issuers"}
    )
    assert {"deployments", "secrets", "clusters", "cronjobs"} <= granted


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
    }
    operators = run_program(load_stack_file(f"{stack}-operators"), stack=f"{stack}-operators")
    [namespace] = operators.of_type("kubernetes:core/v1:Namespace")
    # The program's namespace, not Helm's createNamespace.
    assert namespace.inputs["metadata"]["name"] == "cnpg-system"
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
        "baseline"
    )
