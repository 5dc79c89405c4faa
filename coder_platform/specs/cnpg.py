"""The CNPG Cluster blocks the database component and the restore drill both write.

Continuous archiving and recovery go through the Barman Cloud plugin (CNPG 1.26+; the in-tree
``spec.backup.barmanObjectStore`` is deprecated): a Cluster names the plugin in ``plugins[]`` to
archive WAL, and in ``externalClusters[].plugin`` to recover from an archive. Both reference an
``ObjectStore`` in the Cluster's namespace and a ``serverName``, the folder of one cluster
generation in that store.
"""

from __future__ import annotations

from typing import Any

from coder_platform.contracts import (
    CONNECTION_STRING_KEY,
    WORKLOAD_IDENTITY_CLIENT_ID,
    WORKLOAD_IDENTITY_USE,
)

# The Barman Cloud plugin's name, as Clusters, ScheduledBackups and Backups reference it.
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"


def _plugin_parameters(object_store: str, server_name: str) -> dict[str, Any]:
    return {"barmanObjectName": object_store, "serverName": server_name}


def wal_archiver(object_store: str, server_name: str) -> dict[str, Any]:
    """The ``plugins[]`` entry that makes the plugin the Cluster's WAL archiver."""
    return {
        "name": BARMAN_PLUGIN,
        "isWALArchiver": True,
        "parameters": _plugin_parameters(object_store, server_name),
    }


def archive_source(name: str, object_store: str, server_name: str) -> dict[str, Any]:
    """The ``externalClusters[]`` entry a recovery bootstrap reads an archive through."""
    return {
        "name": name,
        "plugin": {
            "name": BARMAN_PLUGIN,
            "parameters": _plugin_parameters(object_store, server_name),
        },
    }


def recovery_bootstrap(
    source: str, database: str, owner: str, secret_name: str, target_time: str | None = None
) -> dict[str, Any]:
    """``bootstrap`` that recovers from ``source``; the app Secret keeps the owner's password
    (backups carry no Secrets). ``target_time`` is a point-in-time recovery target."""
    recovery: dict[str, Any] = {
        "source": source,
        "database": database,
        "owner": owner,
        "secret": {"name": secret_name},
    }
    if target_time:
        recovery["recoveryTarget"] = {"targetTime": target_time}
    return {"recovery": recovery}


def initdb_bootstrap(database: str, owner: str, secret_name: str) -> dict[str, Any]:
    """``bootstrap`` for a first generation: an empty database owned by ``owner``."""
    return {"initdb": {"database": database, "owner": owner, "secret": {"name": secret_name}}}


def azure_credentials(connection_string_secret: str | None) -> dict[str, Any]:
    """An ObjectStore's ``azureCredentials``: the pod's Azure workload identity
    (``inheritFromAzureAD``, dev/prod), or a Secret holding a storage connection string (stacks
    that are not managed: Azurite on the local node)."""
    if connection_string_secret is None:
        return {"inheritFromAzureAD": True}
    return {"connectionString": {"name": connection_string_secret, "key": CONNECTION_STRING_KEY}}


def workload_identity(client_id: Any) -> dict[str, Any]:
    """The Cluster fields that give its pods an Azure workload identity.

    The label reaches instance pods and bootstrap/recovery Job pods alike (``inheritedMetadata``),
    so the AKS webhook injects ``AZURE_FEDERATED_TOKEN_FILE`` into the plugin sidecar too; the
    annotation on the service account CNPG creates names the identity. ``client_id`` may be a
    Pulumi output: the builder only places it.
    """
    return {
        "inheritedMetadata": {"labels": {WORKLOAD_IDENTITY_USE: "true"}},
        "serviceAccountTemplate": {
            "metadata": {"annotations": {WORKLOAD_IDENTITY_CLIENT_ID: client_id}}
        },
    }


def plugin_backup(schedule: str, cluster_name: str, *, immediate: bool) -> dict[str, Any]:
    """A ``ScheduledBackup`` spec: base backups through the plugin, owned by the backup itself."""
    return {
        "schedule": schedule,
        "cluster": {"name": cluster_name},
        "method": "plugin",
        "pluginConfiguration": {"name": BARMAN_PLUGIN},
        "backupOwnerReference": "self",
        "immediate": immediate,
    }
