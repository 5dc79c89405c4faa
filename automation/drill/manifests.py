"""The scratch Cluster the drill bootstraps from the archive, and its app Secret.

The scratch cluster recovers from the current generation's archive through the Barman Cloud
plugin (``bootstrap.recovery`` with an ``externalClusters[].plugin`` source) and has **no**
``plugins`` entry and no ``spec.backup``: a restored cluster does not archive unless told to,
and one that archived into the archive it restores from would corrupt the real backups (CNPG
refuses it only with "Expected empty archive" once the check runs). ``assert_never_archives``
is the drill's own last check before it creates anything; the policy pack's
``cnpg-recovery-archive-isolation`` denies the same shape in any stack.

The Azure identity is the drill's own, read-only on the container, bound to the service account
CNPG creates for the scratch cluster (named after it), so even a wrong spec could not write.
"""

from __future__ import annotations

from typing import Any

from coder_platform.contracts import COMPONENT_LABEL, PART_OF, RESTORE_DRILL_COMPONENT
from coder_platform.drill_settings import DrillSettings
from coder_platform.names import app_secret_name
from coder_platform.specs.cnpg import archive_source, recovery_bootstrap, workload_identity

LABELS = {**PART_OF, COMPONENT_LABEL: RESTORE_DRILL_COMPONENT}


class UnsafeDrillSpecError(ValueError):
    """The scratch cluster would write to a backup archive; nothing was created."""


def scratch_cluster(settings: DrillSettings) -> dict[str, Any]:
    source = settings.source_server_name
    storage: dict[str, Any] = {"size": settings.storage_size}
    if settings.storage_class_name:
        storage["storageClass"] = settings.storage_class_name
    spec: dict[str, Any] = {
        "instances": 1,
        "imageName": settings.image,
        "enablePDB": False,
        "storage": storage,
        "bootstrap": recovery_bootstrap(
            source, settings.database, settings.owner, app_secret_name(settings.cluster_name)
        ),
        "externalClusters": [archive_source(source, settings.object_store, source)],
    }
    if settings.identity_client_id:
        spec.update(workload_identity(settings.identity_client_id))
    manifest = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {
            "name": settings.cluster_name,
            "namespace": settings.namespace,
            "labels": LABELS,
        },
        "spec": spec,
    }
    assert_never_archives(manifest)
    return manifest


def app_secret(settings: DrillSettings, password: str) -> dict[str, Any]:
    """Backups carry no Secrets: the scratch cluster's app user gets this password on promote."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": app_secret_name(settings.cluster_name),
            "namespace": settings.namespace,
            "labels": LABELS,
        },
        "type": "kubernetes.io/basic-auth",
        "stringData": {"username": settings.owner, "password": password},
    }


def assert_never_archives(manifest: dict[str, Any]) -> None:
    spec = manifest.get("spec") or {}
    archivers = [p for p in spec.get("plugins") or [] if p.get("isWALArchiver")]
    if archivers or (spec.get("backup") or {}).get("barmanObjectStore"):
        raise UnsafeDrillSpecError(
            f"scratch Cluster {manifest.get('metadata', {}).get('name')!r} has a WAL archiver "
            "(spec.plugins[].isWALArchiver or spec.backup.barmanObjectStore): a restore drill "
            "must never write to a backup archive; remove it"
        )
