"""What the reconciler's service account may do in Kubernetes, and why.

Least-privilege RBAC, and why each grant exists (the runner refreshes and heals exactly the
Kubernetes objects this stack owns, through the Kubernetes provider and Helm):

- cluster-wide **read** of what refresh and Helm diffs look up: namespaces, StorageClasses,
  PersistentVolumes, CRDs, ClusterRoles/Bindings, webhook configurations and the admission
  policies. No cluster-wide read of Secrets or of any namespaced workload.
- cluster-scoped **writes by name only**: the stack's StorageClass(es) (update, and delete so a
  reclaim-policy change can replace the class), the stack's namespaces (create and update, never
  delete: a deleted namespace was the incident), and the runner's own ClusterRole/Binding.
- in each namespace the stack owns (database, Coder, the reconciler's own): exactly
  the namespaced kinds the program and its charts write, from the one list in
  ``coder_platform/managed_kinds.py`` (a unit test fails when a component adds a kind it lacks
  or it names a kind nothing writes), Helm's release Secrets included; pods, events and PVCs
  read-only.
- no rights on the admission policies that guard it beyond reading them (``admission.py``):
  which service accounts its workloads may run as is decided by an admin, not by itself.
- things it can never do: delete a PersistentVolumeClaim outside the Coder namespace, delete a
  CNPG Cluster outside the restore drill's scratch namespace, delete a namespace, or touch
  Secrets in any other namespace. A program change that needs one of these fails with Forbidden
  (exit 17) and needs a human with admin rights.
- in the Coder namespace only, the workspace permissions Coder's chart grants its own service
  account (pods, PVCs, Deployments); Kubernetes lets a subject create a Role only with rights it
  holds, so the runner must hold these to (re)create that Role, instead of the broader
  ``escalate`` verb.
- nothing of the operators (the CNPG operator, the Barman Cloud plugin): a stack with a
  reconciler never installs them; their own stack (``coder-platform:scope: operators``) does,
  run by an admin and refused in-cluster by the runner. No Role in their namespace (not even a
  read of its Secrets), and admission refuses any write there (``admission.py``); their
  cluster-scoped objects (CRDs, ClusterRoles, webhooks) are read-only: an always-on job with the
  rights to rewrite them, or to run a pod as the operator's cluster-wide account, would be
  cluster-admin in all but name.
"""

from __future__ import annotations

from coder_platform.managed_kinds import CRUD, MANAGED_KINDS, READ, ManagedKind

Rule = tuple[str, tuple[str, ...], tuple[str, ...]]


def rules_for(kinds: tuple[ManagedKind, ...]) -> tuple[Rule, ...]:
    """One rule per (API group, verbs), kinds in the order the list names them."""
    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for kind in kinds:
        grouped.setdefault((kind.group, kind.verbs), []).append(kind.resource)
    return tuple((group, tuple(resources), verbs) for (group, verbs), resources in grouped.items())


# What the stack writes (``coder_platform/managed_kinds.py``), then what refresh and the drill's
# checks only read.
NAMESPACED_RULES: tuple[Rule, ...] = (
    *rules_for(MANAGED_KINDS),
    ("", ("pods", "pods/log", "events", "endpoints", "persistentvolumeclaims"), READ),
    ("apps", ("replicasets",), READ),
    ("postgresql.cnpg.io", ("backups",), READ),
    ("events.k8s.io", ("events",), READ),
)
# The restore drill's scratch namespace: the drill deletes its scratch Cluster, and Kubernetes
# lets the runner (re)create the drill's Role only with rights the runner holds there.
SCRATCH_RULES: tuple[Rule, ...] = (("postgresql.cnpg.io", ("clusters",), CRUD),)
WORKSPACE_RULES: tuple[Rule, ...] = (
    ("", ("pods", "persistentvolumeclaims"), (*CRUD, "deletecollection")),
    ("apps", ("deployments",), (*CRUD, "deletecollection")),
)
CLUSTER_READ_RULES: tuple[Rule, ...] = (
    ("", ("namespaces", "persistentvolumes"), READ),
    ("storage.k8s.io", ("storageclasses",), READ),
    ("apiextensions.k8s.io", ("customresourcedefinitions",), READ),
    ("rbac.authorization.k8s.io", ("clusterroles", "clusterrolebindings"), READ),
    (
        "admissionregistration.k8s.io",
        (
            "mutatingwebhookconfigurations",
            "validatingwebhookconfigurations",
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
        ),
        READ,
    ),
)
