"""Rules that span several config keys; each issue names the one key to change."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic.alias_generators import to_camel

from coder_platform.config.issues import ConfigIssue
from coder_platform.config.observability_rules import observability_issues
from coder_platform.config.reconciler import ReconcilerConfig
from coder_platform.config.schema import AzureConfig, PlatformConfig
from coder_platform.config.scope_rules import app_operators_issues, operators_scope_issues
from coder_platform.config.seeded_state_rules import seeded_state_issues
from coder_platform.contracts import AZURE_DISK_CSI, looks_secret_env


def semantic_issues(config: PlatformConfig) -> Iterator[ConfigIssue]:
    """Rules that span several keys; each names the key to change."""
    if config.operators_scope:
        yield from operators_scope_issues(config)
        return
    if config.database_section is None:
        yield ConfigIssue(
            "database",
            "is required in an app stack (scope: app, the default): the CNPG cluster that "
            "holds Coder's state; only an operators-scope stack (scope: operators) has none",
        )
        return
    yield from app_operators_issues(config)
    yield from _app_issues(config)


def _app_issues(config: PlatformConfig) -> Iterator[ConfigIssue]:
    """The rules of an app stack (``scope: app``), which has a database section."""
    azure = config.azure
    if azure.enabled:
        for field in (
            "subscription_id",
            "location",
            "backup_resource_group",
            "aks_oidc_issuer_url",
        ):
            if getattr(azure, field) is None:
                yield ConfigIssue(
                    f"azure.{to_camel(field)}",
                    "is required when azure.enabled is true "
                    f"({AzureConfig.model_fields[field].description})",
                )
    elif config.managed and config.database.backup.workload_identity_client_id is None:
        yield ConfigIssue(
            "database.backup.workloadIdentityClientId",
            "is required in dev/prod stacks when azure.enabled is false: backups need an "
            "identity (C1, no silent fallback)",
        )
    if config.environment == "prod" and config.database.ephemeral:
        yield ConfigIssue(
            "database.ephemeral", "cannot be true in prod: production data is never disposable"
        )
    yield from _secrets_pipeline_issues(config)
    yield from _local_node_issues(config)
    yield from _cleartext_issues(config)
    yield from _coder_issues(config)
    yield from observability_issues(config)
    if config.reconciler is not None and config.reconciler.enabled:
        yield from _reconciler_issues(config.reconciler, managed=config.managed)
    if config.seeding is not None and config.seeding.enabled:
        yield from _seeding_issues(config)
        yield from seeded_state_issues(config)
    recovery = config.database.recovery
    if recovery.enabled:
        source = recovery.source_generation or config.database.generation - 1
        if source < 1:
            yield ConfigIssue(
                "database.recovery.sourceGeneration",
                "is required when recovering generation 1 (or set database.generation to 2+)",
            )
        elif source == config.database.generation:
            yield ConfigIssue(
                "database.generation",
                "must differ from database.recovery.sourceGeneration: a recovered cluster "
                "archives under a new server name, or CNPG fails with 'Expected empty archive'",
            )
    elif recovery.target_time or recovery.source_generation:
        yield ConfigIssue(
            "database.recovery.enabled",
            "must be true when sourceGeneration or targetTime is set",
        )


def _secrets_pipeline_issues(config: PlatformConfig) -> Iterator[ConfigIssue]:
    """Managed stacks take secrets from Vault only; others must say where secrets come from."""
    if config.vault.enabled:
        if config.vault.address is None:
            yield ConfigIssue("vault.address", "is required when vault.enabled is true")
        if config.vault.provider == "api" and config.vault.create_mount:
            yield ConfigIssue(
                "vault.createMount",
                "must be false with vault.provider: api (those resources use an existing KV v2 "
                "mount; create it with: vault secrets enable -path=<kvMount> kv-v2)",
            )
        if config.local_secrets is not None:
            yield ConfigIssue(
                "localSecrets",
                "cannot be set while vault.enabled is true: secrets come from one place (C5)",
            )
        return
    if config.managed:
        yield ConfigIssue(
            "vault.enabled",
            "must be true in dev/prod: managed stacks take secrets from Vault (C5)",
        )
    elif config.coder is not None and config.coder.enabled and config.local_secrets is None:
        yield ConfigIssue(
            "localSecrets",
            "is required when vault.enabled is false and Coder is on "
            "(pulumi config set --secret --path 'coder-platform:localSecrets.oidcClientSecret')",
        )


def _local_node_issues(config: PlatformConfig) -> Iterator[ConfigIssue]:
    """What only a local node uses: a host-directory StorageClass and a storage connection
    string (Azurite's account key). Managed stacks keep Azure Disk CSI and the workload
    identity (no storage key anywhere, C5)."""
    backup = config.database.backup
    if config.managed and config.storage.provisioner != AZURE_DISK_CSI:
        yield ConfigIssue(
            "storage.provisioner",
            f"must be {AZURE_DISK_CSI} in dev/prod: the local-path provisioner keeps volumes "
            "in a directory of one node",
        )
    if backup.connection_string_path is None:
        return
    if config.managed:
        yield ConfigIssue(
            "database.backup.connectionStringPath",
            "cannot be set in dev/prod: backups reach Azure Blob through the workload "
            "identity, never a storage key (C5)",
        )
    elif not config.vault.enabled:
        yield ConfigIssue(
            "database.backup.connectionStringPath",
            "needs vault.enabled: the connection string is read from Vault",
        )
    elif config.azure.enabled or backup.workload_identity_client_id is not None:
        yield ConfigIssue(
            "database.backup.connectionStringPath",
            "cannot be combined with a workload identity (azure.enabled or "
            "database.backup.workloadIdentityClientId): the backups use one credential",
        )


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def _cleartext_issues(config: PlatformConfig) -> Iterator[ConfigIssue]:
    """The URLs that carry a token (Vault's X-Vault-Token, Coder's Owner and session tokens,
    passwords at login) are https. Plain http only reaches this machine, and only in stacks
    that are not managed (the local platform, the e2e tier)."""
    coder, reconciler = config.coder, config.reconciler
    urls = {
        "vault.address": config.vault.address,
        "coder.url": coder.url if coder is not None else None,
        "coder.accessUrl": coder.access_url if coder is not None else None,
        "reconciler.coderInternalUrl": (
            reconciler.coder_internal_url if reconciler is not None else None
        ),
    }
    for key, url in urls.items():
        if url is None or url.scheme == "https":
            continue
        if config.managed:
            yield ConfigIssue(key, "must be an https:// URL in dev/prod: it carries tokens")
        elif (url.host or "") not in LOOPBACK_HOSTS:
            yield ConfigIssue(
                key,
                "must be an https:// URL: plain http is allowed only to this machine "
                "(127.0.0.1, ::1, localhost) in stacks that are not managed",
            )


def _coder_issues(config: PlatformConfig) -> Iterator[ConfigIssue]:
    """A deployed Coder needs its chart, URL and identity provider; an existing one its URL."""
    coder = config.coder
    if coder is None or not coder.enabled:
        return
    if coder.chart_path is not None and config.managed:
        yield ConfigIssue(
            "coder.chartPath",
            "cannot be set in dev/prod: they install the pinned chart from "
            "coder.chartRepository, never a local copy",
        )
    if coder.http_node_port is not None and coder.service_type != "NodePort":
        yield ConfigIssue(
            "coder.httpNodePort", "needs coder.serviceType: NodePort (only a NodePort has one)"
        )
    if not coder.deploy:
        if coder.url is None:
            yield ConfigIssue(
                "coder.url",
                "is required when coder.deploy is false: the URL of the existing Coder to seed",
            )
        return
    for field, what in (
        ("chart_version", "an exact chart version such as 2.26.3"),
        ("access_url", "the https URL users open"),
        ("oidc", "issuerUrl and clientId of the identity provider"),
    ):
        if getattr(coder, field) is None:
            yield ConfigIssue(
                f"coder.{to_camel(field)}",
                f"is required when coder.deploy is true ({what}); or set coder.deploy: false "
                "and coder.url to seed an existing Coder",
            )
    if coder.oidc is None or config.oidc_from_vault:
        return
    for key, value in (("issuerUrl", coder.oidc.issuer_url), ("clientId", coder.oidc.client_id)):
        if value is None:
            yield ConfigIssue(
                f"coder.oidc.{key}",
                "is required when coder.deploy is true: only a loopback stack (environment "
                "local, vault.enabled) may leave it unset, to read it from Vault at "
                "vault.oidcClientSecretPath",
            )


def _reconciler_issues(reconciler: ReconcilerConfig, *, managed: bool) -> Iterator[ConfigIssue]:
    """An in-cluster run needs shared state, a way to decrypt it, and (operator mode) a source."""
    if reconciler.backend_url is None:
        yield ConfigIssue(
            "reconciler.backendUrl",
            "is required for an in-cluster reconciler: the run needs the stack's shared state, "
            "not a pod-local default",
        )
    provider = (reconciler.secrets_provider or "passphrase").split("://", 1)[0]
    if managed and reconciler.secrets_provider is None:
        yield ConfigIssue(
            "reconciler.secretsProvider",
            "is required in dev/prod (e.g. azurekeyvault://<vault>.vault.azure.net/keys/<key>)",
        )
    elif provider == "passphrase" and reconciler.passphrase_secret is None:
        yield ConfigIssue(
            "reconciler.passphraseSecret",
            "is required with a passphrase secrets provider: name the Secret and key that "
            "hold it (never the passphrase itself)",
        )
    if reconciler.mode == "operator" and reconciler.operator is None:
        yield ConfigIssue(
            "reconciler.operator", "is required for mode: operator (repoUrl, branch, repoDir)"
        )
    yield from _loopback_reconciler_issues(reconciler, managed=managed)
    secretish = [k for k in reconciler.extra_env if looks_secret_env(k)]
    for key in secretish:
        yield ConfigIssue(
            f"reconciler.extraEnv.{key}",
            "looks like a secret: pass secrets through a Secret, never as literal env (C5)",
        )


def _loopback_reconciler_issues(
    reconciler: ReconcilerConfig, *, managed: bool
) -> Iterator[ConfigIssue]:
    """A local node's reconciler reaches host processes and a storage key; dev/prod never."""
    if not managed:
        return
    if reconciler.host_network:
        yield ConfigIssue(
            "reconciler.hostNetwork",
            "cannot be true in dev/prod: the run's pod would take its node's network and its "
            "namespace could not enforce the restricted Pod Security level",
        )
    if reconciler.env_from_secret is not None:
        yield ConfigIssue(
            "reconciler.envFromSecret",
            "cannot be set in dev/prod: the run reaches the state through the workload "
            "identity, never a storage key (C5)",
        )
    if reconciler.suspend:
        yield ConfigIssue(
            "reconciler.suspend",
            "cannot be true in dev/prod: the scheduled run is what heals the stack (P1)",
        )


def go_duration_hours(duration: str) -> float:
    """Hours in a Go duration such as ``720h`` or ``90m`` (the format Coder's flags take)."""
    units = {"h": 1.0, "m": 1 / 60, "s": 1 / 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9]+)(h|m|s)", duration))


def _seeding_issues(config: PlatformConfig) -> Iterator[ConfigIssue]:
    """The incident's token expired unnoticed: its lifetime rules fail the run up front."""
    seeding = config.seeding
    assert seeding is not None
    if config.coder is None or not config.coder.enabled:
        yield ConfigIssue("seeding.enabled", "needs coder.enabled: there is no Coder to seed")
        return
    lifetime, window = seeding.token_lifetime_hours, seeding.token_rotation_window_hours
    if window >= lifetime:
        yield ConfigIssue(
            "seeding.tokenRotationWindowHours",
            f"must be less than seeding.tokenLifetimeHours ({lifetime})",
        )
    cap = go_duration_hours(config.coder.max_admin_token_lifetime)
    if lifetime > cap:
        yield ConfigIssue(
            "seeding.tokenLifetimeHours",
            f"exceeds coder.maxAdminTokenLifetime ({config.coder.max_admin_token_lifetime}): "
            "Coder would refuse to mint it for an Owner",
        )
    if config.reconciler is not None and config.reconciler.enabled:
        interval_hours = config.reconciler.interval_minutes / 60
        if lifetime < 2 * interval_hours:
            yield ConfigIssue(
                "seeding.tokenLifetimeHours",
                "must be at least twice reconciler.intervalMinutes, so a run always finds a "
                "live token to rotate",
            )
        if window < interval_hours:
            yield ConfigIssue(
                "seeding.tokenRotationWindowHours",
                "must be at least one reconciler interval, or the token can expire between runs",
            )
