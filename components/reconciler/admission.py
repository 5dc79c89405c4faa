"""What the API server refuses the reconciler even where its RBAC lets it write.

RBAC says which kinds the reconciler may create in a namespace; it cannot say *what* a created
workload runs as. A subject that may create a Job in a namespace may name any service account of
that namespace in it, and the pod then holds that account's rights (Kubernetes docs, "Service
Accounts": "a user who can create pods in a namespace can use any service account in that
namespace"). ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA since Kubernetes
1.30; CEL evaluated inside the API server, no webhook to run) closes that:

- **workload identity**: a Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job or CronJob
  that the reconciler creates or updates must run as a service account the stack declares
  (``namespace/name``); one that names no account runs as ``default`` and is refused too.
- **operator namespace**: the reconciler may change nothing in the operators' namespace (their
  service accounts hold cluster-wide rights). A stack with a reconciler never installs them:
  their own stack (``coder-platform:scope: operators``) does, run by an admin.

Both match only requests whose user is the reconciler's service account (``matchConditions``),
so admins, controllers and the operators themselves are untouched. The reconciler can read but
not write these policies (``rbac.py``): the guarded identity never edits its guard.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi_kubernetes as k8s

from coder_platform.contracts import service_account_user

WORKLOAD_RESOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("pods",)),
    ("apps", ("deployments", "replicasets", "statefulsets", "daemonsets")),
    ("batch", ("jobs", "cronjobs")),
)
WORKLOAD_MESSAGE = "the reconciler may run workloads only as service accounts its stack declares"
OPERATOR_NAMESPACE_MESSAGE = "the reconciler may not change anything in the operators' namespace"

# The pod spec of every workload kind above, and the account it runs as (``default`` when none
# is named). The deprecated ``serviceAccount`` field needs no check of its own: the API server
# converts it into ``serviceAccountName`` (and back) before admission sees the object.
_POD_SPEC = (
    "object.kind == 'Pod' ? object.spec : "
    "object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : "
    "object.spec.template.spec"
)
_SERVICE_ACCOUNT = (
    "has(variables.podSpec.serviceAccountName) && variables.podSpec.serviceAccountName != '' ? "
    "variables.podSpec.serviceAccountName : 'default'"
)


def _cel_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(value) for value in values) + "]"


def _only_the_reconciler(user: str) -> list[k8s.admissionregistration.v1.MatchConditionArgs]:
    return [
        k8s.admissionregistration.v1.MatchConditionArgs(
            name="reconciler", expression=f"request.userInfo.username == {json.dumps(user)}"
        )
    ]


def workload_identity_spec(
    namespace: str, service_account: str, allowed: Sequence[str]
) -> k8s.admissionregistration.v1.ValidatingAdmissionPolicySpecArgs:
    """Refuse a workload the reconciler writes unless it runs as one of ``allowed``
    (``namespace/name``)."""
    rules = [
        k8s.admissionregistration.v1.NamedRuleWithOperationsArgs(
            api_groups=[group],
            api_versions=["*"],
            operations=["CREATE", "UPDATE"],
            resources=list(resources),
        )
        for group, resources in WORKLOAD_RESOURCES
    ]
    return k8s.admissionregistration.v1.ValidatingAdmissionPolicySpecArgs(
        failure_policy="Fail",
        match_constraints=k8s.admissionregistration.v1.MatchResourcesArgs(resource_rules=rules),
        match_conditions=_only_the_reconciler(service_account_user(namespace, service_account)),
        variables=[
            k8s.admissionregistration.v1.VariableArgs(name="podSpec", expression=_POD_SPEC),
            k8s.admissionregistration.v1.VariableArgs(
                name="serviceAccount", expression=_SERVICE_ACCOUNT
            ),
        ],
        validations=[
            k8s.admissionregistration.v1.ValidationArgs(
                expression=(
                    f"(request.namespace + '/' + variables.serviceAccount) in {_cel_list(allowed)}"
                ),
                message=f"{WORKLOAD_MESSAGE}: {', '.join(allowed)}",
                reason="Forbidden",
            )
        ],
    )


def operator_namespace_spec(
    namespace: str, service_account: str, operator_namespace: str
) -> k8s.admissionregistration.v1.ValidatingAdmissionPolicySpecArgs:
    """Refuse every write the reconciler makes in ``operator_namespace``."""
    return k8s.admissionregistration.v1.ValidatingAdmissionPolicySpecArgs(
        failure_policy="Fail",
        match_constraints=k8s.admissionregistration.v1.MatchResourcesArgs(
            resource_rules=[
                k8s.admissionregistration.v1.NamedRuleWithOperationsArgs(
                    api_groups=["*"],
                    api_versions=["*"],
                    operations=["*"],
                    resources=["*/*"],  # every resource and subresource
                    scope="Namespaced",
                )
            ]
        ),
        match_conditions=_only_the_reconciler(service_account_user(namespace, service_account)),
        validations=[
            k8s.admissionregistration.v1.ValidationArgs(
                expression=f"request.namespace != {json.dumps(operator_namespace)}",
                message=f"{OPERATOR_NAMESPACE_MESSAGE} ({operator_namespace})",
                reason="Forbidden",
            )
        ],
    )
