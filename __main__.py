"""coder-platform: load and validate the stack config once, then wire the components.

Nothing is registered before the whole config validates and every secret input is read
(contract C1). Each ``build_*`` function below wires one component from the config and the
components it depends on; ordering and protection go through ``ResourceOptions``.
"""

from dataclasses import dataclass
from pathlib import Path

import pulumi

from coder_platform.alerts import inputs_from_config, rule_groups
from coder_platform.config import ConfigError, PlatformConfig, read_stack_config
from coder_platform.conventions import RECONCILER_NAMESPACE, RECONCILER_SERVICE_ACCOUNT
from coder_platform.dashboard import build_dashboard
from coder_platform.drill_settings import PUSHGATEWAY_ENV, DrillSettings
from coder_platform.names import app_secret_name, archive_server_name
from coder_platform.ownership import make_kubernetes_fields_authoritative
from coder_platform.seeded_inputs import check_seeded_inputs
from coder_platform.template_sources import TemplateSource, discover
from coder_platform.vault_inputs import (
    BootstrapInputs,
    VaultInputError,
    read_from_local,
    read_from_vault,
)
from components.backup_store import AzureBackupStore, AzureBackupStoreArgs, blob_destination
from components.coder import CoderDeployment, CoderDeploymentArgs, CoderIngress
from components.database import CnpgPostgres, CnpgPostgresArgs, RecoverySource
from components.observability import PlatformObservability, PlatformObservabilityArgs
from components.operators import CnpgOperators, CnpgOperatorsArgs
from components.reconciler import (
    OperatorSource,
    ReconcilerSchedule,
    ReconcilerScheduleArgs,
    SecretKeyRef,
)
from components.restore_drill import DrillAzure, RestoreDrill, RestoreDrillArgs
from components.seeding import CoderSeed, CoderSeedArgs, TokenPublication
from components.storage import RetainStorageClass, RetainStorageClassArgs
from components.vault import VaultSecrets, VaultSecretsArgs

PROJECT_ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Loaded:
    """Everything read and checked before the first resource is registered (C1)."""

    config: PlatformConfig
    inputs: BootstrapInputs | None
    templates: list[TemplateSource]


def load() -> Loaded:
    """Validate config, read every secret input and hash every template directory."""
    try:
        config = read_stack_config()
        if config.coder is None or not config.coder.enabled:
            return Loaded(config, None, [])
        if config.vault.enabled:
            inputs = read_from_vault(config.vault, config.seeding)
        else:
            assert config.local_secrets is not None  # enforced by config validation
            inputs = read_from_local(config.local_secrets)
        seeding = config.seeding
        if seeding is None or not seeding.enabled:
            return Loaded(config, inputs, [])
        check_seeded_inputs(config, inputs)
        templates = discover(PROJECT_ROOT, seeding.templates, seeding.templates_directory)
        return Loaded(config, inputs, templates)
    except (ConfigError, VaultInputError) as error:
        # RunError prints the message without a traceback; nothing has been registered.
        raise pulumi.RunError(str(error)) from None


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


def build_database(
    config: PlatformConfig,
    storage: RetainStorageClass,
    operators: CnpgOperators | None,
    backup_store: AzureBackupStore | None,
) -> CnpgPostgres:
    database, backup, recovery = config.database, config.database.backup, config.database.recovery
    # The cluster waits for its operator and, on Azure, for the container and the role
    # assignment: archiving with neither looks Ready while no WAL reaches the store.
    prerequisites: list[pulumi.Resource] = []
    if operators is not None:
        prerequisites.append(operators)
    if backup_store is not None:
        prerequisites += [backup_store.container, backup_store.role_assignment]
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
            destination_path=(
                backup_store.destination_path
                if backup_store
                else blob_destination(backup.storage_account_name, backup.container_name)
            ),
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
        ),
        opts=pulumi.ResourceOptions(
            protect=config.protected and not database.ephemeral, depends_on=prerequisites
        ),
    )


def build_vault_secrets(config: PlatformConfig) -> VaultSecrets | None:
    vault = config.vault
    if not vault.enabled:
        return None
    return VaultSecrets(
        "vault",
        VaultSecretsArgs(
            address=str(vault.address).rstrip("/"),
            kv_mount=vault.kv_mount,
            create_mount=vault.create_mount,
            read_paths=[vault.oidc_client_secret_path, vault.bootstrap_admin_path],
            write_paths=[vault.cli_token_path],
            kubernetes_auth_path=vault.kubernetes_auth_path,
            role_name=vault.reconciler_role,
            service_account_name=RECONCILER_SERVICE_ACCOUNT,
            service_account_namespace=(
                config.reconciler.namespace if config.reconciler else RECONCILER_NAMESPACE
            ),
            provider=vault.provider,
        ),
    )


def build_coder(
    config: PlatformConfig, inputs: BootstrapInputs | None, database: CnpgPostgres
) -> CoderDeployment | None:
    coder = config.coder
    if coder is None or not coder.enabled or not coder.deploy or inputs is None:
        return None
    # enforced by config validation when coder.deploy is true:
    assert coder.chart_version and coder.access_url and coder.oidc
    return CoderDeployment(
        "coder",
        CoderDeploymentArgs(
            namespace=config.namespaces.coder,
            chart_version=coder.chart_version,
            chart_repository=str(coder.chart_repository),
            access_url=str(coder.access_url).rstrip("/"),
            wildcard_access_url=coder.wildcard_access_url,
            replicas=coder.replicas,
            resources=coder.resources.model_dump(),
            service_type=coder.service_type,
            ingress=CoderIngress(**coder.ingress.model_dump()),
            oidc_issuer_url=str(coder.oidc.issuer_url),
            oidc_client_id=coder.oidc.client_id,
            oidc_email_domain=coder.oidc.email_domain,
            oidc_allow_signups=coder.oidc.allow_signups,
            sso_only=coder.oidc.sso_only,
            max_token_lifetime=coder.max_token_lifetime,
            max_admin_token_lifetime=coder.max_admin_token_lifetime,
            database_secret_name=app_secret_name(config.database.cluster_name),
            database_uri=database.app_uri,
            oidc_client_secret=pulumi.Output.secret(inputs.oidc_client_secret.get_secret_value()),
        ),
        # Coder must not start before its database exists.
        opts=pulumi.ResourceOptions(depends_on=[database.cluster]),
    )


def build_seed(
    loaded: Loaded, coder: CoderDeployment | None, vault_secrets: VaultSecrets | None
) -> CoderSeed | None:
    config, inputs, seeding = loaded.config, loaded.inputs, loaded.config.seeding
    if seeding is None or not seeding.enabled or config.coder is None:
        return None
    if coder is None and config.coder.deploy:
        return None
    assert inputs is not None and config.coder is not None  # enforced by config validation
    retain_templates = seeding.retain_templates_on_delete
    return CoderSeed(
        "coder-seed",
        CoderSeedArgs(
            coder_url=config.coder.seed_url,
            admin_email=inputs.admin_email,
            admin_username=inputs.admin_username,
            admin_full_name=seeding.automation_full_name,
            admin_password=pulumi.Output.secret(inputs.admin_password.get_secret_value()),
            token_name=seeding.token_name,
            token_lifetime_hours=seeding.token_lifetime_hours,
            token_rotation_window_hours=seeding.token_rotation_window_hours,
            publication=(
                TokenPublication(
                    vault_secrets.provider,
                    vault_secrets.mount_path,
                    config.vault.cli_token_path,
                    address=str(config.vault.address).rstrip("/"),
                )
                if vault_secrets is not None
                else None
            ),
            license=(
                pulumi.Output.secret(inputs.license.get_secret_value()) if inputs.license else None
            ),
            users=seeding.users,
            user_passwords={
                username: pulumi.Output.secret(password.get_secret_value())
                for username, password in inputs.user_passwords.items()
            },
            removed_users=seeding.removed_users,
            groups=seeding.groups,
            templates=loaded.templates,
            source_root=str(PROJECT_ROOT),
            retain_templates_on_delete=(
                config.environment == "prod" if retain_templates is None else retain_templates
            ),
        ),
        # A deployed Coder must answer before /users/first can; an existing one already does.
        opts=pulumi.ResourceOptions(depends_on=[coder.release] if coder else []),
    )


def build_reconciler(
    config: PlatformConfig, after: list[pulumi.ComponentResource | None], owns_coder: bool
) -> ReconcilerSchedule | None:
    reconciler = config.reconciler
    if reconciler is None or not reconciler.enabled:
        return None
    namespaces = config.namespaces
    try:
        args = ReconcilerScheduleArgs(
            stack=pulumi.get_stack(),
            namespace=reconciler.namespace,
            image=reconciler.image,
            interval_minutes=reconciler.interval_minutes,
            active_deadline_seconds=reconciler.active_deadline_seconds,
            backend_url=str(reconciler.backend_url),
            secrets_provider=reconciler.secrets_provider,
            workload_identity_client_id=reconciler.workload_identity_client_id,
            passphrase_secret=(
                SecretKeyRef(reconciler.passphrase_secret.name, reconciler.passphrase_secret.key)
                if reconciler.passphrase_secret
                else None
            ),
            vault_role=config.vault.reconciler_role if config.vault.enabled else None,
            mode=reconciler.mode,
            service_account_name=RECONCILER_SERVICE_ACCOUNT,
            # Rights only where this stack creates things: the runner heals what it owns.
            managed_namespaces=tuple(
                namespace
                for namespace, owned in (
                    (namespaces.database, True),
                    (namespaces.coder, owns_coder),
                    (namespaces.operators, config.operators.install),
                )
                if owned
            ),
            scratch_namespaces=(
                (config.restore_drill.namespace,) if config.restore_drill.enabled else ()
            ),
            storage_class_names=(config.storage_class_name,),
            workspace_namespace=namespaces.coder if owns_coder else None,
            coder_internal_url=(
                str(reconciler.coder_internal_url) if reconciler.coder_internal_url else None
            ),
            operator_source=(
                OperatorSource(
                    str(reconciler.operator.repo_url),
                    reconciler.operator.branch,
                    reconciler.operator.repo_dir,
                )
                if reconciler.operator
                else None
            ),
            extra_env={**runner_metrics_env(config), **reconciler.extra_env},
        )
    except ValueError as error:
        # Config validation covers these rules; this is the component's own second line.
        raise pulumi.RunError(str(error)) from None
    return ReconcilerSchedule(
        "reconciler",
        args,
        opts=pulumi.ResourceOptions(depends_on=[c for c in after if c is not None]),
    )


# --- Knowing before users do: alerts, the dashboard and the restore drill --------------------
# Thresholds come from observability.* and restoreDrill.*; the rules and the dashboard are built
# by coder_platform.alerts and coder_platform.dashboard, which the promtool tests also render.


def runner_metrics_env(config: PlatformConfig) -> dict[str, str]:
    """The in-cluster runner pushes its metrics where the alerts read them."""
    url = config.observability.pushgateway_url
    if not config.observability.enabled or url is None:
        return {}
    return {PUSHGATEWAY_ENV: str(url).rstrip("/")}


def build_observability(
    config: PlatformConfig, database: CnpgPostgres
) -> PlatformObservability | None:
    observability = config.observability
    if not observability.enabled:
        return None
    alert_inputs = inputs_from_config(config, pulumi.get_stack())
    return PlatformObservability(
        "observability",
        PlatformObservabilityArgs(
            stack=pulumi.get_stack(),
            namespace=config.namespaces.database,
            cluster_name=config.database.cluster_name,
            rule_groups=rule_groups(alert_inputs),
            dashboard=build_dashboard(alert_inputs),
            rule_labels=observability.rule_labels,
            dashboard_folder=observability.dashboard_folder,
            pod_monitor=observability.pod_monitor,
        ),
        opts=pulumi.ResourceOptions(depends_on=[database.namespace]),
    )


def build_restore_drill(
    config: PlatformConfig, database: CnpgPostgres, backup_store: AzureBackupStore | None
) -> RestoreDrill | None:
    drill, db, azure = config.restore_drill, config.database, config.azure
    if not drill.enabled:
        return None
    image = drill.image or (config.reconciler.image if config.reconciler else None)
    assert image is not None  # enforced by config validation
    pushgateway = config.observability.pushgateway_url
    settings = DrillSettings(
        stack=pulumi.get_stack(),
        namespace=drill.namespace,
        cluster_name=drill.cluster_name,
        source_namespace=config.namespaces.database,
        source_cluster=db.cluster_name,
        # The current generation's archive: the one the live cluster writes now.
        source_server_name=archive_server_name(db.cluster_name, db.generation),
        object_store=f"{drill.cluster_name}-source",
        image=db.image,
        database=db.database,
        owner=db.owner,
        storage_size=drill.storage_size or db.storage_size,
        storage_class_name=drill.storage_class_name,
        deadline_seconds=drill.deadline_minutes * 60,
        min_users=drill.min_users,
        min_templates=drill.min_templates,
        identity_client_id=None if azure.enabled else drill.workload_identity_client_id,
        check_workload_identity=azure.enabled or db.backup.workload_identity_client_id is not None,
        pushgateway=str(pushgateway).rstrip("/") if pushgateway else None,
    )
    prerequisites: list[pulumi.Resource] = [database.cluster]
    if backup_store is not None:
        prerequisites.append(backup_store.container)
    try:
        args = RestoreDrillArgs(
            settings=settings,
            schedule=drill.schedule,
            runner_image=image,
            destination_path=(
                backup_store.destination_path
                if backup_store
                else blob_destination(db.backup.storage_account_name, db.backup.container_name)
            ),
            azure=(
                DrillAzure(
                    subscription_id=str(azure.subscription_id),
                    resource_group_name=str(azure.backup_resource_group),
                    location=str(azure.location),
                    oidc_issuer_url=str(azure.aks_oidc_issuer_url),
                    container_id=backup_store.container.id,
                )
                if backup_store is not None
                else None
            ),
        )
    except ValueError as error:
        # Config validation covers these rules; this is the component's own second line.
        raise pulumi.RunError(str(error)) from None
    return RestoreDrill(
        "restore-drill", args, opts=pulumi.ResourceOptions(depends_on=prerequisites)
    )


loaded = load()
config, inputs = loaded.config, loaded.inputs
make_kubernetes_fields_authoritative()

storage = build_storage(config)
operators = build_operators(config)
backup_store = build_backup_store(config)
database = build_database(config, storage, operators, backup_store)
vault_secrets = build_vault_secrets(config)
coder = build_coder(config, inputs, database)
seed = build_seed(loaded, coder, vault_secrets)
# Not after the seed: a Coder reset drops the seed from state, and the runner refuses to when
# anything outside it depends on it (automation/engine/state_edits.py).
reconciler = build_reconciler(config, [operators, database, coder], owns_coder=coder is not None)
observability = build_observability(config, database)
restore_drill = build_restore_drill(config, database, backup_store)

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
if observability is not None:
    pulumi.export("alertRuleName", observability.rule_name)
if restore_drill is not None:
    pulumi.export("restoreDrillSchedule", config.restore_drill.schedule)
