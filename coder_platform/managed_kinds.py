"""Every namespaced Kubernetes kind the stack writes, who writes it, and with which verbs.

The one list the reconciler's Roles are built from (``components/reconciler/rbac.py``): the
runner heals exactly what the program registers and what the Helm charts it installs render, so
each kind here names its writers. ``tests/coder_platform/test_managed_kinds.py`` renders the
stacks under mocks and fails when a component registers a namespaced kind missing here, or when
a kind here is written by nothing the stacks render (a grant nobody uses is a grant an attacker
can).

Chart writers are what the pinned charts' templates render (their ``templates/`` folders): the
Coder chart (Deployment, Service, ServiceAccount, Role/RoleBinding for workspaces, Ingress).
Helm stores every release as a Secret in the release's namespace.

The operator charts (CloudNativePG, the Barman Cloud plugin) are not here: a stack with a
reconciler never installs them (config ``operators.install``); their operators-scope stack does,
run by an admin (``coder-platform:scope: operators``). So the kinds only those charts render
(NetworkPolicy, PodDisruptionBudget, cert-manager Certificates and Issuers, the operator's
Deployment and the plugin's Role) are no right of the reconciler's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

READ: Final = ("get", "list", "watch")
WRITE_NO_DELETE: Final = (*READ, "create", "update", "patch")
CRUD: Final = (*WRITE_NO_DELETE, "delete")

PROGRAM: Final = "program"
CODER_CHART: Final = "coder"
CHARTS: Final = (CODER_CHART,)
# The reconciler's and the drill's Roles, Coder's for its workspaces.
_ROLE_WRITERS: Final = (PROGRAM, CODER_CHART)


@dataclass(frozen=True)
class ManagedKind:
    group: str
    kind: str
    resource: str  # the plural RBAC names
    verbs: tuple[str, ...]
    writers: tuple[str, ...]  # PROGRAM and/or chart names


MANAGED_KINDS: Final = (
    ManagedKind("", "ConfigMap", "configmaps", CRUD, (PROGRAM,)),
    ManagedKind("", "Secret", "secrets", CRUD, (PROGRAM, *CHARTS)),
    ManagedKind("", "Service", "services", CRUD, CHARTS),
    ManagedKind("", "ServiceAccount", "serviceaccounts", CRUD, (PROGRAM, *CHARTS)),
    # Deployments only: neither the program nor its charts create a StatefulSet or a DaemonSet,
    # and a DaemonSet would put a pod of its choosing on every node.
    ManagedKind("apps", "Deployment", "deployments", CRUD, CHARTS),
    ManagedKind("batch", "CronJob", "cronjobs", CRUD, (PROGRAM,)),
    # The Pulumi Kubernetes Operator's Stack (reconciler mode: operator).
    ManagedKind("pulumi.com", "Stack", "stacks", CRUD, (PROGRAM,)),
    ManagedKind("networking.k8s.io", "Ingress", "ingresses", CRUD, (CODER_CHART,)),
    ManagedKind("rbac.authorization.k8s.io", "Role", "roles", CRUD, _ROLE_WRITERS),
    ManagedKind("rbac.authorization.k8s.io", "RoleBinding", "rolebindings", CRUD, _ROLE_WRITERS),
    # Never deleted outside the drill's scratch namespace: a deleted Cluster is a lost database.
    ManagedKind("postgresql.cnpg.io", "Cluster", "clusters", WRITE_NO_DELETE, (PROGRAM,)),
    ManagedKind("postgresql.cnpg.io", "ScheduledBackup", "scheduledbackups", CRUD, (PROGRAM,)),
    ManagedKind("barmancloud.cnpg.io", "ObjectStore", "objectstores", CRUD, (PROGRAM,)),
    ManagedKind("monitoring.coreos.com", "PrometheusRule", "prometheusrules", CRUD, (PROGRAM,)),
    ManagedKind("monitoring.coreos.com", "PodMonitor", "podmonitors", CRUD, (PROGRAM,)),
)
