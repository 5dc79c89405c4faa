"""Type tokens of the resources the contract talks about, as the engine names them."""

from __future__ import annotations

STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
CNPG_CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster"
CNPG_SCHEDULED_BACKUP = "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup"
CRON_JOB = "kubernetes:batch/v1:CronJob"
JOB = "kubernetes:batch/v1:Job"
# The Pulumi Kubernetes Operator's Stack (the reconciler in mode: operator).
PULUMI_OPERATOR_STACK = "kubernetes:pulumi.com/v1:Stack"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_CHART = "kubernetes:helm.sh/v4:Chart"
HELM_TYPES = (HELM_RELEASE, HELM_CHART)
KUBERNETES_PREFIX = "kubernetes:"

VAULT_KV_V2 = "vault:kv/secretV2:SecretV2"
VAULT_KV_V1 = "vault:kv/secret:Secret"
VAULT_GENERIC = "vault:generic/secret:Secret"
# The program's own KV v2 secret on Vault's HTTP API (vault.provider: api): mount + path.
VAULT_API_KV = "pulumi-python:dynamic/vault:VaultKvSecret"
VAULT_SECRET_TYPES = (VAULT_KV_V2, VAULT_KV_V1, VAULT_GENERIC, VAULT_API_KV)

CODERD_PREFIX = "coderd:"
CODERD_USER = "coderd:index/user:User"
CODER_DYNAMIC_PREFIX = "pulumi-python:dynamic/coder:"
CODER_FIRST_USER = "pulumi-python:dynamic/coder:CoderFirstUser"
CODER_API_TOKEN = "pulumi-python:dynamic/coder:CoderApiToken"
CODER_USER = "pulumi-python:dynamic/coder:CoderUser"
CODER_GROUP = "pulumi-python:dynamic/coder:CoderGroup"
CODER_LICENSE = "pulumi-python:dynamic/coder:CoderLicense"
CODER_TEMPLATE = "pulumi-python:dynamic/coder:CoderTemplate"
CODER_TEMPLATE_ACCESS = "pulumi-python:dynamic/coder:CoderTemplateAccess"
CODER_EVERYONE_GROUP = "pulumi-python:dynamic/coder:CoderEveryoneGroup"
# The inputs of each seeded Coder resource that carry a credential or a secret.
CODER_SECRET_INPUTS = {
    CODER_FIRST_USER: ("password",),
    CODER_API_TOKEN: ("password", "token"),
    CODER_USER: ("token", "password"),
    CODER_GROUP: ("token",),
    CODER_LICENSE: ("token", "license"),
    CODER_TEMPLATE: ("token",),
    CODER_TEMPLATE_ACCESS: ("token",),
    CODER_EVERYONE_GROUP: ("token",),
}

# Components that render third-party manifests; their children were not written by this stack.
MANIFEST_RENDERERS = (
    "kubernetes:helm.sh/v4:Chart",
    "kubernetes:helm.sh/v3:Chart",
    "kubernetes:yaml:ConfigFile",
    "kubernetes:yaml:ConfigGroup",
    "kubernetes:yaml/v2:ConfigFile",
    "kubernetes:yaml/v2:ConfigGroup",
    "kubernetes:kustomize:Directory",
    "kubernetes:kustomize/v2:Directory",
)


def type_chain(urn: str) -> list[str]:
    """The parent types and the type in ``urn:pulumi:stack::project::a$b$type::name``."""
    parts = urn.split("::")
    return parts[2].split("$") if len(parts) >= 4 else []


def rendered_from_manifests(urn: str, parent_urn: str | None) -> bool:
    """True for objects a Helm chart, YAML or kustomize component rendered, not the stack itself."""
    chain = type_chain(urn)[:-1] + type_chain(parent_urn or "")
    return any(kind in MANIFEST_RENDERERS for kind in chain)
