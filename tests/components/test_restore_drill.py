"""RestoreDrill under mocks, alone and as dev and prod register it (C3, P1, C4).

The drill's CronJob has the reconciler's shape, its settings reach the pod as the drill reads
them, its Azure identity can only read the archive, its RBAC is no wider than the drill needs,
and the in-cluster reconciler holds every right it must hand out to (re)create that RBAC.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from coder_platform.drill_settings import CLEANUP_SECONDS, DrillSettings
from coder_platform.names import archive_server_name
from components.reconciler import ReconcilerSchedule, ReconcilerScheduleArgs
from components.restore_drill import (
    STORAGE_BLOB_DATA_READER,
    DrillAzure,
    RestoreDrill,
    RestoreDrillArgs,
)
from testbed.harness import RecordingMocks, load_stack_file, run_component, run_program

CRON_JOB = "kubernetes:batch/v1:CronJob"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
OBJECT_STORE = "kubernetes:barmancloud.cnpg.io/v1:ObjectStore"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential"
SETTINGS = DrillSettings(
    stack="dev",
    namespace="coder-db-drill",
    cluster_name="coder-db-drill",
    source_namespace="coder-db",
    source_cluster="coder-db",
    source_server_name="coder-db-g1",
    object_store="coder-db-drill-source",
    image="ghcr.io/cloudnative-pg/postgresql:17.5",
    database="coder",
    owner="coder",
    storage_size="20Gi",
    deadline_seconds=3600,
    min_users=1,
    min_templates=1,
    check_workload_identity=True,
    pushgateway="http://pushgateway.monitoring.svc:9091",
)
AZURE = DrillAzure(
    subscription_id="3f9c1a52-7d4e-4b8a-9e61-2c5d8f0b7a14",
    resource_group_name="rg-coder-dev-backups",
    location="westeurope",
    oidc_issuer_url="https://westeurope.oic.prod-aks.azure.com/tenant/issuer/",
    container_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/"
    "storageAccounts/stcoderdevbackups/blobServices/default/containers/cnpg-backups",
)


def args(**overrides: Any) -> RestoreDrillArgs:
    values: dict[str, Any] = {
        "settings": SETTINGS,
        "schedule": "17 4 * * 1",
        "runner_image": "crcoderplatform.azurecr.io/coder-platform-runner:0.1.0",
        "destination_path": "https://stcoderdevbackups.blob.core.windows.net/cnpg-backups",
        "azure": AZURE,
    }
    values.update(overrides)
    return RestoreDrillArgs(**values)


def build(drill_args: RestoreDrillArgs | None = None) -> RecordingMocks:
    return run_component(lambda: RestoreDrill("restore-drill", drill_args or args()))


def drill_cron_job(mocks: RecordingMocks) -> dict[str, Any]:
    [job] = [r for r in mocks.of_type(CRON_JOB) if "restore-drill" in r.inputs["metadata"]["name"]]
    return dict(job.inputs)


def pod_of(job: dict[str, Any]) -> dict[str, Any]:
    return dict(job["spec"]["jobTemplate"]["spec"]["template"]["spec"])


def env_of(job: dict[str, Any]) -> dict[str, Any]:
    [container] = pod_of(job)["containers"]
    return {e["name"]: e.get("value") for e in container["env"]}


def grants(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (group, kind, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for kind in rule["resources"]
        for verb in rule["verbs"]
    }


def test_cron_job_has_the_reconciler_shape_and_outlives_the_drill_deadline() -> None:
    job = drill_cron_job(build())
    spec = job["spec"]
    assert job["metadata"]["namespace"] == "coder-db-drill"
    assert spec["schedule"] == "17 4 * * 1" and spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["jobTemplate"]["spec"]["backoffLimit"] == 0
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (1, 3)
    deadline = spec["jobTemplate"]["spec"]["activeDeadlineSeconds"]
    assert deadline > SETTINGS.deadline_seconds + 2 * CLEANUP_SECONDS
    pod = pod_of(job)
    [container] = pod["containers"]
    assert container["command"] == ["python", "-m", "automation.drill"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["serviceAccountName"] == "coder-restore-drill"


def test_pod_environment_reads_back_as_the_drill_settings_when_the_drill_starts() -> None:
    env = env_of(drill_cron_job(build()))
    client_id = env.pop(DrillSettings.env_name("identity_client_id"))
    assert client_id  # the drill identity's client id (an output of the identity)
    started = DrillSettings.from_environ({k: v for k, v in env.items() if v is not None})
    assert started == SETTINGS
    assert not [name for name in env if name.endswith(("TOKEN", "PASSWORD", "SECRET"))]


def test_drill_identity_can_only_read_the_backup_container_when_on_azure() -> None:
    mocks = build()
    assignment = mocks.one(ROLE_ASSIGNMENT).inputs
    assert assignment["roleDefinitionId"].endswith(f"/roleDefinitions/{STORAGE_BLOB_DATA_READER}")
    assert assignment["scope"] == AZURE.container_id
    federation = mocks.one(FEDERATION).inputs
    # CNPG names the scratch cluster's service account after the cluster.
    assert federation["subject"] == "system:serviceaccount:coder-db-drill:coder-db-drill"
    assert federation["issuer"] == AZURE.oidc_issuer_url


def test_no_azure_identity_is_created_when_the_stack_has_no_azure() -> None:
    mocks = build(args(azure=None))
    assert mocks.of_type(ROLE_ASSIGNMENT) == [] and mocks.of_type(FEDERATION) == []
    assert DrillSettings.env_name("identity_client_id") not in env_of(drill_cron_job(mocks))


def test_scratch_object_store_reads_the_source_destination_and_prunes_nothing() -> None:
    store = build().one(OBJECT_STORE).inputs
    assert store["metadata"] == {
        "name": "coder-db-drill-source",
        "namespace": "coder-db-drill",
        "labels": store["metadata"]["labels"],
    }
    configuration = store["spec"]["configuration"]
    assert configuration["destinationPath"] == args().destination_path
    assert configuration["azureCredentials"] == {"inheritFromAzureAD": True}
    assert "retentionPolicy" not in store["spec"]


def test_drill_rbac_is_the_scratch_cluster_its_secret_and_pod_reads_when_granted() -> None:
    roles = {r.inputs["metadata"]["namespace"]: r.inputs for r in build().of_type(ROLE)}
    assert set(roles) == {"coder-db-drill", "coder-db"}
    assert grants(roles["coder-db"]) == {
        ("", "pods", "get"),
        ("", "pods", "list"),
        ("", "pods", "watch"),
    }
    scratch = grants(roles["coder-db-drill"])
    assert ("postgresql.cnpg.io", "clusters", "delete") in scratch
    assert ("", "secrets", "delete") in scratch
    assert not [g for g in scratch if g[1] in ("objectstores", "namespaces", "*") or g[2] == "*"]


def test_reconciler_holds_every_right_the_drill_roles_grant_when_it_heals_them() -> None:
    """Kubernetes refuses a Role that grants rights its creator lacks (no escalate verb)."""

    def both() -> None:
        RestoreDrill("restore-drill", args())
        ReconcilerSchedule(
            "reconciler",
            ReconcilerScheduleArgs(
                stack="dev",
                namespace="coder-reconciler",
                image="crcoderplatform.azurecr.io/coder-platform-runner:0.1.0",
                interval_minutes=30,
                active_deadline_seconds=1500,
                backend_url="azblob://pulumi-state",
                secrets_provider="azurekeyvault://kv/keys/k",
                managed_namespaces=("coder-db",),
                scratch_namespaces=("coder-db-drill",),
            ),
        )

    mocks = run_component(both)
    roles: dict[tuple[str, str], set[tuple[str, str, str]]] = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): grants(r.inputs)
        for r in mocks.of_type(ROLE)
    }
    for namespace in ("coder-db-drill", "coder-db"):
        drill = roles[(namespace, "coder-restore-drill")]
        runner = roles[(namespace, "coder-reconciler")]
        assert drill <= runner, f"{namespace}: the runner lacks {sorted(drill - runner)}"
    assert ("postgresql.cnpg.io", "clusters", "delete") not in roles[
        ("coder-db", "coder-reconciler")
    ]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"schedule": "0 0 4 * * 1"}, "five-field"),
        ({"runner_image": "runner:latest"}, "pinned"),
        ({"settings": SETTINGS.model_copy(update={"namespace": "coder-db"})}, "must not be the"),
        ({"connection_string": "AccountName=a;AccountKey=k"}, "cannot be combined"),
    ],
)
def test_args_refuse_to_build_when_they_are_unsafe(overrides: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        args(**overrides)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_schedules_the_drill_from_the_current_generation_when_enabled(stack: str) -> None:
    raw = copy.deepcopy(load_stack_file(stack))
    raw["database"]["generation"] = 3
    raw["database"]["recovery"] = {"enabled": True}
    mocks = run_program(raw, stack=stack)
    job = drill_cron_job(mocks)
    env = env_of(job)
    drill = raw["restoreDrill"]
    assert job["spec"]["schedule"] == drill["schedule"]
    assert env["CODER_PLATFORM_DRILL_SOURCE_SERVER_NAME"] == archive_server_name("coder-db", 3)
    assert env["CODER_PLATFORM_DRILL_NAMESPACE"] == drill["namespace"]
    assert env["CODER_PLATFORM_DRILL_STORAGE_CLASS_NAME"] == drill["storageClassName"]
    assert env["CODER_PLATFORM_DRILL_DEADLINE_SECONDS"] == str(drill["deadlineMinutes"] * 60)
    assert env["CODER_PLATFORM_DRILL_CHECK_WORKLOAD_IDENTITY"] == "true"
    assert env["CODER_PLATFORM_PUSHGATEWAY"] == raw["observability"]["pushgatewayUrl"]
    [container] = pod_of(job)["containers"]
    assert container["image"] == raw["reconciler"]["image"]
    stores = {r.inputs["metadata"]["namespace"]: r.inputs for r in mocks.of_type(OBJECT_STORE)}
    assert (
        stores[drill["namespace"]]["spec"]["configuration"]["destinationPath"]
        == stores["coder-db"]["spec"]["configuration"]["destinationPath"]
    )
    readers = [
        r.inputs
        for r in mocks.of_type(ROLE_ASSIGNMENT)
        if r.inputs["roleDefinitionId"].endswith(STORAGE_BLOB_DATA_READER)
    ]
    assert len(readers) == 1


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_in_cluster_reconciler_can_heal_the_scratch_namespace_when_the_drill_is_on(
    stack: str,
) -> None:
    mocks = run_program(load_stack_file(stack), stack=stack)
    roles = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): grants(r.inputs)
        for r in mocks.of_type(ROLE)
    }
    drill = roles[("coder-db-drill", "coder-restore-drill")]
    assert drill <= roles[("coder-db-drill", "coder-reconciler")]
    assert ("monitoring.coreos.com", "prometheusrules", "update") in roles[
        ("coder-db", "coder-reconciler")
    ]
