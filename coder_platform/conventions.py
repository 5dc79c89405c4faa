"""Conventions the program, the runner and the bench must agree on, defined once.

The policy pack runs in its own virtualenv and cannot import this package; where it needs the
same rule it keeps a commented copy (``policy/lib/``) and a test compares the two.
"""

from __future__ import annotations

import re

# Stack names as Pulumi accepts them; the runner validates --stack and the CronJob its args.
STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

# Kubernetes object names that must be one RFC 1123 label.
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

# Environment variable names ending in one of these carry a secret: they must come from a
# secretKeyRef, never a literal value (contract C5).
SECRET_NAME_SUFFIXES = ("TOKEN", "PASSWORD", "PASSPHRASE", "SECRET", "PRIVATE_KEY")

# Azure workload identity: the service-account annotation naming the managed identity, and the
# pod label that makes the webhook inject AZURE_FEDERATED_TOKEN_FILE.
WORKLOAD_IDENTITY_CLIENT_ID = "azure.workload.identity/client-id"
WORKLOAD_IDENTITY_USE = "azure.workload.identity/use"

# The automation token the runner read from Vault for this run, handed to the provider host.
# A seeded Coder resource keeps the token it last used in state; after a rotation that token is
# revoked, and ``read`` (which sees only state) retries with this one instead of failing.
CURRENT_CODER_TOKEN_ENV = "CODER_PLATFORM_CODER_TOKEN"

# The reconciler's Kubernetes service account: the Vault role binds to it by name.
RECONCILER_SERVICE_ACCOUNT = "coder-reconciler"
RECONCILER_NAMESPACE = "coder-reconciler"

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
