"""ReconcilerSchedule under mocks: the P1 CronJob shape, identity, least privilege, operator mode.

Contract clauses: P1 (Forbid, backoffLimit 0, 1/3 history, deadline, pinned image, interval),
C4 (evidence kept: no TTL deletes a finished Job), C5 (no literal secret in the pod spec; the
service account is what Vault and Azure trust).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi
import pytest

from automation.engine.cli_process import CANCEL_GRACE_SECONDS
from automation.engine.locks import parse_duration
from automation.engine.supervisor import ORPHAN_GRACE_SECONDS
from coder_platform.contracts import INTERVAL_ANNOTATION
from coder_platform.run_limits import CI_RUN_LIMIT_SECONDS, TERMINATION_GRACE_SECONDS
from components.reconciler import (
    OperatorSource,
    ReconcilerSchedule,
    ReconcilerScheduleArgs,
    SecretKeyRef,
)
from components.reconciler.cron import schedule_for
from testbed.harness import (
    CapturedOptions,
    RecordingMocks,
    load_stack_file,
    run_component,
    run_program,
)

CLIENT_ID = "0b7e4d2a-9f1c-4e6b-8a3d-5c2f1e9d7b60"
ARGS = ReconcilerScheduleArgs(
    stack="dev",
    namespace="coder-reconciler",
    image="ghcr.io/corp/coder-platform-runner:1.4.2",
    interval_minutes=30,
    active_deadline_seconds=1500,
    backend_url="azblob://pulumi-state",
    vault_role="coder-reconciler",
    secrets_provider="azurekeyvault://kv-coder-dev.vault.azure.net/keys/state",
    workload_identity_client_id=CLIENT_ID,
    managed_namespaces=("coder-db", "coder", "cnpg-system"),
    storage_class_names=("coder-premium-lrs-retain",),
    workspace_namespace="coder",
)


def build(args: ReconcilerScheduleArgs = ARGS) -> tuple[RecordingMocks, CapturedOptions]:
    capture = CapturedOptions()
    mocks = run_component(
        lambda: ReconcilerSchedule(
            "reconciler", args, opts=pulumi.ResourceOptions(transformations=[capture])
        )
    )
    return mocks, capture


def cron_job(mocks: RecordingMocks) -> dict[str, Any]:
    return dict(mocks.one("kubernetes:batch/v1:CronJob").inputs)


def container(mocks: RecordingMocks) -> dict[str, Any]:
    pod = cron_job(mocks)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [only] = pod["containers"]
    return dict(only)


def test_cron_job_has_the_p1_shape_when_mode_is_cronjob() -> None:
    mocks, _ = build()
    spec = cron_job(mocks)["spec"]
    job = spec["jobTemplate"]["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["successfulJobsHistoryLimit"] == 1
    assert spec["failedJobsHistoryLimit"] == 3
    assert job["backoffLimit"] == 0
    assert job["activeDeadlineSeconds"] == 1500
    assert "ttlSecondsAfterFinished" not in job  # C4: the evidence is not deleted early
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    assert container(mocks)["command"][:6] == [
        "python",
        "-m",
        "automation",
        "reconcile",
        "--stack",
        "dev",
    ]
    assert container(mocks)["image"] == ARGS.image
    assert mocks.of_type("kubernetes:pulumi.com/v1:Stack") == []


def test_the_pod_outlasts_the_engine_cancel_when_it_is_terminated() -> None:
    """SIGTERM -> the runner closes the supervisor's pipe -> the CLI gets SIGINT and up to
    CANCEL_GRACE_SECONDS to release the lock: SIGKILL must not come before."""
    mocks, _ = build()
    pod = cron_job(mocks)["spec"]["jobTemplate"]["spec"]["template"]["spec"]

    assert pod["terminationGracePeriodSeconds"] > CANCEL_GRACE_SECONDS + ORPHAN_GRACE_SECONDS


def test_the_run_breaks_only_a_lock_no_live_run_can_hold_when_scheduled() -> None:
    """Forbid + the Job deadline + the grace period bound an in-cluster run, the workflows'
    timeout-minutes a CI run: a lock older than both was left by a killed run."""
    mocks, _ = build()
    command = container(mocks)["command"]
    flag = command.index("--break-stale-lock-after")
    stale = parse_duration(command[flag + 1]).total_seconds()

    assert cron_job(mocks)["spec"]["concurrencyPolicy"] == "Forbid"
    assert stale >= ARGS.active_deadline_seconds + TERMINATION_GRACE_SECONDS
    assert stale > CI_RUN_LIMIT_SECONDS


def test_cron_job_carries_label_and_interval_annotation_when_deployed() -> None:
    mocks, _ = build()
    metadata = cron_job(mocks)["metadata"]
    assert metadata["labels"]["app.kubernetes.io/component"] == "reconciler"
    assert metadata["annotations"] == {INTERVAL_ANNOTATION: "1800"}
    assert isinstance(metadata["annotations"][INTERVAL_ANNOTATION], str)
    assert metadata["namespace"] == "coder-reconciler"


def test_schedule_is_derived_from_interval_minutes_when_it_divides_the_hour() -> None:
    schedule, minutes = schedule_for(30, "dev")
    assert minutes == 30
    start, rest = schedule.split("-", 1)
    assert 0 <= int(start) < 30 and rest == "59/30 * * * *"


@pytest.mark.parametrize(
    ("interval", "effective"),
    [(5, 5), (7, 6), (45, 30), (60, 60), (90, 60), (300, 240), (720, 720), (1440, 1440)],
)
def test_schedule_never_runs_rarer_than_configured_when_interval_is_uneven(
    interval: int, effective: int
) -> None:
    schedule, minutes = schedule_for(interval, "prod")
    assert minutes == effective <= interval
    assert len(schedule.split()) == 5


def test_pod_is_non_root_and_read_only_when_the_cron_job_runs() -> None:
    mocks, _ = build()
    pod = cron_job(mocks)["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container(mocks)["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert pod["serviceAccountName"] == "coder-reconciler"


def test_passphrase_is_a_secret_key_ref_when_the_provider_is_passphrase() -> None:
    mocks, _ = build(
        replace(
            ARGS,
            secrets_provider="passphrase",
            passphrase_secret=SecretKeyRef("pulumi-passphrase", "passphrase"),
        )
    )
    env = {e["name"]: e for e in container(mocks)["env"]}
    assert env["PULUMI_BACKEND_URL"]["value"] == "azblob://pulumi-state"
    assert env["CODER_PLATFORM_SECRETS_PROVIDER"]["value"] == "passphrase"
    assert env["CODER_PLATFORM_VAULT_ROLE"]["value"] == "coder-reconciler"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == {
        "name": "PULUMI_CONFIG_PASSPHRASE",
        "valueFrom": {"secretKeyRef": {"name": "pulumi-passphrase", "key": "passphrase"}},
    }
    for name, entry in env.items():
        if name.endswith(("TOKEN", "PASSWORD", "PASSPHRASE", "SECRET")):
            assert "value" not in entry, f"{name} must come from a secretKeyRef"


def test_service_account_is_annotated_for_workload_identity_when_a_client_id_is_given() -> None:
    mocks, _ = build()
    account = mocks.one("kubernetes:core/v1:ServiceAccount").inputs
    assert account["metadata"]["name"] == "coder-reconciler"
    assert account["metadata"]["annotations"]["azure.workload.identity/client-id"] == CLIENT_ID
    assert account["metadata"]["annotations"]["coder-platform.io/vault-role"] == "coder-reconciler"
    pod_labels = cron_job(mocks)["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["azure.workload.identity/use"] == "true"


def test_no_workload_identity_wiring_when_no_client_id_is_given() -> None:
    mocks, _ = build(replace(ARGS, workload_identity_client_id=None))
    account = mocks.one("kubernetes:core/v1:ServiceAccount").inputs
    assert "azure.workload.identity/client-id" not in (account["metadata"].get("annotations") or {})
    pod_labels = cron_job(mocks)["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert "azure.workload.identity/use" not in pod_labels


def rules_of(resource: dict[str, Any]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [
        (group, kind, verb, tuple(rule.get("resourceNames") or ()))
        for rule in resource["rules"]
        for group in rule["apiGroups"]
        for kind in rule["resources"]
        for verb in rule["verbs"]
    ]


def test_rbac_denies_deleting_namespaces_databases_and_volumes_when_granted() -> None:
    mocks, _ = build()
    roles = {
        r.inputs["metadata"]["namespace"]: r.inputs
        for r in mocks.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role")
    }
    assert set(roles) == {"coder-db", "coder", "cnpg-system", "coder-reconciler"}
    database = rules_of(roles["coder-db"])
    assert ("", "persistentvolumeclaims", "delete", ()) not in database
    assert ("postgresql.cnpg.io", "clusters", "delete", ()) not in database
    assert ("postgresql.cnpg.io", "clusters", "patch", ()) in database
    assert ("", "secrets", "update", ()) in database
    cluster = rules_of(mocks.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").inputs)
    assert not [r for r in cluster if r[1] == "namespaces" and r[2] == "delete"]
    assert not [r for r in cluster if r[1] == "secrets"]
    assert not [
        r for r in cluster if r[0] == "*" or r[1] == "*" or r[2] in ("*", "escalate", "bind")
    ]
    assert ("storage.k8s.io", "storageclasses", "delete", ("coder-premium-lrs-retain",)) in cluster
    assert ("apiextensions.k8s.io", "customresourcedefinitions", "update", ()) not in cluster


def test_workspace_permissions_are_granted_only_when_the_namespace_is_coders() -> None:
    mocks, _ = build()
    roles = {
        r.inputs["metadata"]["namespace"]: rules_of(r.inputs)
        for r in mocks.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role")
    }
    assert ("", "persistentvolumeclaims", "delete", ()) in roles["coder"]
    for namespace in ("coder-db", "cnpg-system", "coder-reconciler"):
        assert ("", "pods", "delete", ()) not in roles[namespace]


def test_bindings_name_the_service_account_when_rbac_is_created() -> None:
    mocks, _ = build()
    bindings = [
        *mocks.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"),
        *mocks.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"),
    ]
    assert len(bindings) == 5
    for binding in bindings:
        assert binding.inputs["subjects"] == [
            {"kind": "ServiceAccount", "name": "coder-reconciler", "namespace": "coder-reconciler"}
        ]


def test_children_are_parented_to_the_component_when_registered() -> None:
    _, capture = build()
    assert capture.seen, "no child options captured"
    children = {name: opts for name, opts in capture.seen.items() if name != "reconciler"}
    assert len(children) >= 12
    for name, opts in children.items():
        assert isinstance(opts.parent, ReconcilerSchedule), name
    cron = capture.opts("reconciler-cron-job")
    assert cron.depends_on and len(list(cron.depends_on)) >= 2  # type: ignore[arg-type]


def test_operator_stack_replaces_the_cron_job_when_mode_is_operator() -> None:
    args = replace(
        ARGS,
        mode="operator",
        operator_source=OperatorSource("https://github.com/corp/coder-platform.git", "main"),
    )
    mocks, _ = build(args)
    assert mocks.of_type("kubernetes:batch/v1:CronJob") == []
    stack = mocks.one("kubernetes:pulumi.com/v1:Stack").inputs
    spec = stack["spec"]
    assert spec["refresh"] is True
    assert spec["resyncFrequencySeconds"] == 1800
    assert spec["continueResyncOnCommitMatch"] is True
    assert spec["serviceAccountName"] == "coder-reconciler"
    assert spec["envRefs"]["PULUMI_BACKEND_URL"] == {
        "type": "Literal",
        "literal": {"value": "azblob://pulumi-state"},
    }
    assert spec["secretsProvider"] == ARGS.secrets_provider
    assert stack["metadata"]["labels"]["app.kubernetes.io/component"] == "reconciler"
    assert stack["metadata"]["annotations"] == {INTERVAL_ANNOTATION: "1800"}
    delegators = [
        b
        for b in mocks.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
        if b.inputs["roleRef"]["name"] == "system:auth-delegator"
    ]
    assert len(delegators) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image": "ghcr.io/corp/runner:latest"}, "pinned"),
        ({"image": "ghcr.io/corp/runner"}, "pinned"),
        ({"interval_minutes": 2}, "interval_minutes"),
        ({"backend_url": ""}, "backend_url"),
        ({"secrets_provider": "passphrase"}, "passphrase_secret"),
        ({"mode": "operator"}, "operator_source"),
        ({"extra_env": {"VAULT_TOKEN": "x"}}, "secretKeyRef"),
        ({"namespace": "Not_A_Label"}, "DNS label"),
    ],
)
def test_args_fail_fast_before_any_resource_when_invalid(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        replace(ARGS, **change)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_role_grants_a_workload_kind_the_stack_never_creates(stack: str) -> None:
    """Granted kinds follow what the stack registers (and its charts create): no StatefulSet
    or DaemonSet anywhere, so none can be created under the reconciler's identity."""
    mocks = run_program(load_stack_file(stack), stack=stack)
    registered = {
        r.type.rsplit(":", 1)[-1] for r in mocks.resources if r.type.startswith("kubernetes:")
    }
    granted = {
        (group, resource)
        for role in mocks.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role")
        if role.inputs["metadata"]["labels"].get("app.kubernetes.io/component") == "reconciler"
        for group, resource, _verb, _names in rules_of(role.inputs)
    }

    assert not registered & {"StatefulSet", "DaemonSet"}
    assert not granted & {("apps", "statefulsets"), ("apps", "daemonsets")}
    assert ("apps", "deployments") in granted  # the charts' Deployments


# -- admission: what the API server refuses the reconciler (components/reconciler/admission.py)

POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"


def policies(mocks: RecordingMocks) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in mocks.of_type(POLICY)}


def test_workload_policy_allows_only_declared_accounts_when_the_reconciler_writes() -> None:
    args = replace(ARGS, workload_service_accounts=("coder/coder",))
    mocks, _ = build(args)
    spec = policies(mocks)["coder-reconciler-dev-workload-identity"]
    [condition] = spec["matchConditions"]
    assert condition["expression"] == (
        'request.userInfo.username == "system:serviceaccount:coder-reconciler:coder-reconciler"'
    )
    [validation] = spec["validations"]
    assert '["coder-reconciler/coder-reconciler", "coder/coder"]' in validation["expression"]
    kinds = {r for rule in spec["matchConstraints"]["resourceRules"] for r in rule["resources"]}
    assert kinds >= {"pods", "deployments", "jobs", "cronjobs", "daemonsets", "statefulsets"}
    bindings = {b.inputs["spec"]["policyName"]: b.inputs["spec"] for b in mocks.of_type(BINDING)}
    assert bindings["coder-reconciler-dev-workload-identity"]["validationActions"] == ["Deny"]


def test_operator_namespace_policy_is_rendered_only_when_the_stack_does_not_install_them() -> None:
    assert "coder-reconciler-dev-operator-namespace" not in policies(build()[0])
    args = replace(ARGS, managed_namespaces=("coder-db", "coder"), operator_namespace="cnpg-system")
    spec = policies(build(args)[0])["coder-reconciler-dev-operator-namespace"]
    [validation] = spec["validations"]
    assert validation["expression"] == 'request.namespace != "cnpg-system"'
    [rule] = spec["matchConstraints"]["resourceRules"]
    assert rule["scope"] == "Namespaced" and rule["resources"] == ["*/*"]


def test_the_reconciler_may_read_but_never_write_the_policies_that_guard_it() -> None:
    mocks, _ = build()
    cluster = rules_of(mocks.one("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").inputs)
    admission = {r for r in cluster if r[1].startswith("validatingadmissionpolic")}
    assert {verb for _, _, verb, _ in admission} == {"get", "list", "watch"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"workload_service_accounts": ("coder",)}, "not namespace/name"),
        ({"operator_namespace": "cnpg-system"}, "one the reconciler manages"),
    ],
)
def test_admission_args_fail_fast_when_invalid(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(ARGS, **change)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_declares_coder_and_the_drill_as_its_workload_accounts(stack: str) -> None:
    mocks = run_program(load_stack_file(stack), stack=stack)
    spec = policies(mocks)[f"coder-reconciler-{stack}-workload-identity"]
    [validation] = spec["validations"]
    assert (
        '["coder-reconciler/coder-reconciler", "coder/coder", "coder-db-drill/coder-restore-drill"]'
        in validation["expression"]
    )


def _pod(mocks: RecordingMocks) -> dict[str, Any]:
    return dict(cron_job(mocks)["spec"]["jobTemplate"]["spec"]["template"]["spec"])


def _namespace_labels(mocks: RecordingMocks) -> dict[str, str]:
    return dict(mocks.one("kubernetes:core/v1:Namespace").inputs["metadata"]["labels"])


def test_a_local_nodes_run_shares_the_nodes_network_in_a_privileged_namespace_when_asked() -> None:
    args = replace(ARGS, host_network=True, env_from_secret="node-state", suspend=True)

    mocks, _ = build(args)

    assert _pod(mocks)["hostNetwork"] is True
    assert container(mocks)["envFrom"] == [{"secretRef": {"name": "node-state"}}]
    assert cron_job(mocks)["spec"]["suspend"] is True
    labels = _namespace_labels(mocks)
    # No other level admits a host-network pod; restricted is still audited and warned.
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_the_run_keeps_its_restricted_pod_and_schedule_when_no_loopback_setting_is_given() -> None:
    mocks, _ = build()

    assert "hostNetwork" not in _pod(mocks)
    assert "envFrom" not in container(mocks)
    assert "suspend" not in cron_job(mocks)["spec"]
    assert _namespace_labels(mocks)["pod-security.kubernetes.io/enforce"] == "restricted"
