"""What the reconciler's service account may do in Kubernetes, and why.

Least-privilege RBAC, and why each grant exists (the runner refreshes and heals exactly the
Kubernetes objects this stack owns, through the Kubernetes provider and Helm):

- cluster-wide **read** of what refresh and Helm diffs look up: namespaces, StorageClasses,
  PersistentVolumes, CRDs, ClusterRoles/Bindings and webhook configurations (the operator
  charts). No cluster-wide read of Secrets or of any namespaced workload.
- cluster-scoped **writes by name only**: the stack's StorageClass(es) (update, and delete so a
  reclaim-policy change can replace the class), the stack's namespaces (create and update, never
  delete: a deleted namespace was the incident), and the runner's own ClusterRole/Binding.
- in each namespace the stack owns (database, Coder, operators, the reconciler's own): the
  namespaced kinds the program and its charts create (ConfigMaps, Secrets, Services, service
  accounts, Deployments, Jobs/CronJobs, Ingresses, NetworkPolicies, PDBs,
  Roles/RoleBindings, CNPG Clusters/ScheduledBackups/Poolers, Barman ObjectStores, cert-manager
  Certificates/Issuers, the Prometheus operator's PrometheusRules/PodMonitors), Helm's release
  Secrets included; pods, events and PVCs read-only.
- things it can never do: delete a PersistentVolumeClaim outside the Coder namespace, delete a
  CNPG Cluster outside the restore drill's scratch namespace, delete a namespace, or touch
  Secrets in any other namespace. A program change that needs one of these fails with Forbidden
  (exit 17) and needs a human with admin rights.
- in the Coder namespace only, the workspace permissions Coder's chart grants its own service
  account (pods, PVCs, Deployments); Kubernetes lets a subject create a Role only with rights it
  holds, so the runner must hold these to (re)create that Role, instead of the broader
  ``escalate`` verb.
- the operator charts' cluster-scoped objects (CRDs, ClusterRoles, webhooks) are read-only: an
  always-on job with the rights to rewrite them would be cluster-admin in all but name, a larger
  blast radius than the outage it prevents. Operators are P3 (operator-managed); their drift
  fails the run loudly instead of being healed silently.
"""

from __future__ import annotations

READ = ("get", "list", "watch")
WRITE_NO_DELETE = (*READ, "create", "update", "patch")
CRUD = (*WRITE_NO_DELETE, "delete")

Rule = tuple[str, tuple[str, ...], tuple[str, ...]]

NAMESPACED_RULES: tuple[Rule, ...] = (
    ("", ("configmaps", "secrets", "services", "serviceaccounts"), CRUD),
    ("", ("pods", "pods/log", "events", "endpoints", "persistentvolumeclaims"), READ),
    # Deployments only: neither the program nor its charts (Coder, the CNPG operator) create a
    # StatefulSet or a DaemonSet, and a DaemonSet would put a pod of its choosing on every node.
    ("apps", ("deployments",), CRUD),
    ("apps", ("replicasets",), READ),
    ("batch", ("jobs", "cronjobs"), CRUD),
    ("networking.k8s.io", ("ingresses", "networkpolicies"), CRUD),
    ("policy", ("poddisruptionbudgets",), CRUD),
    ("rbac.authorization.k8s.io", ("roles", "rolebindings"), CRUD),
    ("postgresql.cnpg.io", ("clusters",), WRITE_NO_DELETE),
    ("postgresql.cnpg.io", ("scheduledbackups", "poolers"), CRUD),
    ("postgresql.cnpg.io", ("backups",), READ),
    ("barmancloud.cnpg.io", ("objectstores",), CRUD),
    ("cert-manager.io", ("certificates", "issuers"), CRUD),
    ("monitoring.coreos.com", ("prometheusrules", "podmonitors"), CRUD),
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
        ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"),
        READ,
    ),
)
