"""Deterministic names that other systems refer to (CNPG secrets, archives, identities)."""

from __future__ import annotations

import re


def dns_label(text: str) -> str:
    """Lowercase RFC 1123 label: Kubernetes object names must be one, and stay stable."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return label[:63].rstrip("-")


def archive_server_name(cluster: str, generation: int) -> str:
    """Each cluster generation archives under its own server name (``coder-db-g2``).

    A recovered cluster that wrote into its source's archive would fail with
    "Expected empty archive"; a fresh initdb there would look Ready while archiving is broken.
    """
    return f"{cluster}-g{generation}"


def app_secret_name(cluster: str) -> str:
    """CNPG's conventional ``<cluster>-app`` secret; here Pulumi owns it, so it survives a
    restore (backups carry no Secrets)."""
    return f"{cluster}-app"


def object_store_name(cluster: str) -> str:
    return f"{cluster}-backups"


def backup_store_secret_name(cluster: str) -> str:
    """The Secret holding a storage connection string (stacks that are not managed: Azurite on
    the local node), named by the ObjectStore's ``azureCredentials.connectionString``."""
    return f"{cluster}-backup-store"
