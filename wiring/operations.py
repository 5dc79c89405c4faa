"""What keeps the platform running and tells its operators: the scheduled reconciler, alerts
and dashboard, the restore drill."""

from __future__ import annotations

import pulumi
from pydantic import SecretStr

from coder_platform.config import PlatformConfig, ReconcilerConfig
from coder_platform.contracts import (
    CODER_SERVICE_ACCOUNT,
    PUSHGATEWAY_ENV,
    RECONCILER_SERVICE_ACCOUNT,
)
from coder_platform.drill_settings import DrillSettings
from coder_platform.names import archive_server_name
from coder_platform.observability.alerts import AlertInputs, rule_groups
from coder_platform.observability.cron_gaps import max_interval
from coder_platform.observability.dashboard import build_dashboard
from components.backup_store import AzureBackupStore
from components.database import CnpgPostgres
from components.observability import PlatformObservability, PlatformObservabilityArgs
from components.reconciler import (
    OperatorSource,
    ReconcilerSchedule,
    ReconcilerScheduleArgs,
    SecretKeyRef,
)
from components.restore_drill import SERVICE_ACCOUNT as DRILL_SERVICE_ACCOUNT
from components.restore_drill import DrillAzure, RestoreDrill, RestoreDrillArgs
from wiring.data import backup_destination


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
            passphrase_secret=_passphrase(reconciler),
            vault_role=config.vault.reconciler_role if config.vault.enabled else None,
            mode=reconciler.mode,
            service_account_name=RECONCILER_SERVICE_ACCOUNT,
            managed_namespaces=_managed_namespaces(config, owns_coder),
            scratch_namespaces=(
                (config.restore_drill.namespace,) if config.restore_drill.enabled else ()
            ),
            storage_class_names=(config.storage_class_name,),
            workspace_namespace=namespaces.coder if owns_coder else None,
            workload_service_accounts=_workload_service_accounts(config, owns_coder),
            # Read-only for the reconciler, always: a stack with a reconciler never installs
            # the operators (config: operators.install), their operators-scope stack does.
            operator_namespace=namespaces.operators,
            coder_internal_url=(
                str(reconciler.coder_internal_url) if reconciler.coder_internal_url else None
            ),
            operator_source=_operator_source(reconciler),
            extra_env={**runner_metrics_env(config), **reconciler.extra_env},
            env_from_secret=reconciler.env_from_secret,
            host_network=reconciler.host_network,
            suspend=reconciler.suspend,
        )
    except ValueError as error:
        # Config validation covers these rules; this is the component's own second line.
        raise pulumi.RunError(str(error)) from None
    return ReconcilerSchedule(
        "reconciler",
        args,
        opts=pulumi.ResourceOptions(depends_on=[c for c in after if c is not None]),
    )


def _managed_namespaces(config: PlatformConfig, owns_coder: bool) -> tuple[str, ...]:
    """Rights only where this stack creates things: the runner heals what it owns. Never the
    operators' namespace: their own stack (``scope: operators``) installs them."""
    namespaces = config.namespaces
    owned = ((namespaces.database, True), (namespaces.coder, owns_coder))
    return tuple(namespace for namespace, owns in owned if owns)


def _workload_service_accounts(config: PlatformConfig, owns_coder: bool) -> tuple[str, ...]:
    """What the stack's workloads run as (the reconciler's own is always allowed)."""
    accounts = []
    if owns_coder:
        accounts.append(f"{config.namespaces.coder}/{CODER_SERVICE_ACCOUNT}")
    if config.restore_drill.enabled:
        accounts.append(f"{config.restore_drill.namespace}/{DRILL_SERVICE_ACCOUNT}")
    return tuple(accounts)


def _passphrase(reconciler: ReconcilerConfig) -> SecretKeyRef | None:
    secret = reconciler.passphrase_secret
    return SecretKeyRef(secret.name, secret.key) if secret else None


def _operator_source(reconciler: ReconcilerConfig) -> OperatorSource | None:
    operator = reconciler.operator
    if operator is None:
        return None
    return OperatorSource(str(operator.repo_url), operator.branch, operator.repo_dir)


# --- Knowing before users do: alerts, the dashboard and the restore drill --------------------
# Thresholds come from observability.* and restoreDrill.*; the rules and the dashboard are built
# by coder_platform/observability/, which the promtool tests also render.


def runner_metrics_env(config: PlatformConfig) -> dict[str, str]:
    """The in-cluster runner pushes its metrics where the alerts read them."""
    url = config.observability.pushgateway_url
    if not config.observability.enabled or url is None:
        return {}
    return {PUSHGATEWAY_ENV: str(url).rstrip("/")}


def inputs_from_config(config: PlatformConfig, stack: str) -> AlertInputs:
    """The alert inputs a validated stack config implies.

    Reconcile alerts exist only for the CronJob reconciler (the runner pushes the metrics; the
    operator mode does not run it), the token alert only where seeding mints the token, the
    drill alerts only where the drill runs.
    """
    reconciler, seeding, drill = config.reconciler, config.seeding, config.restore_drill
    runs = reconciler is not None and reconciler.enabled and reconciler.mode == "cronjob"
    observability = config.observability
    return AlertInputs(
        stack=stack,
        database_namespace=config.namespaces.database,
        cluster_name=config.database.cluster_name,
        instances=config.database.instances,
        backup_period=max_interval(config.database.backup.schedule),
        reconcile_interval_minutes=reconciler.interval_minutes if runs and reconciler else None,
        token_rotation_window_hours=(
            seeding.token_rotation_window_hours if seeding is not None and seeding.enabled else None
        ),
        drill_period=max_interval(drill.schedule) if drill.enabled else None,
        thresholds=observability.alerts,
        runbook_url=observability.runbook_url,
    )


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
    config: PlatformConfig,
    database: CnpgPostgres,
    backup_store: AzureBackupStore | None,
    store_connection_string: SecretStr | None = None,
) -> RestoreDrill | None:
    """The drill reads the archive with the stack's credential: its own read-only identity on
    Azure, else a copy of the connection string (database.backup.connectionStringPath)."""
    drill = config.restore_drill
    if not drill.enabled:
        return None
    image = drill.image or (config.reconciler.image if config.reconciler else None)
    assert image is not None  # enforced by config validation
    settings = drill_settings(config)
    prerequisites: list[pulumi.Resource] = [database.cluster]
    if backup_store is not None:
        prerequisites.append(backup_store.container)
    try:
        args = RestoreDrillArgs(
            settings=settings,
            schedule=drill.schedule,
            runner_image=image,
            destination_path=backup_destination(config, backup_store, store_connection_string),
            azure=_drill_azure(config, backup_store),
            connection_string=(
                pulumi.Output.secret(store_connection_string.get_secret_value())
                if store_connection_string
                else None
            ),
        )
    except ValueError as error:
        # Config validation covers these rules; this is the component's own second line.
        raise pulumi.RunError(str(error)) from None
    return RestoreDrill(
        "restore-drill", args, opts=pulumi.ResourceOptions(depends_on=prerequisites)
    )


def drill_settings(config: PlatformConfig) -> DrillSettings:
    """What the drill's pod is told (as environment variables): where to restore, from what."""
    drill, db, azure = config.restore_drill, config.database, config.azure
    pushgateway = config.observability.pushgateway_url
    return DrillSettings(
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


def _drill_azure(
    config: PlatformConfig, backup_store: AzureBackupStore | None
) -> DrillAzure | None:
    """The drill's read-only identity goes where the stack's backup store is."""
    if backup_store is None:
        return None
    azure = config.azure
    return DrillAzure(
        subscription_id=str(azure.subscription_id),
        resource_group_name=str(azure.backup_resource_group),
        location=str(azure.location),
        oidc_issuer_url=str(azure.aks_oidc_issuer_url),
        container_id=backup_store.container.id,
    )
