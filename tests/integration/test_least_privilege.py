"""Least privilege, proven by the API server: the reconciler's own identity deploys and heals
the stack, and is refused what would let it take the cluster.

An admin deploys, as on dev and prod, first the operators' own stack (``scope: operators``, the
CNPG operator's and the Barman Cloud plugin's releases in ``cnpg-system``; stand-in charts of the
same names served on loopback, ``standin_charts.py``) and then the app stack (the local stack,
Kubernetes only, shaped like dev where it matters here: ``operators.install: false``, a reconciler,
its RBAC and admission policies as the program renders them). Every later step runs as the
reconciler's ServiceAccount with a token from the TokenRequest API, so RBAC,
ValidatingAdmissionPolicy and Pod Security admission (on by default in kube-apiserver) answer
exactly as they would for the in-cluster CronJob. The cluster is this module's own: the policies
and bindings never leak into the other modules' runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from coder_platform.contracts import (
    PROJECT,
    RECONCILER_NAMESPACE,
    RECONCILER_SERVICE_ACCOUNT,
    ExitCode,
)
from components.reconciler.admission import OPERATOR_NAMESPACE_MESSAGE, WORKLOAD_MESSAGE
from localkube.cluster import LocalCluster, write_kubeconfig
from testbed.harness import load_stack_file
from testbed.project import CRONJOB, SCHEDULED_BACKUP, Project, Run, copy_project
from tests.integration.standin_charts import serve, write_repository

pytestmark = pytest.mark.integration

DATABASE = "coder-db"
OPERATORS = "cnpg-system"
OPERATOR_SERVICE_ACCOUNT = "cnpg-cloudnative-pg"  # the CNPG chart's account (release "cnpg")
STACK_STATE = "local.json"
OPERATORS_STACK = "local-operators"
OPERATOR_BINDING = (
    f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{OPERATOR_SERVICE_ACCOUNT}"
)


@dataclass(frozen=True)
class Deployed:
    admin: LocalCluster
    reconciler: LocalCluster  # the same API server, signed in as the reconciler's account
    project: Project  # runs python -m automation with the reconciler's kubeconfig
    admin_project: Project  # the same project with the admin's kubeconfig
    operators_installed: Run  # the admin's first reconcile of the operators stack


def _token_for(admin: LocalCluster, namespace: str, service_account: str) -> str:
    """A bound token for the account (TokenRequest API), as a projected volume would get."""
    with admin.client() as client:
        response = client.post(
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                  "spec": {"expirationSeconds": 3600}},
        )  # fmt: skip
    response.raise_for_status()
    return str(response.json()["status"]["token"])


@pytest.fixture(scope="module")
def chart_repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The operator charts' stand-ins, at the versions dev-operators pins."""
    operators = load_stack_file("dev-operators")["operators"]
    directory = tmp_path_factory.mktemp("charts")
    write_repository(
        directory,
        {
            "cloudnative-pg": operators["cnpgChartVersion"],
            "plugin-barman-cloud": operators["barmanPluginChartVersion"],
        },
    )
    with serve(directory) as url:
        yield url


def _operators_stack_file(work_dir: Path, chart_repository: str) -> None:
    """The local cluster's operators stack: dev-operators with the loopback repository."""
    config = {f"{PROJECT}:{key}": value for key, value in load_stack_file("dev-operators").items()}
    config[f"{PROJECT}:environment"] = "local"
    config[f"{PROJECT}:protected"] = False
    config[f"{PROJECT}:operators"]["chartRepository"] = chart_repository
    path = work_dir / "stacks" / f"Pulumi.{OPERATORS_STACK}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))


@pytest.fixture(scope="module")
def deployed(
    toolchain_env: dict[str, str],
    own_cluster: LocalCluster,
    chart_repository: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployed:
    work_dir = copy_project(tmp_path_factory.mktemp("rbac-project"))
    _operators_stack_file(work_dir, chart_repository)
    helm = tmp_path_factory.mktemp("helm")
    env = {
        **toolchain_env,
        **{f"HELM_{part}_HOME": str(helm / part.lower()) for part in ("CACHE", "CONFIG", "DATA")},
    }
    admin_project = Project(work_dir, {**env, "KUBECONFIG": str(own_cluster.kubeconfig)})
    # As on dev and prod: the operators' stack first (an admin's), then the app stack.
    operators = admin_project.run("reconcile", OPERATORS_STACK)
    assert operators.exit_code == ExitCode.HEALED, operators.stderr[-3000:]
    first = admin_project.run("up")
    assert first.exit_code == ExitCode.OK, first.stderr[-3000:]
    # What the serviceaccount controller makes in a real cluster (localkube runs none).
    with own_cluster.client() as client:
        client.post(
            f"/api/v1/namespaces/{DATABASE}/serviceaccounts", json={"metadata": {"name": "default"}}
        ).raise_for_status()
    token = _token_for(own_cluster, RECONCILER_NAMESPACE, RECONCILER_SERVICE_ACCOUNT)
    kubeconfig = work_dir / "reconciler.kubeconfig"
    write_kubeconfig(kubeconfig, own_cluster.server, own_cluster.ca_file, token)
    reconciler = LocalCluster(own_cluster.server, token, own_cluster.ca_file, kubeconfig)
    project = Project(work_dir, {**env, "KUBECONFIG": str(kubeconfig)})
    return Deployed(own_cluster, reconciler, project, admin_project, operators)


def _post(cluster: LocalCluster, path: str, body: dict[str, Any]) -> httpx.Response:
    """A create the API server authorizes and admits in full, then does not persist."""
    with cluster.client() as client:
        return client.post(path, params={"dryRun": "All"}, json=body)


def _refused(response: httpx.Response) -> str:
    assert response.status_code == 403, (response.status_code, response.text[:500])
    return str(response.json()["message"])


def _pod_spec(service_account: str | None, *, takes_the_node: bool = False) -> dict[str, Any]:
    """A restricted pod, or one that takes its node: the host's PID and network namespaces and
    its root filesystem. (``privileged: true`` itself is refused earlier here, by the API
    server's own ``--allow-privileged=false`` default; a real cluster allows it, and the same
    Pod Security levels refuse it.)"""
    container: dict[str, Any] = {"name": "c", "image": "registry.example/probe:1.0"}
    spec: dict[str, Any] = {"containers": [container], "restartPolicy": "Never"}
    if takes_the_node:
        spec.update(hostPID=True, hostNetwork=True)
        spec["volumes"] = [{"name": "host", "hostPath": {"path": "/"}}]
        container["volumeMounts"] = [{"name": "host", "mountPath": "/host"}]
    else:
        container["securityContext"] = {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
    if service_account is not None:
        spec["serviceAccountName"] = service_account
    return spec


def _job(service_account: str | None) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "probe"},
        "spec": {"template": {"spec": _pod_spec(service_account)}},
    }


def _cron_job(service_account: str | None) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "probe"},
        "spec": {
            "schedule": "0 * * * *",
            "jobTemplate": {"spec": {"template": {"spec": _pod_spec(service_account)}}},
        },
    }


# -- the operators' own stack: an admin's, never the reconciler's -------------------------------


def test_the_operators_stack_deploys_under_an_admin_identity(deployed: Deployed) -> None:
    assert deployed.operators_installed.exit_code == ExitCode.HEALED  # created and verified
    admin = deployed.admin
    namespace = admin.get(f"/api/v1/namespaces/{OPERATORS}")
    assert namespace is not None
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    account = admin.get(
        f"/api/v1/namespaces/{OPERATORS}/serviceaccounts/{OPERATOR_SERVICE_ACCOUNT}"
    )
    assert account is not None
    binding = admin.get(OPERATOR_BINDING)
    assert binding is not None and binding["subjects"][0]["namespace"] == OPERATORS
    again = deployed.admin_project.run("reconcile", OPERATORS_STACK)
    assert again.exit_code == ExitCode.OK, again.stderr[-3000:]


def test_the_operators_stack_is_refused_under_the_reconcilers_identity(deployed: Deployed) -> None:
    """Run with the reconciler's token (not in a pod, so the runner's own in-cluster refusal
    does not apply): the API server refuses its reads of the releases, and nothing changes."""
    before = deployed.admin.get(OPERATOR_BINDING)
    run = deployed.project.run("reconcile", OPERATORS_STACK)
    assert run.exit_code not in (ExitCode.OK, ExitCode.HEALED), run.stderr[-3000:]
    assert "forbidden" in (run.stderr + json.dumps(run.report)).lower()
    assert deployed.admin.get(OPERATOR_BINDING) == before


def test_the_reconciler_cannot_change_what_the_operators_stack_installed(
    deployed: Deployed,
) -> None:
    with deployed.reconciler.client() as client:
        account = client.patch(
            f"/api/v1/namespaces/{OPERATORS}/serviceaccounts/{OPERATOR_SERVICE_ACCOUNT}",
            params={"dryRun": "All"},
            content=json.dumps({"metadata": {"labels": {"probe": "x"}}}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        binding = client.delete(OPERATOR_BINDING, params={"dryRun": "All"})
        release = client.get(f"/api/v1/namespaces/{OPERATORS}/secrets/sh.helm.release.v1.cnpg.v1")
    assert 'cannot patch resource "serviceaccounts"' in _refused(account)
    assert 'cannot delete resource "clusterrolebindings"' in _refused(binding)
    assert 'cannot get resource "secrets"' in _refused(release)


# -- what a reconcile needs: it deploys and heals under the reconciler's own identity ----------


def test_reconcile_as_the_reconciler_converges_when_nothing_changed(deployed: Deployed) -> None:
    run = deployed.project.run("reconcile")
    assert run.exit_code == ExitCode.OK, run.stderr[-3000:]
    assert run.report["outcome"] == "converged"
    assert not run.report["changes"]


def test_reconcile_as_the_reconciler_heals_a_deleted_and_an_edited_object(
    deployed: Deployed,
) -> None:
    admin = deployed.admin
    admin.delete(SCHEDULED_BACKUP)
    admin.merge_patch(CRONJOB, {"spec": {"concurrencyPolicy": "Allow"}})

    healed = deployed.project.run("reconcile")

    assert healed.exit_code == ExitCode.HEALED, healed.stderr[-3000:]
    assert admin.get(SCHEDULED_BACKUP) is not None
    cronjob = admin.get(CRONJOB)
    assert cronjob is not None and cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def _state_resources(project: Project) -> list[dict[str, Any]]:
    [state] = project.work_dir.rglob(f"stacks/**/{STACK_STATE}")
    return list(json.loads(state.read_text())["checkpoint"]["latest"]["resources"])


def _resource_names(cluster: LocalCluster, api_version: str) -> dict[str, tuple[str, bool]]:
    """Kind -> (plural, namespaced), from the API server's discovery."""
    path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    listing = cluster.get(path)
    assert listing is not None, path
    return {
        r["kind"]: (r["name"], r["namespaced"])
        for r in listing["resources"]
        if "/" not in r["name"]
    }


# The reconciler's own RBAC and the policies that guard it are created by an admin's first run
# and can only be read by the reconciler: the guarded identity never rewrites its guard, and a
# change to them fails the run with Forbidden (exit 17) for a human to apply.
ADMIN_ONLY = {
    ("rbac.authorization.k8s.io", "clusterroles"): ("create",),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): ("create",),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"): ("create", "patch"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"): ("create", "patch"),
}


def test_every_object_the_program_deployed_is_one_the_reconciler_may_read_create_and_patch(
    deployed: Deployed,
) -> None:
    """Sufficiency, object by object from the stack's state (not a hand list): the API server's
    own SelfSubjectAccessReview for each verb a refresh, a re-create and a patch send."""
    missing = []
    checked = 0
    for resource in _state_resources(deployed.project):
        outputs = resource.get("outputs", {})
        if not resource["type"].startswith("kubernetes:") or "apiVersion" not in outputs:
            continue
        if resource["type"] == "kubernetes:helm.sh/v3:Release":
            continue
        api_version, kind = outputs["apiVersion"], outputs["kind"]
        group = api_version.split("/")[0] if "/" in api_version else ""
        plural, namespaced = _resource_names(deployed.admin, api_version)[kind]
        metadata = outputs["metadata"]
        for verb in ("get", "create", "patch"):
            if verb in ADMIN_ONLY.get((group, plural), ()):
                continue
            attributes = {"group": group, "resource": plural, "verb": verb}
            if namespaced:
                attributes["namespace"] = metadata["namespace"]
            if verb != "create":
                attributes["name"] = metadata["name"]
            with deployed.reconciler.client() as client:
                review = client.post(
                    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                    json={"spec": {"resourceAttributes": attributes}},
                )
            review.raise_for_status()
            checked += 1
            if not review.json()["status"]["allowed"]:
                missing.append(attributes)
    assert checked > 30  # every Kubernetes object of the local stack, three verbs each
    assert not missing


# -- what it may never do: refused by RBAC -------------------------------------------------------


def test_the_reconciler_cannot_create_a_daemonset(deployed: Deployed) -> None:
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "probe"},
        "spec": {
            "selector": {"matchLabels": {"app": "probe"}},
            "template": {"metadata": {"labels": {"app": "probe"}}, "spec": _pod_spec(None)},
        },
    }
    message = _refused(
        _post(deployed.reconciler, f"/apis/apps/v1/namespaces/{DATABASE}/daemonsets", daemonset)
    )
    assert 'cannot create resource "daemonsets"' in message


def test_the_reconciler_cannot_read_secrets_in_the_operators_namespace(deployed: Deployed) -> None:
    with deployed.reconciler.client() as client:
        listed = client.get(f"/api/v1/namespaces/{OPERATORS}/secrets")
        one = client.get(f"/api/v1/namespaces/{OPERATORS}/secrets/cnpg-webhook-cert")
    assert 'cannot list resource "secrets"' in _refused(listed)
    assert 'cannot get resource "secrets"' in _refused(one)


def test_the_reconciler_cannot_create_a_job_as_the_operators_account(deployed: Deployed) -> None:
    response = _post(
        deployed.reconciler,
        f"/apis/batch/v1/namespaces/{OPERATORS}/jobs",
        _job(OPERATOR_SERVICE_ACCOUNT),
    )
    assert 'cannot create resource "jobs"' in _refused(response)


def test_the_reconciler_cannot_create_a_pod_in_the_database_namespace(deployed: Deployed) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"},
           "spec": _pod_spec(None, takes_the_node=True)}  # fmt: skip
    message = _refused(_post(deployed.reconciler, f"/api/v1/namespaces/{DATABASE}/pods", pod))
    assert 'cannot create resource "pods"' in message


def test_the_reconciler_cannot_bind_itself_to_cluster_admin(deployed: Deployed) -> None:
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "probe"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": RECONCILER_SERVICE_ACCOUNT,
                      "namespace": RECONCILER_NAMESPACE}],
    }  # fmt: skip
    path = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{DATABASE}/rolebindings"
    # RBAC's escalation check: a binding may grant only rights its creator holds.
    assert "attempting to grant RBAC permissions not currently held" in _refused(
        _post(deployed.reconciler, path, binding)
    )


def test_the_reconciler_cannot_create_a_cluster_role_or_widen_its_own(deployed: Deployed) -> None:
    roles = "/apis/rbac.authorization.k8s.io/v1/clusterroles"
    wide = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    created = _post(deployed.reconciler, roles, {"metadata": {"name": "probe"}, "rules": wide})
    assert 'cannot create resource "clusterroles"' in _refused(created)
    with deployed.reconciler.client() as client:
        widened = client.patch(
            f"{roles}/coder-reconciler-local",
            params={"dryRun": "All"},
            content=json.dumps({"rules": wide}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
    assert "attempting to grant RBAC permissions not currently held" in _refused(widened)


def test_the_reconciler_cannot_remove_the_policies_that_guard_it(deployed: Deployed) -> None:
    path = (
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/"
        "coder-reconciler-local-workload-identity"
    )
    with deployed.reconciler.client() as client:
        response = client.delete(path, params={"dryRun": "All"})
    assert "cannot delete resource" in _refused(response)


# -- refused by admission: where RBAC would let it write ----------------------------------------


def test_a_cron_job_the_reconciler_creates_as_its_own_account_is_admitted(
    deployed: Deployed,
) -> None:
    """The positive control: the policy refuses the account, not the kind."""
    path = f"/apis/batch/v1/namespaces/{RECONCILER_NAMESPACE}/cronjobs"
    response = _post(deployed.reconciler, path, _cron_job(RECONCILER_SERVICE_ACCOUNT))
    assert response.status_code == 201, response.text[:500]


@pytest.mark.parametrize(
    ("service_account", "deprecated_field"),
    [("coder-db", False), (None, False), ("coder-db", True)],
    ids=["database-account", "default", "database-account-in-the-deprecated-field"],
)
def test_the_reconciler_cannot_create_a_cron_job_as_an_account_the_stack_does_not_declare(
    deployed: Deployed, service_account: str | None, deprecated_field: bool
) -> None:
    """RBAC lets it create CronJobs here; admission refuses the identity they would run as,
    also when named only by the deprecated ``serviceAccount`` field."""
    cron_job = _cron_job(service_account)
    if deprecated_field:
        pod_spec = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        pod_spec["serviceAccount"] = pod_spec.pop("serviceAccountName")
    path = f"/apis/batch/v1/namespaces/{DATABASE}/cronjobs"
    message = _refused(_post(deployed.reconciler, path, cron_job))
    assert "coder-reconciler-local-workload-identity" in message
    assert WORKLOAD_MESSAGE in message


def test_the_reconciler_cannot_write_in_the_operators_namespace_even_with_rbac_widened(
    deployed: Deployed,
) -> None:
    """Defence in depth: an admin's mistaken Role there is still stopped by admission."""
    roles = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{OPERATORS}"
    mistake = {
        "metadata": {"name": "mistake"},
        "rules": [{"apiGroups": ["", "batch"], "resources": ["configmaps", "jobs"],
                   "verbs": ["create"]}],
    }  # fmt: skip
    binding = {
        "metadata": {"name": "mistake"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "mistake"},
        "subjects": [{"kind": "ServiceAccount", "name": RECONCILER_SERVICE_ACCOUNT,
                      "namespace": RECONCILER_NAMESPACE}],
    }  # fmt: skip
    with deployed.admin.client() as client:
        client.post(f"{roles}/roles", json=mistake).raise_for_status()
        client.post(f"{roles}/rolebindings", json=binding).raise_for_status()
    try:
        configmap = {"metadata": {"name": "probe"}, "data": {"a": "b"}}
        path = f"/api/v1/namespaces/{OPERATORS}/configmaps"
        message = _refused(_post(deployed.reconciler, path, configmap))
        assert OPERATOR_NAMESPACE_MESSAGE in message
        job = _post(deployed.reconciler, f"/apis/batch/v1/namespaces/{OPERATORS}/jobs",
                    _job(OPERATOR_SERVICE_ACCOUNT))  # fmt: skip
        # Both policies refuse it; the API server names the first that does.
        refusal = _refused(job)
        assert OPERATOR_NAMESPACE_MESSAGE in refusal or WORKLOAD_MESSAGE in refusal
    finally:
        deployed.admin.delete(f"{roles}/rolebindings/mistake")
        deployed.admin.delete(f"{roles}/roles/mistake")


@pytest.mark.parametrize("namespace", [DATABASE, RECONCILER_NAMESPACE])
def test_a_pod_that_takes_its_node_is_refused_by_pod_security_in_every_managed_namespace(
    deployed: Deployed, namespace: str
) -> None:
    """Even for an admin, so also for the Job and CNPG controllers that create pods there."""
    account = None if namespace == DATABASE else RECONCILER_SERVICE_ACCOUNT
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe"},
           "spec": _pod_spec(account, takes_the_node=True)}  # fmt: skip
    message = _refused(_post(deployed.admin, f"/api/v1/namespaces/{namespace}/pods", pod))
    level = "baseline" if namespace == DATABASE else "restricted"
    assert f'violates PodSecurity "{level}:latest"' in message
    assert "host namespaces (hostNetwork=true, hostPID=true)" in message
