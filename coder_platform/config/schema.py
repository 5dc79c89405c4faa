"""The typed stack configuration: one pydantic model per section of the stack YAML.

Everything a stack sets is one pydantic model tree, validated by ``wiring/load.py`` before
any resource is registered (seeding contract C1: failfast on required inputs).
Errors name the full Pulumi config key (``coder-platform:database.backup.retentionDays``),
say what is allowed, are all reported at once, and never echo a value.
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    HttpUrl,
    SecretStr,
    field_validator,
)

from coder_platform.config.base import (
    GO_DURATION,
    QUANTITY,
    SEMVER,
    UUID,
    ConfigModel,
    KvPath,
)
from coder_platform.config.observability import ObservabilityConfig, RestoreDrillConfig
from coder_platform.config.reconciler import ReconcilerConfig
from coder_platform.config.seeding import SeedingConfig
from coder_platform.contracts import AZURE_DISK_CSI, DNS_LABEL
from coder_platform.names import dns_label

Environment = Literal["dev", "prod", "local", "e2e"]
# What a stack deploys. ``app``: the platform (database, Coder, seeded state, the in-cluster
# reconciler). ``operators``: the CNPG operator and the Barman Cloud plugin only (their Helm
# releases, CRDs and cluster-wide RBAC), in a stack of their own that an admin runs and the
# in-cluster reconciler never does: the operator's service account holds cluster-wide rights, so
# an identity that may write in its namespace may take the cluster.
Scope = Literal["app", "operators"]
APP_SCOPE: Scope = "app"
OPERATORS_SCOPE: Scope = "operators"
# Managed environments may not fall back to placeholders or disposable data (C1, C5); the runner
# asks before any config is validated (which backend a stack may use), the program after.
MANAGED_ENVIRONMENTS = frozenset({"dev", "prod"})
DiskSku = Literal[
    "Premium_LRS", "Premium_ZRS", "StandardSSD_LRS", "StandardSSD_ZRS", "PremiumV2_LRS"
]


class AzureConfig(ConfigModel):
    """Azure facts the backup store needs; none has a default because each must be real."""

    enabled: bool = Field(True, description="false for plain Kubernetes stacks (no Azure parts)")
    subscription_id: str | None = Field(
        None, pattern=UUID, description="the subscription GUID that holds the backup store"
    )
    location: str | None = Field(
        None, pattern=r"^[a-z0-9]+$", description="an Azure region name such as westeurope"
    )
    backup_resource_group: str | None = Field(
        None,
        pattern=r"^[-\w._()]{1,89}[-\w_()]$",
        description="a resource group of its own for the backup store, outside the AKS lifecycle",
    )
    aks_oidc_issuer_url: HttpUrl | None = Field(
        None,
        description="the AKS cluster's OIDC issuer URL (az aks show --query oidcIssuerProfile)",
    )

    @field_validator("aks_oidc_issuer_url")
    @classmethod
    def _https_issuer(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is not None and value.scheme != "https":
            raise ValueError("the OIDC issuer must be an https:// URL")
        return value


class NamespacesConfig(ConfigModel):
    """Kubernetes namespaces; the database has its own so recreating Coder's leaves it alone."""

    database: str = Field("coder-db", pattern=DNS_LABEL, max_length=63)
    coder: str = Field("coder", pattern=DNS_LABEL, max_length=63)
    operators: str = Field("cnpg-system", pattern=DNS_LABEL, max_length=63)


class StorageConfig(ConfigModel):
    """The StorageClass the database volumes use: Azure Disk CSI, or (stacks that are not
    managed) the local-path provisioner a local node runs."""

    class_name: str | None = Field(
        None,
        pattern=DNS_LABEL,
        max_length=63,
        description="a DNS label; defaults to coder-<sku>-<reclaim policy>",
    )
    provisioner: Literal["disk.csi.azure.com", "rancher.io/local-path"] = Field(
        AZURE_DISK_CSI,
        description="disk.csi.azure.com, or rancher.io/local-path on a local node (not in "
        "dev/prod); the Azure parameters below apply to Azure Disk CSI only",
    )
    sku_name: DiskSku = Field("Premium_LRS", description="an Azure Disk CSI skuName")
    caching_mode: Literal["None", "ReadOnly"] = Field("ReadOnly")
    fs_type: Literal["ext4", "xfs"] = Field("ext4")
    disk_resource_group: str | None = Field(
        None,
        description="where new disks are created; outside MC_* they survive an AKS rebuild",
    )


class ResourceSpec(ConfigModel):
    cpu: str = Field(pattern=QUANTITY, description="a Kubernetes CPU quantity such as 500m")
    memory: str = Field(pattern=QUANTITY, description="a Kubernetes memory quantity such as 1Gi")


class ResourcesConfig(ConfigModel):
    requests: ResourceSpec = ResourceSpec(cpu="500m", memory="1Gi")
    limits: ResourceSpec = ResourceSpec(cpu="2", memory="2Gi")


class BackupConfig(ConfigModel):
    """Continuous WAL archiving and base backups to Azure Blob (the real DR layer)."""

    storage_account_name: str = Field(
        pattern=r"^[a-z0-9]{3,24}$",
        description="3-24 lowercase letters and digits, globally unique in Azure",
    )
    container_name: str = Field(
        "cnpg-backups",
        pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$",
        description="3-63 lowercase letters, digits and single hyphens",
    )
    retention_days: int = Field(
        30, ge=1, le=3650, description="an integer from 1 to 3650 days of recovery window"
    )
    schedule: str = Field(
        "0 0 2 * * 0",
        description="a six-field cron with seconds first, e.g. '0 0 2 * * 0' (Sunday 02:00:00)",
    )
    immediate: bool = Field(True, description="take a base backup as soon as a cluster starts")
    wal_compression: Literal["gzip", "bzip2", "lz4", "snappy", "xz", "zstd"] = "gzip"
    soft_delete_days: int = Field(
        30, ge=1, le=365, description="blob and container soft-delete window, 1 to 365 days"
    )
    workload_identity_client_id: str | None = Field(
        None,
        pattern=UUID,
        description="client id of an identity created outside this stack (when azure.enabled "
        "is false)",
    )
    connection_string_path: KvPath | None = Field(
        None,
        description="a Vault KV path holding key connectionString: a storage connection string "
        "the Barman Cloud plugin uses instead of a workload identity (Azurite on a local node; "
        "never in dev/prod)",
    )

    @field_validator("container_name")
    @classmethod
    def _single_hyphens(cls, value: str) -> str:
        if "--" in value:
            raise ValueError("Azure container names cannot contain consecutive hyphens")
        return value

    @field_validator("schedule")
    @classmethod
    def _six_field_cron(cls, value: str) -> str:
        if len(value.split()) != 6:
            raise ValueError(
                "CNPG schedules have six fields, seconds first (e.g. '0 0 2 * * 0'); "
                f"got {len(value.split())} fields"
            )
        return value


class RecoveryConfig(ConfigModel):
    """Bootstrap a new cluster generation from the previous generation's archive."""

    enabled: bool = Field(False, description="true to bootstrap from backups instead of initdb")
    source_generation: int | None = Field(
        None, ge=1, description="the generation whose archive to restore; defaults to generation-1"
    )
    target_time: str | None = Field(
        None,
        pattern=r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$",
        description="an RFC 3339 timestamp with a zone; omit to replay to the latest WAL",
    )


class DatabaseConfig(ConfigModel):
    """The CNPG cluster that holds Coder's state (templates, users, tokens)."""

    cluster_name: str = Field("coder-db", pattern=DNS_LABEL, max_length=50)
    database: str = Field("coder", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    owner: str = Field("coder", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    instances: int = Field(1, ge=1, le=9, description="an integer from 1 to 9")
    storage_size: str = Field("20Gi", pattern=QUANTITY, description="a quantity such as 20Gi")
    image: str = Field(
        "ghcr.io/cloudnative-pg/postgresql:17.5",
        pattern=r"^[^\s:@]+(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$",
        description="a pinned PostgreSQL operand image (tag or digest)",
    )
    generation: int = Field(
        1, ge=1, description="archive generation; bump it for each recovery (server <cluster>-gN)"
    )
    ephemeral: bool = Field(
        False,
        description="true declares the data disposable: the StorageClass reclaims with Delete",
    )
    anti_affinity: Literal["preferred", "required"] = "preferred"
    resources: ResourcesConfig = ResourcesConfig()
    backup: BackupConfig
    recovery: RecoveryConfig = RecoveryConfig()


class OperatorsConfig(ConfigModel):
    """CNPG operator and Barman Cloud plugin installs: by an operators-scope stack
    (``scope: operators``), or (an app stack without an in-cluster reconciler) by the app stack
    itself; off where the platform team owns them."""

    install: bool = Field(
        True,
        description="install CNPG and the Barman Cloud plugin (false in an app stack with a "
        "reconciler: its operators stack installs them)",
    )
    chart_repository: HttpUrl = Field(HttpUrl("https://cloudnative-pg.github.io/charts"))
    cnpg_chart_version: str = Field("0.29.0", pattern=SEMVER, description="an exact version")
    barman_plugin_chart_version: str = Field(
        "0.7.0", pattern=SEMVER, description="an exact version"
    )


class VaultConfig(ConfigModel):
    """Vault is the secrets pipeline (contract C5): bootstrap inputs in, the CLI token out.

    The Vault token itself never sits in config: the provider and the program read VAULT_TOKEN.
    """

    enabled: bool = Field(True, description="false only for stacks that are not managed")
    address: HttpUrl | None = Field(None, description="the Vault (or OpenBao) URL")
    kv_mount: str = Field("platform", pattern=r"^[A-Za-z0-9_-]+$", description="a KV v2 mount")
    create_mount: bool = Field(
        False, description="true creates the KV v2 mount; false uses an existing one"
    )
    provider: Literal["pulumi-vault", "api"] = Field(
        "pulumi-vault",
        description="how the program writes to Vault: pulumi-vault (the plugin), or api (its "
        "own resources on Vault's HTTP API, for engines without the plugin; no Kubernetes auth "
        "role or mount is managed then)",
    )
    path_prefix: KvPath = Field("coder", description="the folder under the mount this stack owns")
    oidc_client_secret_path: KvPath = Field(
        "coder/oidc", description="KV path holding key client_secret"
    )
    bootstrap_admin_path: KvPath = Field(
        "coder/bootstrap-admin",
        description="KV path holding keys email, username, password",
    )
    cli_token_path: KvPath = Field(
        "coder/coder-cli-session-token",
        description="KV path the automation token is published to",
    )
    kubernetes_auth_path: KvPath = Field(
        "kubernetes", description="an enabled Kubernetes auth backend"
    )
    reconciler_role: str = Field("coder-reconciler", pattern=r"^[A-Za-z0-9_-]+$")


class LocalSecretsConfig(ConfigModel):
    """Secrets from Pulumi secret config, for plain Kubernetes stacks without Vault.

    NOT for managed environments: dev and prod must use Vault (contract C5).
    """

    oidc_client_secret: SecretStr | None = None
    bootstrap_admin_email: str | None = None
    bootstrap_admin_username: str | None = None
    bootstrap_admin_password: SecretStr | None = None


class OidcConfig(ConfigModel):
    """The identity provider a deployed Coder signs in with. On a loopback stack (environment
    local, with Vault) the issuer URL and client id may be left unset: they are this machine's
    (the local OpenBao's issuer is named by the node's address, and OpenBao chooses the client
    id), so the program reads them beside the client secret at vault.oidcClientSecretPath,
    where the local platform's launcher keeps them current (rules.py refuses the gap
    elsewhere)."""

    issuer_url: HttpUrl | None = Field(
        None,
        description="the identity provider's issuer URL (https); unset on a loopback stack "
        "to read it from Vault (key issuer_url at vault.oidcClientSecretPath)",
    )
    client_id: str | None = Field(
        None,
        min_length=1,
        description="the OIDC client id Coder uses; unset on a loopback stack to read it from "
        "Vault (key client_id at vault.oidcClientSecretPath)",
    )
    email_domain: str | None = Field(None, description="restrict sign-in to this email domain")
    sso_only: bool = Field(
        True, description="disable password login for everyone but Owners (the automation user)"
    )
    allow_signups: bool = Field(True)


class IngressConfig(ConfigModel):
    enabled: bool = True
    class_name: str = Field("nginx", pattern=DNS_LABEL)
    tls_secret_name: str = Field("coder-tls", pattern=DNS_LABEL)
    wildcard_tls_secret_name: str = Field("coder-wildcard-tls", pattern=DNS_LABEL)
    annotations: dict[str, str] = Field(default_factory=dict)


class CoderConfig(ConfigModel):
    """The Coder control plane: deployed from its Helm chart, wired to the CNPG database and OIDC
    (``deploy: true``), or an existing Coder at ``url`` that this stack only seeds (``deploy:
    false``: Coder installed by another pipeline, or the local platform's)."""

    enabled: bool = Field(True, description="false for stacks without Coder")
    deploy: bool = Field(
        True,
        description="true deploys the Helm release; false seeds an existing Coder at coder.url",
    )
    url: HttpUrl | None = Field(
        None,
        description="the existing Coder's URL (coder.deploy: false), e.g. http://127.0.0.1:17080",
    )
    chart_version: str | None = Field(
        None,
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$",
        description="an exact chart version such as 2.26.3 (never floating)",
    )
    chart_repository: HttpUrl = Field(HttpUrl("https://helm.coder.com/v2"))
    chart_path: str | None = Field(
        None,
        min_length=1,
        description="a local copy of the chart instead of coder.chartRepository, relative to "
        "the project root (the local platform prepares it from the Coder module: python -m "
        "localplatform up --node); never in dev/prod",
    )
    http_node_port: int | None = Field(
        None,
        ge=30000,
        le=32767,
        description="the Service's fixed node port (coder.serviceType: NodePort), e.g. 30080",
    )
    access_url: HttpUrl | None = Field(
        None, description="the https URL users open, e.g. https://coder.dev.corp"
    )
    wildcard_access_url: str | None = Field(
        None,
        pattern=r"^\*\.[a-z0-9.-]+$",
        description="a wildcard host such as *.coder.dev.corp for workspace apps",
    )
    replicas: int = Field(1, ge=1, le=10, description="1 unless licensed for HA")
    resources: ResourcesConfig = ResourcesConfig(
        requests=ResourceSpec(cpu="500m", memory="1Gi"), limits=ResourceSpec(cpu="2", memory="4Gi")
    )
    service_type: Literal["ClusterIP", "LoadBalancer", "NodePort"] = "ClusterIP"
    ingress: IngressConfig = IngressConfig()
    oidc: OidcConfig | None = Field(None, description="the identity provider Coder signs in with")
    max_token_lifetime: str = Field(
        "720h", pattern=GO_DURATION, description="a Go duration such as 720h"
    )
    max_admin_token_lifetime: str = Field(
        "720h",
        pattern=GO_DURATION,
        description="a Go duration such as 720h; the Owner token cap (Coder's default is 168h)",
    )

    @property
    def seed_url(self) -> str:
        """Where the seeding resources call Coder: the deployed access URL, or coder.url."""
        return str(self.access_url if self.deploy else self.url).rstrip("/")


class PlatformConfig(ConfigModel):
    """The whole stack configuration."""

    environment: Environment = Field(description="one of dev, prod, local, e2e")
    scope: Scope = Field(
        APP_SCOPE,
        description="app (the platform, the default) or operators (the CNPG operator and the "
        "Barman Cloud plugin only, run by an admin, never in-cluster)",
    )
    protected: bool = Field(
        True,
        description="true or false (true: refuse destroy and keep the data resources protected)",
    )
    azure: AzureConfig = AzureConfig()
    namespaces: NamespacesConfig = NamespacesConfig()
    storage: StorageConfig = StorageConfig()
    # ``database`` in YAML; read through the ``database`` property. Required in an app stack
    # (rules.py), absent in an operators-scope stack, which has no database.
    database_section: DatabaseConfig | None = Field(
        None,
        alias="database",
        description="the CNPG cluster that holds Coder's state (required when scope is app)",
    )
    operators: OperatorsConfig = OperatorsConfig()
    vault: VaultConfig = VaultConfig()
    local_secrets: LocalSecretsConfig | None = Field(
        None, description="secrets from Pulumi secret config; only for local/e2e stacks"
    )
    coder: CoderConfig | None = Field(None, description="the Coder deployment")
    seeding: SeedingConfig | None = Field(None, description="the seeded Coder state")
    reconciler: ReconcilerConfig | None = Field(
        None, description="the scheduled reconciler (omit to run reconcile only from CI)"
    )
    observability: ObservabilityConfig = Field(
        ObservabilityConfig(), description="alerts, database scraping and the dashboard"
    )
    restore_drill: RestoreDrillConfig = Field(
        RestoreDrillConfig(), description="the scheduled restore drill that proves the backups"
    )

    @property
    def operators_scope(self) -> bool:
        """The stack installs the operators only (``scope: operators``)."""
        return self.scope == OPERATORS_SCOPE

    @property
    def database(self) -> DatabaseConfig:
        """The database section of an app stack (validation requires it there). Nothing reads
        it in an operators-scope stack: the program, the runner and the rules branch first."""
        if self.database_section is None:
            raise AttributeError(
                "an operators-scope stack has no database section (coder-platform:scope)"
            )
        return self.database_section

    @property
    def oidc_from_vault(self) -> bool:
        """A stack that may leave coder.oidc.issuerUrl and clientId to Vault: a loopback one
        (environment local) that reads its inputs from Vault. Managed and e2e stacks name them."""
        return self.environment == "local" and self.vault.enabled

    @property
    def managed(self) -> bool:
        """Managed environments may not fall back to placeholders or disposable data (C1, C5)."""
        return self.environment in MANAGED_ENVIRONMENTS

    @property
    def deploys_coder(self) -> bool:
        """The stack runs Coder's Helm release (not an existing Coder, coder.deploy: false)."""
        return self.coder is not None and self.coder.enabled and self.coder.deploy

    @property
    def reclaim_policy(self) -> Literal["Retain", "Delete"]:
        return "Delete" if self.database.ephemeral else "Retain"

    @property
    def storage_class_name(self) -> str:
        if self.storage.class_name:
            return self.storage.class_name
        return dns_label(f"coder-{self.storage.sku_name}-{self.reclaim_policy}")
