"""Every fact that crosses a process or package boundary, defined once.

The program writes these facts and another process reads them: the reconciler CronJob sets the
environment the runner reads, the runner finds the program's type tokens in state, workspaces and
the runner read the token the program publishes to Vault, alerts and the dashboard query the
metrics the runner and the drill write, a scheduler acts on the runner's exit codes. A literal
copy on either side passes every unit test and breaks production on the first rename, so each
fact lives here and ``tests/coder_platform/test_contracts.py`` fails when a copy reappears.

The policy pack runs in its own virtualenv and cannot import this package; where it needs the
same fact it keeps a commented copy (``policy/lib/``) and ``tests/policy/test_contracts_copy.py``
compares the two.
"""

from __future__ import annotations

import re
from enum import IntEnum, StrEnum
from typing import Final

# -- names ----------------------------------------------------------------------------------------

# The Pulumi project (Pulumi.yaml ``name``): the config namespace (``coder-platform:<key>``), the
# first part of every component type token and of every URN the runner reads.
PROJECT: Final = "coder-platform"

# Stack names as Pulumi accepts them; the runner validates --stack and the CronJob its args.
STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

# Kubernetes object names that must be one RFC 1123 label (at most 63 characters): a pattern for
# pydantic's ``Field(pattern=...)`` and ``re.fullmatch``.
DNS_LABEL: Final = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"

# The reconciler's Kubernetes service account: the Vault role binds to it by name.
RECONCILER_SERVICE_ACCOUNT: Final = "coder-reconciler"
RECONCILER_NAMESPACE: Final = "coder-reconciler"
# Coder's Helm chart runs its Deployment as this account (the chart's coder.serviceAccount.name
# default); the reconciler's admission policy lets it deploy Coder as no other.
CODER_SERVICE_ACCOUNT: Final = "coder"


def service_account_user(namespace: str, service_account: str) -> str:
    """The user name Kubernetes authenticates a service account's token as (Kubernetes docs,
    "Service account tokens": ``system:serviceaccount:<namespace>:<name>``); also the subject of
    the token AKS issues for workload identity."""
    return f"system:serviceaccount:{namespace}:{service_account}"


# -- environment: the CronJob (components/reconciler) sets these, the runner (automation) reads ---

STACK_ENV: Final = "CODER_PLATFORM_STACK"
SECRETS_PROVIDER_ENV: Final = "CODER_PLATFORM_SECRETS_PROVIDER"
# The passphrase loopback stacks' state is encrypted with (their encryptionsalt pairs with it):
# public on purpose, and refused for managed stacks (automation.engine.backend). The runner and
# the local platform, which writes it into the node reconciler's Secret, both use it.
LOCAL_ONLY_PASSPHRASE: Final = "coder-platform-local-only-passphrase-not-a-secret"
VAULT_ROLE_ENV: Final = "CODER_PLATFORM_VAULT_ROLE"
CODER_URL_ENV: Final = "CODER_PLATFORM_CODER_URL"
REPORT_DIR_ENV: Final = "CODER_PLATFORM_REPORT_DIR"
METRICS_TEXTFILE_ENV: Final = "CODER_PLATFORM_METRICS_TEXTFILE"
# The runner's and the restore drill's Pushgateway.
PUSHGATEWAY_ENV: Final = "CODER_PLATFORM_PUSHGATEWAY"
# The restore drill's CronJob (components/restore_drill.py) sets one variable per field of
# ``coder_platform.drill_settings.DrillSettings`` under this prefix; the drill reads them back.
DRILL_ENV_PREFIX: Final = "CODER_PLATFORM_DRILL_"
# The automation token the runner read from Vault for this run, handed to the provider host.
# A seeded Coder resource keeps the token it last used in state; after a rotation that token is
# revoked, and ``read`` (which sees only state) retries with this one instead of failing.
CURRENT_CODER_TOKEN_ENV: Final = "CODER_PLATFORM_CODER_TOKEN"
# The file the provider host appends the Coder writes of each seeded-resource operation to (kind,
# operation, request count; ``coder_platform.coder_writes``); the runner names it per run.
CODER_WRITE_LOG_ENV: Final = "CODER_PLATFORM_CODER_WRITE_LOG"

# Environment variable names ending in one of these carry a secret: they must come from a
# secretKeyRef, never a literal value (contract C5).
SECRET_NAME_SUFFIXES = ("TOKEN", "PASSWORD", "PASSPHRASE", "SECRET", "PRIVATE_KEY")

# -- resource type tokens: the program registers them, the runner finds them in state -------------


class ComponentType(StrEnum):
    """``coder-platform:<module>:<Class>`` of every ComponentResource (part of its URNs)."""

    BACKUP_STORE = f"{PROJECT}:backup:AzureBackupStore"
    CODER = f"{PROJECT}:coder:CoderDeployment"
    DATABASE = f"{PROJECT}:database:CnpgPostgres"
    OPERATORS = f"{PROJECT}:database:CnpgOperators"
    OBSERVABILITY = f"{PROJECT}:observability:PlatformObservability"
    RECONCILER = f"{PROJECT}:reconciler:ReconcilerSchedule"
    RESTORE_DRILL = f"{PROJECT}:restoreDrill:RestoreDrill"
    SEED = f"{PROJECT}:seeding:CoderSeed"
    STORAGE = f"{PROJECT}:storage:RetainStorageClass"
    VAULT = f"{PROJECT}:vault:VaultSecrets"


def dynamic_type(module: str, name: str) -> str:
    """The token Pulumi's Python SDK gives ``class X(dynamic.Resource, module=m, name=n)``."""
    return f"pulumi-python:dynamic/{module}:{name}"


# The seeded Coder resources (components/providers/); the runner reads the template and token
# ones in state, the policy pack (its copy in policy/lib/resources.py) all of them.
CODER_FIRST_USER_TYPE: Final = dynamic_type("coder", "CoderFirstUser")
CODER_API_TOKEN_TYPE: Final = dynamic_type("coder", "CoderApiToken")
CODER_USER_TYPE: Final = dynamic_type("coder", "CoderUser")
CODER_GROUP_TYPE: Final = dynamic_type("coder", "CoderGroup")
CODER_LICENSE_TYPE: Final = dynamic_type("coder", "CoderLicense")
CODER_TEMPLATE_TYPE: Final = dynamic_type("coder", "CoderTemplate")
CODER_TEMPLATE_ACCESS_TYPE: Final = dynamic_type("coder", "CoderTemplateAccess")
CODER_EVERYONE_GROUP_TYPE: Final = dynamic_type("coder", "CoderEveryoneGroup")
GENERATED_PASSWORD_TYPE: Final = dynamic_type("secrets", "GeneratedPassword")
VAULT_KV_SECRET_TYPE: Final = dynamic_type("vault", "VaultKvSecret")
# pulumi-vault's ``vault.kv.SecretV2``, the other way the seed publishes its token.
VAULT_SECRET_V2_TYPE: Final = "vault:kv/secretV2:SecretV2"

# -- Storage --------------------------------------------------------------------------------------

# The provisioners a Retain StorageClass may name (``storage.provisioner``): Azure Disk CSI (dev,
# prod), and Rancher's local-path provisioner, which the local node runs (a host directory per
# volume; ``python -m localplatform up --node`` installs it).
AZURE_DISK_CSI: Final = "disk.csi.azure.com"
LOCAL_PATH_PROVISIONER: Final = "rancher.io/local-path"

# -- Vault ----------------------------------------------------------------------------------------

# The key of the automation token in its KV v2 secret: the seed writes it, the runner's token
# check and workspaces read it.
PUBLISHED_TOKEN_KEY: Final = "token"
# The keys of the seeding inputs an operator (or the local platform) writes to KV v2 and the
# program reads before deploying (the README's Secrets section lists the paths).
OIDC_CLIENT_SECRET_KEY: Final = "client_secret"
# Beside the client secret, the OIDC client's id and its issuer's URL: the local platform's
# launcher writes both from its OpenBao's client (the issuer is named by the node's address, the
# id chosen by OpenBao), and a loopback stack that leaves coder.oidc.clientId or issuerUrl unset
# reads them there. Neither is a secret.
OIDC_CLIENT_ID_KEY: Final = "client_id"
OIDC_ISSUER_URL_KEY: Final = "issuer_url"
ADMIN_EMAIL_KEY: Final = "email"
ADMIN_USERNAME_KEY: Final = "username"
PASSWORD_KEY: Final = "password"
LICENSE_KEY: Final = "license"
# The key of a storage connection string (``database.backup.connectionStringPath``, stacks that
# are not managed): the program copies it into the Secret the ObjectStore's
# ``azureCredentials.connectionString`` names, under the same key.
CONNECTION_STRING_KEY: Final = "connectionString"

# -- Coder ----------------------------------------------------------------------------------------

# The entitlement Coder's groups need (``codersdk.FeatureTemplateRBAC``): config validation and
# the group provider both check it.
GROUPS_FEATURE: Final = "template_rbac"
# Template ACLs (``/templates/{id}/acl``) sit behind the same feature in coderd 2.36
# (``templateRBACEnabledMW``): config validation and the template-access provider check it.
TEMPLATE_ACCESS_FEATURE: Final = GROUPS_FEATURE
# The entitlement service accounts (login type ``none``) need (``codersdk.FeatureServiceAccounts``):
# config validation and the user provider both check it before any write.
SERVICE_ACCOUNTS_FEATURE: Final = "service_accounts"
# Coder's site role sync: on when the deployment names the OIDC claim that carries a user's roles
# (this env var, ``--oidc-user-role-field``) AND a license grants ``user_role_management``
# (``codersdk.FeatureUserRoleManagement``; ``enidpsync.SiteRoleSyncEnabled``). Coder then refuses
# to set an OIDC user's site roles. The local platform sets the env var on the Coder it starts
# for the role-sync e2e tests; the user provider's error names it as the fix.
OIDC_USER_ROLE_FIELD_ENV: Final = "CODER_OIDC_USER_ROLE_FIELD"
USER_ROLE_MANAGEMENT_FEATURE: Final = "user_role_management"

# -- Kubernetes labels ----------------------------------------------------------------------------

PART_OF_LABEL: Final = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
COMPONENT_LABEL: Final = "app.kubernetes.io/component"
NAME_LABEL: Final = "app.kubernetes.io/name"
# The reconciler CronJob's component label; the token-rotation policy finds the CronJob by it.
RECONCILER_COMPONENT: Final = "reconciler"
RESTORE_DRILL_COMPONENT: Final = "restore-drill"
PART_OF: Final = {PART_OF_LABEL: PROJECT}
# The project's own label and annotation keys. The token-rotation policy reads the reconcile
# interval off the CronJob (its copy: policy/rules/token_rotation/rule.py).
STACK_KEY: Final = f"{PROJECT}.io/stack"
RECLAIM_POLICY_KEY: Final = f"{PROJECT}.io/reclaim-policy"
INTERVAL_ANNOTATION: Final = f"{PROJECT}.io/reconcile-interval-seconds"
VAULT_ROLE_ANNOTATION: Final = f"{PROJECT}.io/vault-role"


def labels(name: str | None = None, component: str | None = None) -> dict[str, str]:
    """The recommended label set of what the program deploys (managed by Pulumi)."""
    chosen = {NAME_LABEL: name, COMPONENT_LABEL: component}
    return {
        **{key: value for key, value in chosen.items() if value},
        **PART_OF,
        MANAGED_BY_LABEL: "pulumi",
    }


# Azure workload identity: the service-account annotation naming the managed identity, and the
# pod label that makes the webhook inject AZURE_FEDERATED_TOKEN_FILE.
WORKLOAD_IDENTITY_CLIENT_ID: Final = "azure.workload.identity/client-id"
WORKLOAD_IDENTITY_USE: Final = "azure.workload.identity/use"

# -- metrics: the runner and the drill write them, the alerts and the dashboard read them ---------

RUN_METRICS: Final = "coder_platform_run"
RUN_JOB: Final = "coder_platform_runner"
DRILL_METRICS: Final = "coder_platform_restore_drill"
DRILL_JOB: Final = DRILL_METRICS  # the drill pushes under a job named like its families


class RunMetric(StrEnum):
    """The runner's gauges (automation/reporting/metrics.py), labelled ``stack`` and ``command``
    (``outcome`` and ``operation`` where named)."""

    LAST_TIMESTAMP = f"{RUN_METRICS}_last_timestamp_seconds"
    EXIT_CODE = f"{RUN_METRICS}_exit_code"
    DURATION = f"{RUN_METRICS}_duration_seconds"
    OUTCOME = f"{RUN_METRICS}_outcome"
    RESOURCE_CHANGES = f"{RUN_METRICS}_resource_changes"
    DRIFTED = f"{RUN_METRICS}_drifted_resources"
    PENDING = f"{RUN_METRICS}_pending_changes"
    HEALED = f"{RUN_METRICS}_healed_resources"
    POLICY_VIOLATIONS = f"{RUN_METRICS}_policy_violations"
    RESETS = f"{RUN_METRICS}_resets_detected"
    LAST_SUCCESS = f"{RUN_METRICS}_last_success_timestamp_seconds"
    TOKEN_EXPIRY = f"{RUN_METRICS}_token_expiry_timestamp_seconds"
    TEMPLATES_FOUND = f"{RUN_METRICS}_seeded_templates_found"
    USERS_FOUND = f"{RUN_METRICS}_seeded_users_found"
    # Coder write requests the run's seeded resources sent: the total (0 on a converged run) and
    # by ``kind`` and ``operation``.
    CODER_WRITES = f"{RUN_METRICS}_coder_writes"
    CODER_WRITES_BY_KIND = f"{RUN_METRICS}_coder_writes_by_kind"


class DrillMetric(StrEnum):
    """The restore drill's gauges (automation/drill/metrics.py), labelled ``stack``."""

    LAST_RUN = f"{DRILL_METRICS}_last_run_timestamp_seconds"
    SUCCESS = f"{DRILL_METRICS}_success"
    DURATION = f"{DRILL_METRICS}_duration_seconds"
    CLEANUP_OK = f"{DRILL_METRICS}_cleanup_ok"
    WORKLOAD_IDENTITY_OK = f"{DRILL_METRICS}_workload_identity_ok"
    LAST_SUCCESS = f"{DRILL_METRICS}_last_success_timestamp_seconds"
    RTO = f"{DRILL_METRICS}_rto_seconds"
    RPO = f"{DRILL_METRICS}_rpo_seconds"
    RESTORED_USERS = f"{DRILL_METRICS}_restored_users"
    RESTORED_TEMPLATES = f"{DRILL_METRICS}_restored_templates"


# -- exit codes: the runner returns them, schedulers and the local platform act on them -----------


class ExitCode(IntEnum):
    """One code per outcome class (docs/runner.md), above the Pulumi CLI's own (1-9, 255)."""

    OK = 0
    USAGE = 2
    HEALED = 10
    DRIFT = 11
    POLICY_VIOLATION = 12
    DEPENDENCY_UNREACHABLE = 13
    LOCKED = 14
    CONFIG_INVALID = 15
    NOT_CONVERGED = 16
    UPDATE_FAILED = 17
    REFUSED = 18
    INTERNAL = 70


# -- checks both sides apply ----------------------------------------------------------------------

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def looks_secret_env(name: str) -> bool:
    """True for an env var name that, by its suffix, holds a secret."""
    return name.upper().endswith(SECRET_NAME_SUFFIXES)


def is_pinned_image(image: str) -> bool:
    """``repo:1.2.3`` or ``repo@sha256:<hex>``; not ``repo``, ``repo:latest``, ``host:5000/repo``.

    A floating image makes a scheduled run execute code nobody reviewed (contract P1).
    """
    if _DIGEST.search(image):
        return True
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.rsplit(":", 1)[1]
    return bool(tag) and tag.lower() != "latest"
