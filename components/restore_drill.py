"""RestoreDrill: prove on a schedule that the backups restore into a working Coder database (C3).

Backups that were never restored are a hope. This component schedules ``python -m
automation.drill`` (see ``automation/drill/run.py`` for its steps) and gives it exactly what it
needs, in a scratch namespace of its own:

- the scratch namespace and an ``ObjectStore`` there with the source's destination (the
  plugin reads an ObjectStore in the Cluster's own namespace). It has no retention policy: the
  scratch cluster never archives, and nothing here may prune the real backups.
- on Azure, the scratch cluster's **own** identity: a user-assigned identity with **Storage
  Blob Data Reader** on the backup container only, federated to the service account CNPG
  creates for the scratch cluster (``system:serviceaccount:<namespace>:<cluster>``). Even a
  scratch cluster that tried to archive could not write to the archive it restores from.
- where the stack's backups use a connection string instead (``database.backup.
  connectionStringPath``: Azurite on the local node, never dev/prod), a copy of it in a Secret
  of the scratch namespace, which the scratch ObjectStore names (a Cluster's plugin reads
  Secrets in its own namespace only). It is the store's one account key, so read-only is the
  drill's intent here, not a credential's limit: the scratch cluster never archives
  (``automation/drill/manifests.py`` refuses a spec that would).
- the drill's service account and least-privilege RBAC: in the scratch namespace, the scratch
  Cluster (create, read, delete) and its Secret (create, read, delete) and pods (read); in the
  database namespace, pods (read), for the workload-identity check of the backup sidecar.
- a CronJob in the reconciler's shape (P1): ``concurrencyPolicy: Forbid``, ``backoffLimit: 0``,
  kept history (one success, three failures: C4), a pinned image and a non-root, read-only pod.
  Its deadline leaves room for the drill's own restore deadline and its cleanup, so Kubernetes
  never kills a drill before it removes its scratch cluster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import authorization, managedidentity

from coder_platform.contracts import (
    CONNECTION_STRING_KEY,
    DNS_LABEL,
    RESTORE_DRILL_COMPONENT,
    STACK_KEY,
    ComponentType,
    is_pinned_image,
    labels,
)
from coder_platform.drill_settings import CLEANUP_SECONDS, DrillSettings
from coder_platform.names import backup_store_secret_name
from coder_platform.specs import jobs
from coder_platform.specs.cnpg import azure_credentials
from coder_platform.specs.pod_security import pod_security
from components.backup_store import TOKEN_EXCHANGE_AUDIENCE, federated_subject

# Built-in role "Storage Blob Data Reader": read and list blobs, nothing else.
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
SERVICE_ACCOUNT = "coder-restore-drill"
READ = ["get", "list", "watch"]


@dataclass(frozen=True)
class DrillAzure:
    """Where the drill's read-only identity is created and what it may read."""

    subscription_id: str
    resource_group_name: str
    location: str
    oidc_issuer_url: str
    container_id: pulumi.Input[str]


@dataclass(frozen=True)
class RestoreDrillArgs:
    settings: DrillSettings
    schedule: str
    runner_image: str
    destination_path: pulumi.Input[str]
    azure: DrillAzure | None = None
    # The stack's storage connection string (not managed stacks only), copied for the scratch
    # cluster; None: the workload identity.
    connection_string: pulumi.Input[str] | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.connection_string is not None and (
            self.azure is not None or self.settings.identity_client_id is not None
        ):
            problems.append("connection_string cannot be combined with an Azure identity")
        if len(self.schedule.split()) != 5:
            problems.append("schedule must be a five-field Kubernetes cron")
        if not is_pinned_image(self.runner_image):
            problems.append("runner_image must be pinned by a version tag or digest")
        if not re.fullmatch(DNS_LABEL, self.settings.namespace):
            problems.append("settings.namespace must be a DNS label")
        if self.settings.namespace == self.settings.source_namespace:
            problems.append("the scratch namespace must not be the database namespace")
        if problems:
            raise ValueError("invalid RestoreDrillArgs: " + "; ".join(problems) + " (C1)")

    @property
    def active_deadline_seconds(self) -> int:
        """The restore deadline, two cleanups (leftovers first, then its own) and ten minutes."""
        return self.settings.deadline_seconds + 2 * int(CLEANUP_SECONDS) + 600


class RestoreDrill(pulumi.ComponentResource):
    """The weekly restore drill of one stack: scratch namespace, identity, RBAC, CronJob."""

    namespace: k8s.core.v1.Namespace
    store_secret: k8s.core.v1.Secret | None
    object_store: k8s.apiextensions.CustomResource
    identity: managedidentity.UserAssignedIdentity | None
    service_account: k8s.core.v1.ServiceAccount
    cron_job: k8s.batch.v1.CronJob
    client_id: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: RestoreDrillArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(ComponentType.RESTORE_DRILL, name, None, opts)
        self._args = args
        s = args.settings
        self._labels = {
            **labels("coder-restore-drill", RESTORE_DRILL_COMPONENT),
            STACK_KEY: s.stack,
        }
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=s.namespace, labels={**self._labels, **pod_security("baseline")}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        self.store_secret = self._store_secret(name, in_ns)
        self.object_store = k8s.apiextensions.CustomResource(
            f"{name}-object-store",
            api_version="barmancloud.cnpg.io/v1",
            kind="ObjectStore",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=s.object_store, namespace=s.namespace, labels=self._labels
            ),
            spec={
                "configuration": {
                    "destinationPath": args.destination_path,
                    "azureCredentials": azure_credentials(
                        backup_store_secret_name(s.cluster_name) if self.store_secret else None
                    ),
                    "wal": {"maxParallel": 4},
                }
            },
            opts=pulumi.ResourceOptions.merge(
                in_ns,
                pulumi.ResourceOptions(depends_on=[self.store_secret] if self.store_secret else []),
            ),
        )
        self.identity = None
        self.client_id = None
        if args.azure is not None:
            self.identity = self._identity(name, args.azure)
            self.client_id = self.identity.client_id
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SERVICE_ACCOUNT, namespace=s.namespace, labels=self._labels
            ),
            automount_service_account_token=True,
            opts=in_ns,
        )
        self._rbac(name, in_ns)
        self.cron_job = self._cron_job(name, in_ns)
        self.register_outputs({"schedule": args.schedule})

    def _store_secret(self, name: str, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret | None:
        args, s = self._args, self._args.settings
        if args.connection_string is None:
            return None
        return k8s.core.v1.Secret(
            f"{name}-backup-store-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=backup_store_secret_name(s.cluster_name),
                namespace=s.namespace,
                labels=self._labels,
            ),
            string_data={CONNECTION_STRING_KEY: pulumi.Output.secret(args.connection_string)},
            opts=opts,
        )

    def _identity(self, name: str, azure: DrillAzure) -> managedidentity.UserAssignedIdentity:
        s = self._args.settings
        child = pulumi.ResourceOptions(parent=self)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=f"{s.cluster_name}-restore",
            resource_group_name=azure.resource_group_name,
            location=azure.location,
            opts=child,
        )
        managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            federated_identity_credential_resource_name=f"{s.namespace}-{s.cluster_name}",
            resource_name_=identity.name,
            resource_group_name=azure.resource_group_name,
            issuer=azure.oidc_issuer_url,
            subject=federated_subject(s.namespace, s.cluster_name),
            audiences=[TOKEN_EXCHANGE_AUDIENCE],
            opts=child,
        )
        authorization.RoleAssignment(
            f"{name}-blob-reader",
            principal_id=identity.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=(
                f"/subscriptions/{azure.subscription_id}/providers/"
                f"Microsoft.Authorization/roleDefinitions/{STORAGE_BLOB_DATA_READER}"
            ),
            scope=azure.container_id,
            opts=child,
        )
        return identity

    def _role(
        self,
        name: str,
        namespace: str,
        rules: list[k8s.rbac.v1.PolicyRuleArgs],
        opts: pulumi.ResourceOptions,
    ) -> None:
        meta = k8s.meta.v1.ObjectMetaArgs(
            name=SERVICE_ACCOUNT, namespace=namespace, labels=self._labels
        )
        role = k8s.rbac.v1.Role(f"{name}-role", metadata=meta, rules=rules, opts=opts)
        k8s.rbac.v1.RoleBinding(
            f"{name}-role-binding",
            metadata=meta,
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="Role", name=role.metadata.name
            ),
            subjects=[
                k8s.rbac.v1.SubjectArgs(
                    kind="ServiceAccount",
                    name=SERVICE_ACCOUNT,
                    namespace=self._args.settings.namespace,
                )
            ],
            opts=opts,
        )

    def _rbac(self, name: str, opts: pulumi.ResourceOptions) -> None:
        s = self._args.settings
        self._role(
            f"{name}-scratch",
            s.namespace,
            [
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=["postgresql.cnpg.io"],
                    resources=["clusters"],
                    verbs=[*READ, "create", "delete"],
                ),
                k8s.rbac.v1.PolicyRuleArgs(
                    api_groups=[""], resources=["secrets"], verbs=["get", "create", "delete"]
                ),
                k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["pods"], verbs=READ),
            ],
            opts,
        )
        if s.check_workload_identity:
            self._role(
                f"{name}-source",
                s.source_namespace,
                [k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["pods"], verbs=READ)],
                pulumi.ResourceOptions(parent=self),
            )

    def _env(self) -> list[k8s.core.v1.EnvVarArgs]:
        env = [
            k8s.core.v1.EnvVarArgs(name=key, value=value)
            for key, value in self._args.settings.to_environ().items()
        ]
        if self.client_id is not None:
            env.append(
                k8s.core.v1.EnvVarArgs(
                    name=DrillSettings.env_name("identity_client_id"), value=self.client_id
                )
            )
        env += [
            k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp"),
            k8s.core.v1.EnvVarArgs(name="PYTHONDONTWRITEBYTECODE", value="1"),
        ]
        return env

    def _cron_job(self, name: str, opts: pulumi.ResourceOptions) -> k8s.batch.v1.CronJob:
        args, s = self._args, self._args.settings
        mounts = {"tmp": "/tmp"}
        drill = jobs.container(
            "restore-drill",
            args.runner_image,
            ["python", "-m", "automation.drill"],
            env=self._env(),
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": "50m", "memory": "128Mi"}, limits={"memory": "256Mi"}
            ),
            mounts=mounts,
        )
        return k8s.batch.v1.CronJob(
            f"{name}-cron-job",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=jobs.cron_job_name(f"coder-restore-drill-{s.stack.lower()}"),
                namespace=s.namespace,
                labels=self._labels,
            ),
            spec=jobs.cron_job_spec(
                args.schedule,
                starting_deadline_seconds=3600,
                active_deadline_seconds=args.active_deadline_seconds,
                labels=self._labels,
                pod_labels=self._labels,
                spec=jobs.pod(SERVICE_ACCOUNT, drill, list(mounts), owns_volumes=False),
            ),
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=[self.service_account, self.object_store])
            ),
        )
