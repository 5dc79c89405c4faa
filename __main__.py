"""coder-platform: load and validate the stack config once, then wire the components.

Nothing is registered before the whole config validates (contract C1).
"""

import pulumi

from coder_platform.config import ConfigError, PlatformConfig, read_stack_config
from coder_platform.conventions import RECONCILER_NAMESPACE, RECONCILER_SERVICE_ACCOUNT
from coder_platform.names import app_secret_name
from coder_platform.ownership import authoritative_children
from coder_platform.vault_inputs import (
    BootstrapInputs,
    VaultInputError,
    read_from_local,
    read_from_vault,
)
from components.backup_store import AzureBackupStore, AzureBackupStoreArgs, blob_destination
from components.coder import CoderDeployment, CoderDeploymentArgs, CoderIngress
from components.database import CnpgPostgres, CnpgPostgresArgs, RecoverySource
from components.operators import CnpgOperators, CnpgOperatorsArgs
from components.reconciler import (
    OperatorSource,
    ReconcilerSchedule,
    ReconcilerScheduleArgs,
    SecretKeyRef,
)
from components.seeding import CoderSeed, CoderSeedArgs, TokenPublication
from components.storage import RetainStorageClass, RetainStorageClassArgs
from components.vault import VaultSecrets, VaultSecretsArgs


def load() -> tuple[PlatformConfig, BootstrapInputs | None]:
    """Validate config and read every secret input before anything is registered (C1)."""
    try:
        config = read_stack_config()
        if config.coder is None or not config.coder.enabled:
            return config, None
        if config.vault.enabled:
            return config, read_from_vault(config.vault)
        assert config.local_secrets is not None  # enforced by config validation
        return config, read_from_local(config.local_secrets)
    except (ConfigError, VaultInputError) as error:
        # RunError prints the message without a traceback; nothing has been registered.
        raise pulumi.RunError(str(error)) from None


config, inputs = load()
db = config.database

storage = RetainStorageClass(
    "database-storage",
    RetainStorageClassArgs(
        name=config.storage_class_name,
        sku_name=config.storage.sku_name,
        caching_mode=config.storage.caching_mode,
        fs_type=config.storage.fs_type,
        reclaim_policy=config.reclaim_policy,
        disk_resource_group=config.storage.disk_resource_group,
    ),
    opts=authoritative_children(),
)

operators = (
    CnpgOperators(
        "operators",
        CnpgOperatorsArgs(
            namespace=config.namespaces.operators,
            chart_repository=str(config.operators.chart_repository),
            cnpg_chart_version=config.operators.cnpg_chart_version,
            barman_plugin_chart_version=config.operators.barman_plugin_chart_version,
        ),
    )
    if config.operators.install
    else None
)

backup_store = (
    AzureBackupStore(
        "backup-store",
        AzureBackupStoreArgs(
            subscription_id=str(config.azure.subscription_id),
            location=str(config.azure.location),
            resource_group_name=str(config.azure.backup_resource_group),
            storage_account_name=db.backup.storage_account_name,
            container_name=db.backup.container_name,
            oidc_issuer_url=str(config.azure.aks_oidc_issuer_url),
            service_account_namespace=config.namespaces.database,
            service_account_name=db.cluster_name,
            soft_delete_days=db.backup.soft_delete_days,
        ),
    )
    if config.azure.enabled
    else None
)

# The cluster waits for its operator and, on Azure, for the container and the role
# assignment: archiving with neither looks Ready while no WAL reaches the store.
database_prerequisites: list[pulumi.Resource] = []
if operators is not None:
    database_prerequisites.append(operators)
if backup_store is not None:
    database_prerequisites += [backup_store.container, backup_store.role_assignment]

recovery = db.recovery
database = CnpgPostgres(
    "coder-db",
    CnpgPostgresArgs(
        namespace=config.namespaces.database,
        cluster_name=db.cluster_name,
        database=db.database,
        owner=db.owner,
        instances=db.instances,
        storage_size=db.storage_size,
        storage_class_name=storage.name,
        image=db.image,
        generation=db.generation,
        destination_path=(
            backup_store.destination_path
            if backup_store
            else blob_destination(db.backup.storage_account_name, db.backup.container_name)
        ),
        retention_days=db.backup.retention_days,
        backup_schedule=db.backup.schedule,
        backup_immediate=db.backup.immediate,
        wal_compression=db.backup.wal_compression,
        resources=db.resources.model_dump(),
        anti_affinity=db.anti_affinity,
        workload_identity_client_id=(
            backup_store.client_id if backup_store else db.backup.workload_identity_client_id
        ),
        recovery=(
            RecoverySource(
                generation=recovery.source_generation or db.generation - 1,
                target_time=recovery.target_time,
            )
            if recovery.enabled
            else None
        ),
        protect=config.protected and not db.ephemeral,
        depends_on=database_prerequisites,
    ),
    opts=authoritative_children(),
)

vault_secrets = None
if config.vault.enabled:
    v = config.vault
    vault_secrets = VaultSecrets(
        "vault",
        VaultSecretsArgs(
            address=str(v.address).rstrip("/"),
            kv_mount=v.kv_mount,
            create_mount=v.create_mount,
            read_paths=[v.oidc_client_secret_path, v.bootstrap_admin_path],
            write_paths=[v.cli_token_path],
            kubernetes_auth_path=v.kubernetes_auth_path,
            role_name=v.reconciler_role,
            service_account_name=RECONCILER_SERVICE_ACCOUNT,
            service_account_namespace=(
                config.reconciler.namespace if config.reconciler else RECONCILER_NAMESPACE
            ),
        ),
    )

coder = None
if config.coder is not None and config.coder.enabled and inputs is not None:
    c = config.coder
    coder = CoderDeployment(
        "coder",
        CoderDeploymentArgs(
            namespace=config.namespaces.coder,
            chart_version=c.chart_version,
            chart_repository=str(c.chart_repository),
            access_url=str(c.access_url).rstrip("/"),
            wildcard_access_url=c.wildcard_access_url,
            replicas=c.replicas,
            resources=c.resources.model_dump(),
            service_type=c.service_type,
            ingress=CoderIngress(**c.ingress.model_dump()),
            oidc_issuer_url=str(c.oidc.issuer_url),
            oidc_client_id=c.oidc.client_id,
            oidc_email_domain=c.oidc.email_domain,
            oidc_allow_signups=c.oidc.allow_signups,
            sso_only=c.oidc.sso_only,
            max_token_lifetime=c.max_token_lifetime,
            max_admin_token_lifetime=c.max_admin_token_lifetime,
            database_secret_name=app_secret_name(db.cluster_name),
            database_uri=database.app_uri,
            oidc_client_secret=pulumi.Output.secret(inputs.oidc_client_secret.get_secret_value()),
            # Coder must not start before its database exists.
            depends_on=[database.cluster],
        ),
        opts=authoritative_children(),
    )

seed = None
if config.seeding is not None and config.seeding.enabled and coder is not None:
    assert inputs is not None and config.coder is not None  # enforced by config validation
    seeding = config.seeding
    seed = CoderSeed(
        "coder-seed",
        CoderSeedArgs(
            coder_url=str(config.coder.access_url).rstrip("/"),
            admin_email=inputs.admin_email,
            admin_username=inputs.admin_username,
            admin_full_name=seeding.automation_full_name,
            admin_password=pulumi.Output.secret(inputs.admin_password.get_secret_value()),
            token_name=seeding.token_name,
            token_lifetime_hours=seeding.token_lifetime_hours,
            token_rotation_window_hours=seeding.token_rotation_window_hours,
            publication=(
                TokenPublication(
                    vault_secrets.provider, vault_secrets.mount_path, config.vault.cli_token_path
                )
                if vault_secrets is not None
                else None
            ),
            depends_on=[coder.release],
        ),
    )

reconciler = None
if config.reconciler is not None and config.reconciler.enabled:
    r = config.reconciler
    try:
        reconciler_args = ReconcilerScheduleArgs(
            stack=pulumi.get_stack(),
            namespace=r.namespace,
            image=r.image,
            interval_minutes=r.interval_minutes,
            active_deadline_seconds=r.active_deadline_seconds,
            backend_url=str(r.backend_url),
            secrets_provider=r.secrets_provider,
            workload_identity_client_id=r.workload_identity_client_id,
            passphrase_secret=(
                SecretKeyRef(r.passphrase_secret.name, r.passphrase_secret.key)
                if r.passphrase_secret
                else None
            ),
            vault_role=config.vault.reconciler_role if config.vault.enabled else None,
            mode=r.mode,
            service_account_name=RECONCILER_SERVICE_ACCOUNT,
            # Rights only where this stack creates things: the runner heals what it owns.
            managed_namespaces=tuple(
                namespace
                for namespace, owned in (
                    (config.namespaces.database, True),
                    (config.namespaces.coder, coder is not None),
                    (config.namespaces.operators, operators is not None),
                )
                if owned
            ),
            storage_class_names=(config.storage_class_name,),
            workspace_namespace=config.namespaces.coder if coder is not None else None,
            coder_internal_url=str(r.coder_internal_url) if r.coder_internal_url else None,
            operator_source=(
                OperatorSource(str(r.operator.repo_url), r.operator.branch, r.operator.repo_dir)
                if r.operator
                else None
            ),
            extra_env=dict(r.extra_env),
        )
    except ValueError as error:
        # Config validation covers these rules; this is the component's own second line.
        raise pulumi.RunError(str(error)) from None
    reconciler = ReconcilerSchedule(
        "reconciler",
        reconciler_args,
        opts=pulumi.ResourceOptions.merge(
            authoritative_children(),
            pulumi.ResourceOptions(
                depends_on=[c for c in (operators, database, coder, seed) if c is not None]
            ),
        ),
    )

pulumi.export("storageClassName", storage.name)
pulumi.export("databaseClusterName", database.cluster_name)
pulumi.export("databaseAppSecretName", database.app_secret_name)
pulumi.export("databaseRwHost", database.rw_host)
if backup_store is not None:
    pulumi.export("backupDestinationPath", backup_store.destination_path)
    pulumi.export("backupIdentityClientId", backup_store.client_id)
if coder is not None:
    pulumi.export("coderAccessUrl", coder.access_url)
if vault_secrets is not None:
    pulumi.export("vaultKvMount", vault_secrets.mount_path)
if reconciler is not None:
    pulumi.export("reconcilerSchedule", reconciler.schedule)
