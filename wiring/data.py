"""The data layer: the Retain StorageClass, the CNPG operators, the backup store, the database."""

from __future__ import annotations

import pulumi
from pydantic import SecretStr

from coder_platform.config import PlatformConfig
from components.backup_store import (
    AzureBackupStore,
    AzureBackupStoreArgs,
    blob_destination,
    connection_string_destination,
)
from components.database import CnpgPostgres, CnpgPostgresArgs, RecoverySource
from components.operators import CnpgOperators, CnpgOperatorsArgs
from components.storage import RetainStorageClass, RetainStorageClassArgs


def build_storage(config: PlatformConfig) -> RetainStorageClass:
    storage = config.storage
    return RetainStorageClass(
        "database-storage",
        RetainStorageClassArgs(
            name=config.storage_class_name,
            sku_name=storage.sku_name,
            caching_mode=storage.caching_mode,
            fs_type=storage.fs_type,
            reclaim_policy=config.reclaim_policy,
            disk_resource_group=storage.disk_resource_group,
            provisioner=storage.provisioner,
        ),
    )


def build_operators(config: PlatformConfig) -> CnpgOperators | None:
    operators = config.operators
    if not operators.install:
        return None
    return CnpgOperators(
        "operators",
        CnpgOperatorsArgs(
            namespace=config.namespaces.operators,
            chart_repository=str(operators.chart_repository),
            cnpg_chart_version=operators.cnpg_chart_version,
            barman_plugin_chart_version=operators.barman_plugin_chart_version,
        ),
    )


def build_backup_store(config: PlatformConfig) -> AzureBackupStore | None:
    azure, backup = config.azure, config.database.backup
    if not azure.enabled:
        return None
    return AzureBackupStore(
        "backup-store",
        AzureBackupStoreArgs(
            subscription_id=str(azure.subscription_id),
            location=str(azure.location),
            resource_group_name=str(azure.backup_resource_group),
            storage_account_name=backup.storage_account_name,
            container_name=backup.container_name,
            oidc_issuer_url=str(azure.aks_oidc_issuer_url),
            service_account_namespace=config.namespaces.database,
            service_account_name=config.database.cluster_name,
            soft_delete_days=backup.soft_delete_days,
        ),
    )


def backup_destination(
    config: PlatformConfig,
    backup_store: AzureBackupStore | None,
    store_connection_string: SecretStr | None,
) -> pulumi.Input[str]:
    """Where the backups are: the stack's store on Azure, the connection string's endpoint
    (Azurite on the local node), else the configured account's Azure URL. The database
    archives there and the restore drill reads from there."""
    backup = config.database.backup
    if backup_store is not None:
        return backup_store.destination_path
    if store_connection_string is not None:
        return connection_string_destination(
            store_connection_string.get_secret_value(),
            backup.storage_account_name,
            backup.container_name,
        )
    return blob_destination(backup.storage_account_name, backup.container_name)


def build_database(
    config: PlatformConfig,
    storage: RetainStorageClass,
    operators: CnpgOperators | None,
    backup_store: AzureBackupStore | None,
    store_connection_string: SecretStr | None = None,
) -> CnpgPostgres:
    """The cluster archives through the workload identity, or (database.backup.
    connectionStringPath, stacks that are not managed) through the connection string read from
    Vault, to the store it names."""
    database, backup, recovery = config.database, config.database.backup, config.database.recovery
    # The cluster waits for its operator and, on Azure, for the container and the role
    # assignment: archiving with neither looks Ready while no WAL reaches the store.
    prerequisites: list[pulumi.Resource] = []
    if operators is not None:
        prerequisites.append(operators)
    if backup_store is not None:
        prerequisites += [backup_store.container, backup_store.role_assignment]
    connection_string = (
        store_connection_string.get_secret_value() if store_connection_string else None
    )
    destination = backup_destination(config, backup_store, store_connection_string)
    return CnpgPostgres(
        "coder-db",
        CnpgPostgresArgs(
            namespace=config.namespaces.database,
            cluster_name=database.cluster_name,
            database=database.database,
            owner=database.owner,
            instances=database.instances,
            storage_size=database.storage_size,
            storage_class_name=storage.name,
            image=database.image,
            generation=database.generation,
            destination_path=destination,
            retention_days=backup.retention_days,
            backup_schedule=backup.schedule,
            backup_immediate=backup.immediate,
            wal_compression=backup.wal_compression,
            resources=database.resources.model_dump(),
            anti_affinity=database.anti_affinity,
            workload_identity_client_id=(
                backup_store.client_id if backup_store else backup.workload_identity_client_id
            ),
            recovery=(
                RecoverySource(
                    generation=recovery.source_generation or database.generation - 1,
                    target_time=recovery.target_time,
                )
                if recovery.enabled
                else None
            ),
            connection_string=(
                pulumi.Output.secret(connection_string) if connection_string else None
            ),
            # Coder verifies the server against a copy of the CA in its own namespace.
            publish_server_ca=config.deploys_coder,
        ),
        opts=pulumi.ResourceOptions(
            protect=config.protected and not database.ephemeral, depends_on=prerequisites
        ),
    )
