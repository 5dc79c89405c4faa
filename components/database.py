"""CnpgPostgres: the CNPG cluster that holds Coder's state, archived off-cluster.

Data survives a cluster recreate three ways (contract C3): continuous WAL archiving plus
scheduled base backups to Azure Blob through the Barman Cloud plugin, a recovery bootstrap
that rebuilds a new generation from the previous one's archive, and Retain disks.

The plugin reaches the store through the workload identity (dev, prod). A stack that is not
managed may give it a connection string instead (Azurite on the local node, where no identity
exists): the program then owns a Secret with it, which the ObjectStore names.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from coder_platform.contracts import CONNECTION_STRING_KEY, PART_OF, ComponentType
from coder_platform.names import (
    app_secret_name,
    archive_server_name,
    backup_store_secret_name,
    object_store_name,
)
from coder_platform.specs.cnpg import (
    archive_source,
    azure_credentials,
    initdb_bootstrap,
    plugin_backup,
    recovery_bootstrap,
    wal_archiver,
    workload_identity,
)
from coder_platform.specs.pod_security import pod_security
from coder_platform.specs.postgres_tls import CA_KEY, ca_secret_name, rw_host, verified_query
from components.providers.generated_password import GeneratedPassword
from components.resource_options import prerequisites, protected


@dataclass(frozen=True)
class RecoverySource:
    generation: int
    target_time: str | None = None


@dataclass(frozen=True)
class CnpgPostgresArgs:
    namespace: str
    cluster_name: str
    database: str
    owner: str
    instances: int
    storage_size: str
    storage_class_name: pulumi.Input[str]
    image: str
    generation: int
    destination_path: pulumi.Input[str]
    retention_days: int
    backup_schedule: str
    backup_immediate: bool
    wal_compression: str
    resources: dict[str, dict[str, str]]
    anti_affinity: str = "preferred"
    workload_identity_client_id: pulumi.Input[str] | None = None
    recovery: RecoverySource | None = None
    # A storage connection string instead of the workload identity (not managed stacks only).
    connection_string: pulumi.Input[str] | None = None
    # A client in another namespace (Coder) needs a copy of the server CA: read it, and make the
    # Cluster's create wait until the operator has written it.
    publish_server_ca: bool = False


class CnpgPostgres(pulumi.ComponentResource):
    """Namespace, app credentials, ObjectStore, Cluster and ScheduledBackup."""

    namespace: k8s.core.v1.Namespace
    password: GeneratedPassword
    app_secret: k8s.core.v1.Secret
    store_secret: k8s.core.v1.Secret | None
    object_store: k8s.apiextensions.CustomResource
    cluster: k8s.apiextensions.CustomResource
    scheduled_backup: k8s.apiextensions.CustomResource
    cluster_name: pulumi.Output[str]
    app_secret_name: pulumi.Output[str]
    app_uri: pulumi.Output[str]
    rw_host: pulumi.Output[str]
    server_ca: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        args: CnpgPostgresArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(ComponentType.DATABASE, name, None, opts)
        # Only the Cluster is protected, and the namespace kept on delete; nothing else
        # inherits the component's protection.
        self._args = args
        self._protect = protected(opts)
        self._after = prerequisites(opts)
        host = rw_host(args.cluster_name, args.namespace)
        self.namespace = self._namespace(name)
        uri = self._credentials(name, host)
        self.object_store = self._object_store(name)
        self.cluster = self._cluster(name)
        self.scheduled_backup = self._scheduled_backup(name)
        # Names are deterministic; deriving them from ids makes consumers wait for creation.
        self.cluster_name = self.cluster.id.apply(lambda _: args.cluster_name)
        self.app_secret_name = self.app_secret.id.apply(
            lambda _: app_secret_name(args.cluster_name)
        )
        self.rw_host = self.cluster.id.apply(lambda _: host)
        self.app_uri = pulumi.Output.secret(uri)
        self.server_ca = self._server_ca(name) if args.publish_server_ca else None
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "app_secret_name": self.app_secret_name,
                "rw_host": self.rw_host,
            }
        )

    def _namespace(self, name: str) -> k8s.core.v1.Namespace:
        return k8s.core.v1.Namespace(
            f"{name}-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=self._args.namespace, labels={**PART_OF, **pod_security("baseline")}
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=False, retain_on_delete=self._protect),
        )

    def _credentials(self, name: str, host: str) -> pulumi.Output[str]:
        """The app password and Secret; returns the connection URI built from them.

        Backups carry no Secrets: a Pulumi-owned password keeps the app credentials identical
        across a restore into a new cluster generation. The URI verifies the server
        (``verify-full`` against the cluster's CA, which a client mounts at the path the URI
        names; ``coder_platform.specs.postgres_tls``).
        """
        args = self._args
        self.password = GeneratedPassword(
            f"{name}-app-password",
            length=32,
            opts=pulumi.ResourceOptions(parent=self, protect=False),
        )
        uri = pulumi.Output.concat(
            "postgresql://",
            args.owner,
            ":",
            self.password.result,
            "@",
            host,
            ":5432/",
            args.database,
            "?",
            verified_query(),
        )
        self.app_secret = k8s.core.v1.Secret(
            f"{name}-app-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=app_secret_name(args.cluster_name),
                namespace=args.namespace,
                labels={"cnpg.io/reload": "true"},
            ),
            type="kubernetes.io/basic-auth",
            string_data={
                "username": args.owner,
                "password": self.password.result,
                "dbname": args.database,
                "host": host,
                "port": "5432",
                "uri": uri,  # secret: it is built from the secret password
            },
            opts=pulumi.ResourceOptions(parent=self, protect=False, depends_on=[self.namespace]),
        )
        return uri

    def _store_secret(self, name: str) -> k8s.core.v1.Secret | None:
        """The connection string the ObjectStore names, when the stack gives one."""
        args = self._args
        if args.connection_string is None:
            return None
        return k8s.core.v1.Secret(
            f"{name}-backup-store-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=backup_store_secret_name(args.cluster_name), namespace=args.namespace
            ),
            string_data={CONNECTION_STRING_KEY: pulumi.Output.secret(args.connection_string)},
            opts=pulumi.ResourceOptions(parent=self, protect=False, depends_on=[self.namespace]),
        )

    def _server_ca(self, name: str) -> pulumi.Output[str]:
        """The cluster's server CA certificate (PEM), read from the operator's Secret.

        The read's id waits for the Cluster, whose create waits (``cluster_annotations``) until
        the operator has written the CA; on a first preview the id is unknown and so is the CA.
        Every run reads it again, so a renewed CA reaches the copies on the next run.
        """
        args = self._args
        secret_id = self.cluster.id.apply(
            lambda _: f"{args.namespace}/{ca_secret_name(args.cluster_name)}"
        )
        ca_secret = k8s.core.v1.Secret.get(
            f"{name}-server-ca", secret_id, opts=pulumi.ResourceOptions(parent=self)
        )
        return ca_secret.data.apply(lambda data: _decoded_ca(data, args))

    def _object_store(self, name: str) -> k8s.apiextensions.CustomResource:
        args = self._args
        self.store_secret = self._store_secret(name)
        secret = [self.store_secret] if self.store_secret is not None else []
        return k8s.apiextensions.CustomResource(
            f"{name}-object-store",
            api_version="barmancloud.cnpg.io/v1",
            kind="ObjectStore",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=object_store_name(args.cluster_name), namespace=args.namespace
            ),
            spec=object_store_spec(args),
            opts=pulumi.ResourceOptions(
                parent=self, protect=False, depends_on=[self.namespace, *secret, *self._after]
            ),
        )

    def _cluster(self, name: str) -> k8s.apiextensions.CustomResource:
        args = self._args
        return k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="postgresql.cnpg.io/v1",
            kind="Cluster",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.cluster_name,
                namespace=args.namespace,
                annotations=cluster_annotations(args) or None,
            ),
            spec=cluster_spec(args),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.app_secret, self.object_store, *self._after],
                protect=self._protect,
                # Bootstrap only matters when a cluster is created; after that CNPG ignores it.
                ignore_changes=["spec.bootstrap", "spec.externalClusters"],
            ),
        )

    def _scheduled_backup(self, name: str) -> k8s.apiextensions.CustomResource:
        args = self._args
        return k8s.apiextensions.CustomResource(
            f"{name}-scheduled-backup",
            api_version="postgresql.cnpg.io/v1",
            kind="ScheduledBackup",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"{args.cluster_name}-base-backup", namespace=args.namespace
            ),
            spec=plugin_backup(
                args.backup_schedule, args.cluster_name, immediate=args.backup_immediate
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=False, depends_on=[self.cluster]),
        )


# pulumi-kubernetes' await annotations (4.18+): wait on a field, bounded.
WAIT_FOR = "pulumi.com/waitFor"
WAIT_TIMEOUT = "pulumi.com/timeoutSeconds"
CA_WAIT_SECONDS = 300


def cluster_annotations(args: CnpgPostgresArgs) -> dict[str, str]:
    """With ``publish_server_ca``, the Cluster's create and update finish only once the operator
    has published its CA: CloudNativePG creates ``<cluster>-ca`` (``setupPostgresPKI``) before it
    writes ``status.certificates.serverCASecret`` (``updateResourceStatus``), and no instance
    needs to run for either. Without it (the local stack: no operator runs there) nothing waits.
    """
    if not args.publish_server_ca:
        return {}
    return {
        WAIT_FOR: (
            f"jsonpath={{.status.certificates.serverCASecret}}={ca_secret_name(args.cluster_name)}"
        ),
        WAIT_TIMEOUT: str(CA_WAIT_SECONDS),
    }


def _decoded_ca(data: object, args: CnpgPostgresArgs) -> str:
    encoded = data.get(CA_KEY) if isinstance(data, dict) else None
    if not isinstance(encoded, str) or not encoded:
        raise ValueError(
            f"the CA Secret {args.namespace}/{ca_secret_name(args.cluster_name)} has no "
            f"{CA_KEY}: clients verify the database server against it (sslmode verify-full)"
        )
    return base64.b64decode(encoded).decode("ascii")


def object_store_spec(args: CnpgPostgresArgs) -> dict[str, Any]:
    """Azure Blob through the workload identity (inheritFromAzureAD); a storage key only where
    the stack gives a connection string (never dev/prod: config validation refuses it)."""
    credentials = azure_credentials(
        None if args.connection_string is None else backup_store_secret_name(args.cluster_name)
    )
    return {
        "configuration": {
            "destinationPath": args.destination_path,
            "azureCredentials": credentials,
            "wal": {"compression": args.wal_compression, "maxParallel": 4},
            "data": {"compression": _data_compression(args.wal_compression), "jobs": 2},
        },
        "retentionPolicy": f"{args.retention_days}d",
    }


def _data_compression(wal_compression: str) -> str:
    # Base backups accept a smaller set of algorithms than WAL files.
    return wal_compression if wal_compression in ("bzip2", "gzip", "lz4", "snappy") else "gzip"


def cluster_spec(args: CnpgPostgresArgs) -> dict[str, Any]:
    """This generation archives WAL under its own server name; a recovery reads the previous one."""
    store = object_store_name(args.cluster_name)
    secret = app_secret_name(args.cluster_name)
    spec: dict[str, Any] = {
        "instances": args.instances,
        "imageName": args.image,
        "primaryUpdateStrategy": "unsupervised",
        "enablePDB": args.instances > 1,
        "storage": {"size": args.storage_size, "storageClass": args.storage_class_name},
        "resources": args.resources,
        "affinity": {
            "enablePodAntiAffinity": True,
            "podAntiAffinityType": args.anti_affinity,
            "topologyKey": "kubernetes.io/hostname",
        },
        "plugins": [wal_archiver(store, archive_server_name(args.cluster_name, args.generation))],
        "bootstrap": initdb_bootstrap(args.database, args.owner, secret),
    }
    if args.recovery is not None:
        source = archive_server_name(args.cluster_name, args.recovery.generation)
        spec["bootstrap"] = recovery_bootstrap(
            source, args.database, args.owner, secret, args.recovery.target_time
        )
        spec["externalClusters"] = [archive_source(source, store, source)]
    if args.workload_identity_client_id is not None:
        spec.update(workload_identity(args.workload_identity_client_id))
    return spec
