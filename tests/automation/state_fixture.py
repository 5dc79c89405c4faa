"""A realistic exported deployment of the dev stack (``pulumi stack export`` shape, v3).

Secrets appear as Pulumi's ciphertext envelope, never as plaintext: that is what the runner's
export (without ``--show-secrets``) returns. URNs carry the parent type chain, provider
references are ``<provider urn>::<provider id>``, exactly as the engine writes them.
"""

from __future__ import annotations

import copy
from typing import Any

from coder_platform.contracts import (
    CODER_API_TOKEN_TYPE,
    CODER_FIRST_USER_TYPE,
    CODER_TEMPLATE_TYPE,
    CODER_USER_TYPE,
    PROJECT,
    VAULT_SECRET_V2_TYPE,
    ComponentType,
)

STACK = "dev"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270"


def urn(type_chain: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_chain}::{name}"


def ciphertext(tag: str) -> dict[str, str]:
    return {SECRET_SIG: SECRET_MARK, "ciphertext": f"v1:cGFzc3BocmFzZQ==:{tag}"}


STACK_URN = urn("pulumi:pulumi:Stack", f"{PROJECT}-{STACK}")
K8S_PROVIDER = urn("pulumi:providers:kubernetes", "default_4_34_2")
K8S_PROVIDER_REF = f"{K8S_PROVIDER}::6b1e8f0a-53c2-4c0e-9c1b-1f0b9a3f2d11"
DYNAMIC_PROVIDER = urn("pulumi:providers:pulumi-python", "default")
DYNAMIC_PROVIDER_REF = f"{DYNAMIC_PROVIDER}::0f3a52de-4c41-4c6e-8d44-7d1ce28b6a55"
VAULT_COMPONENT = urn(ComponentType.VAULT, "vault")
VAULT_PROVIDER = urn(f"{ComponentType.VAULT}$pulumi:providers:vault", "vault-provider")
VAULT_PROVIDER_REF = f"{VAULT_PROVIDER}::c7f8e2d4-1a9b-4f3e-b6c2-9e0d8a7f6b54"
STORAGE_CLASS = urn(
    f"{ComponentType.STORAGE}$kubernetes:storage.k8s.io/v1:StorageClass",
    "database-storage",
)
DB_COMPONENT = urn(ComponentType.DATABASE, "coder-db")
DB_CLUSTER = urn(f"{ComponentType.DATABASE}$kubernetes:postgresql.cnpg.io/v1:Cluster", "coder-db")
DB_SECRET = urn(f"{ComponentType.DATABASE}$kubernetes:core/v1:Secret", "coder-db-app-secret")
CODER_RELEASE = urn(f"{ComponentType.CODER}$kubernetes:helm.sh/v3:Release", "coder-release")
SEED = urn(ComponentType.SEED, "coder-seed")
SEED_CHAIN = ComponentType.SEED
FIRST_USER = urn(f"{SEED_CHAIN}${CODER_FIRST_USER_TYPE}", "coder-first-user")
API_TOKEN = urn(f"{SEED_CHAIN}${CODER_API_TOKEN_TYPE}", "coder-api-token")
TEMPLATE = urn(f"{SEED_CHAIN}${CODER_TEMPLATE_TYPE}", "coder-seed-template-dev-workspace")
GPU_TEMPLATE = urn(f"{SEED_CHAIN}${CODER_TEMPLATE_TYPE}", "coder-seed-template-gpu-workspace")
CODER_USER = urn(f"{SEED_CHAIN}${CODER_USER_TYPE}", "coder-seed-user-alice")
PUBLISHED_TOKEN = urn(f"{SEED_CHAIN}${VAULT_SECRET_V2_TYPE}", "coder-cli-session-token")
# Outside the seed, depending on it only: a reset heal removes it with the seed (the closure).
TOKEN_MIRROR = urn("kubernetes:core/v1:Secret", "coder-token-mirror")
TEMPLATE_NAMES = {TEMPLATE: "dev-workspace", GPU_TEMPLATE: "gpu-workspace"}

SEEDED_SUBTREE = (SEED, FIRST_USER, API_TOKEN, TEMPLATE, GPU_TEMPLATE, CODER_USER)
CLOSURE_REMOVED = (TOKEN_MIRROR,)
KEPT_SEEDED = (SEED, PUBLISHED_TOKEN)


def platform_resources() -> list[dict[str, Any]]:
    """Everything outside the seed: what a reset heal must leave byte-for-byte alone."""
    return [*_stack_and_providers(), *_vault_resources(), *_data_and_coder()]


def _stack_and_providers() -> list[dict[str, Any]]:
    return [
        {
            "urn": STACK_URN,
            "custom": False,
            "type": "pulumi:pulumi:Stack",
            "outputs": {"coderAccessUrl": "https://coder.dev.corp.internal"},
            "created": "2026-01-20T09:00:00.000000Z",
            "modified": "2026-01-21T10:00:00.000000Z",
        },
        {
            "urn": K8S_PROVIDER,
            "custom": True,
            "id": K8S_PROVIDER_REF.rsplit("::", 1)[1],
            "type": "pulumi:providers:kubernetes",
            "inputs": {"version": "4.34.2"},
            "outputs": {"version": "4.34.2"},
        },
        {
            "urn": DYNAMIC_PROVIDER,
            "custom": True,
            "id": DYNAMIC_PROVIDER_REF.rsplit("::", 1)[1],
            "type": "pulumi:providers:pulumi-python",
            "inputs": {},
            "outputs": {},
        },
    ]


def _vault_resources() -> list[dict[str, Any]]:
    return [
        {
            "urn": VAULT_COMPONENT,
            "custom": False,
            "type": ComponentType.VAULT,
            "parent": STACK_URN,
        },
        {
            "urn": VAULT_PROVIDER,
            "custom": True,
            "id": VAULT_PROVIDER_REF.rsplit("::", 1)[1],
            "type": "pulumi:providers:vault",
            "parent": VAULT_COMPONENT,
            "inputs": {"address": "https://vault.platform.dev.corp.internal:8200"},
            "outputs": {"address": "https://vault.platform.dev.corp.internal:8200"},
        },
    ]


def _data_and_coder() -> list[dict[str, Any]]:
    return [
        {
            "urn": STORAGE_CLASS,
            "custom": True,
            "id": "coder-premium-lrs-retain",
            "type": "kubernetes:storage.k8s.io/v1:StorageClass",
            "provider": K8S_PROVIDER_REF,
            "inputs": {"reclaimPolicy": "Retain", "provisioner": "disk.csi.azure.com"},
            "outputs": {"reclaimPolicy": "Retain", "provisioner": "disk.csi.azure.com"},
        },
        {
            "urn": DB_COMPONENT,
            "custom": False,
            "type": ComponentType.DATABASE,
            "parent": STACK_URN,
        },
        {
            "urn": DB_SECRET,
            "custom": True,
            "id": "coder-db/coder-db-app",
            "type": "kubernetes:core/v1:Secret",
            "parent": DB_COMPONENT,
            "provider": K8S_PROVIDER_REF,
            "inputs": {"stringData": ciphertext("db-app-uri")},
            "outputs": {"data": ciphertext("db-app-data")},
            "additionalSecretOutputs": ["data", "stringData"],
        },
        {
            "urn": DB_CLUSTER,
            "custom": True,
            "id": "coder-db/coder-db",
            "type": "kubernetes:postgresql.cnpg.io/v1:Cluster",
            "parent": DB_COMPONENT,
            "provider": K8S_PROVIDER_REF,
            "protect": True,
            "dependencies": [DB_SECRET, STORAGE_CLASS],
            "inputs": {"spec": {"instances": 1, "storage": {"size": "20Gi"}}},
            "outputs": {"spec": {"instances": 1, "storage": {"size": "20Gi"}}},
        },
        {
            "urn": CODER_RELEASE,
            "custom": True,
            "id": "coder/coder",
            "type": "kubernetes:helm.sh/v3:Release",
            "provider": K8S_PROVIDER_REF,
            "dependencies": [DB_CLUSTER],
            "inputs": {"chart": "coder", "version": "2.36.6"},
            "outputs": {"chart": "coder", "version": "2.36.6", "status": {"status": "deployed"}},
        },
    ]


def seed_resources(
    template_versions: dict[str, str], token_tag: str = "t1"
) -> list[dict[str, Any]]:
    """The seeded subtree plus the closure resources, as an ``up`` writes them.

    ``template_versions`` maps a template name to the version id Coder reported.
    """
    templates = [
        _seeded(
            template_urn,
            CODER_TEMPLATE_TYPE,
            {
                "name": name,
                "template_id": f"tmpl-{name}",
                "version_id": template_versions.get(name, ""),
            },
        )
        for template_urn, name in TEMPLATE_NAMES.items()
    ]
    return [
        {
            "urn": SEED,
            "custom": False,
            "type": ComponentType.SEED,
            "parent": STACK_URN,
            "dependencies": [CODER_RELEASE],
        },
        *_identity(token_tag),
        *templates,
        _seeded(CODER_USER, CODER_USER_TYPE, {"username": "alice", "user_id": "user-alice"}),
        *_token_consumers(),
    ]


def _seeded(urn_: str, type_: str, outputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "urn": urn_,
        "custom": True,
        "id": str(outputs.get("template_id") or outputs.get("user_id")),
        "type": type_,
        "parent": SEED,
        "provider": DYNAMIC_PROVIDER_REF,
        "dependencies": [API_TOKEN],
        "inputs": {"url": "https://coder.dev.corp.internal", "token": ciphertext("in")},
        "outputs": {**outputs, "token": ciphertext("out")},
        "additionalSecretOutputs": ["token"],
    }


def _identity(token_tag: str) -> list[dict[str, Any]]:
    """The automation identity: Coder's first user and its API token."""
    return [
        {
            "urn": FIRST_USER,
            "custom": True,
            "id": "b0d1c2e3-0000-4000-8000-000000000001",
            "type": CODER_FIRST_USER_TYPE,
            "parent": SEED,
            "provider": DYNAMIC_PROVIDER_REF,
            "inputs": {"url": "https://coder.dev.corp.internal", "password": ciphertext("pw")},
            "outputs": {"user_id": "b0d1c2e3", "password": ciphertext("pw-out")},
        },
        {
            "urn": API_TOKEN,
            "custom": True,
            "id": f"key-{token_tag}",
            "type": CODER_API_TOKEN_TYPE,
            "parent": SEED,
            "provider": DYNAMIC_PROVIDER_REF,
            "dependencies": [FIRST_USER],
            "propertyDependencies": {"username": [FIRST_USER]},
            "outputs": {"token": ciphertext(f"token-{token_tag}"), "key_id": f"key-{token_tag}"},
        },
    ]


def _token_consumers() -> list[dict[str, Any]]:
    """Where the token is published: Vault, and the Secret mirror in the cluster."""
    return [
        {
            "urn": PUBLISHED_TOKEN,
            "custom": True,
            "id": "platform/data/coder/coder-cli-session-token",
            "type": VAULT_SECRET_V2_TYPE,
            "parent": SEED,
            "provider": VAULT_PROVIDER_REF,
            "dependencies": [API_TOKEN],
            "propertyDependencies": {"dataJson": [API_TOKEN], "mount": []},
            "inputs": {"mount": "platform", "dataJson": ciphertext("published")},
            "outputs": {"mount": "platform", "dataJson": ciphertext("published-out")},
        },
        {
            "urn": TOKEN_MIRROR,
            "custom": True,
            "id": "coder/coder-token-mirror",
            "type": "kubernetes:core/v1:Secret",
            "parent": STACK_URN,
            "provider": K8S_PROVIDER_REF,
            "dependencies": [API_TOKEN],
            "inputs": {"stringData": ciphertext("mirror")},
            "outputs": {"data": ciphertext("mirror-out")},
        },
    ]


def deployment(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": 3,
        "deployment": {
            "manifest": {"time": "2026-01-21T10:00:00Z", "magic": "", "version": "v3.259.0"},
            "secrets_providers": {
                "type": "cloud",
                "state": {"url": "azurekeyvault://kv-coder-dev.vault.azure.net/keys/state"},
            },
            "resources": copy.deepcopy(resources),
        },
    }


def seeded_state(template_versions: dict[str, str]) -> dict[str, Any]:
    resources = platform_resources()
    # Seed resources follow the Coder release they depend on, as the engine orders them.
    return deployment([*resources, *seed_resources(template_versions)])


def unseeded_state() -> dict[str, Any]:
    return deployment(platform_resources())
