"""cnpg-recovery-archive-isolation (stack, C3): a recovering Cluster never archives into the
archive it restores from.

A CNPG Cluster bootstrapped with ``bootstrap.recovery`` reads its source's archive (an
``externalClusters[]`` entry: the Barman Cloud plugin's ``barmanObjectName`` + ``serverName``, or
the in-tree ``barmanObjectStore``). If its WAL archiver (``spec.plugins[]`` with
``isWALArchiver``, or ``spec.backup.barmanObjectStore``) points at that same archive, the new
cluster writes its own timeline into the backups it depends on: CNPG stops it at "Expected empty
archive" only when that check runs, and a drill cluster doing it would corrupt the real backups.
Each generation archives under its own server name; a restore drill's scratch cluster does not
archive at all.

An archive is the object store's destination plus the server name. The plugin's ``serverName``
defaults to the Cluster's name for the archiver and to the ``externalClusters[]`` entry's name
for the source. Two ObjectStores of the stack with the same ``destinationPath`` are one store.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from ...lib.messages import subject, violation
from ...lib.props import as_list, as_mapping, as_text, child, dig, metadata_text
from ...lib.resources import CNPG_CLUSTER
from ...lib.settings import read_bool

NAME = "cnpg-recovery-archive-isolation"
CLAUSES = "C3"
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
OBJECT_STORE = "kubernetes:barmancloud.cnpg.io/v1:ObjectStore"

SCHEMA = PolicyConfigSchema(
    properties={
        "compareDestinations": {
            "type": "boolean",
            "default": True,
            "description": "treat two ObjectStores of the stack with the same destinationPath as "
            "one store (otherwise only the same ObjectStore name counts)",
        },
    }
)


@dataclass(frozen=True)
class Archive:
    """Where one side reads or writes: a path (for messages), a store and a server name."""

    path: str
    store: str | None
    destination: str | None
    server: str | None


def _plugin_archive(path: str, entry: Mapping[str, Any], default_server: str | None) -> Archive:
    parameters = as_mapping(entry.get("parameters")) or {}
    return Archive(
        path=child(path, "parameters"),
        store=as_text(parameters.get("barmanObjectName")),
        destination=None,
        server=as_text(parameters.get("serverName")) or default_server,
    )


def _in_tree_archive(path: str, store: Mapping[str, Any], default_server: str | None) -> Archive:
    return Archive(
        path=path,
        store=None,
        destination=as_text(store.get("destinationPath")),
        server=as_text(store.get("serverName")) or default_server,
    )


def archivers(props: Mapping[str, Any]) -> Iterator[Archive]:
    """Where the Cluster writes WAL: each enabled plugin archiver, and the in-tree store."""
    name = metadata_text(props, "name")
    for index, item in enumerate(as_list(dig(props, "spec", "plugins")) or []):
        entry = as_mapping(item)
        if entry is None or entry.get("isWALArchiver") is not True:
            continue
        if entry.get("enabled") is False or entry.get("name") != BARMAN_PLUGIN:
            continue
        yield _plugin_archive(child("spec.plugins", index), entry, name)
    in_tree = as_mapping(dig(props, "spec", "backup", "barmanObjectStore"))
    if in_tree is not None:
        yield _in_tree_archive("spec.backup.barmanObjectStore", in_tree, name)


def recovery_source(props: Mapping[str, Any]) -> Archive | None:
    """The archive ``bootstrap.recovery.source`` names, or None for other bootstraps."""
    source = as_text(dig(props, "spec", "bootstrap", "recovery", "source"))
    if source is None:
        return None
    for index, item in enumerate(as_list(dig(props, "spec", "externalClusters")) or []):
        entry = as_mapping(item)
        if entry is None or as_text(entry.get("name")) != source:
            continue
        path = child("spec.externalClusters", index)
        plugin = as_mapping(entry.get("plugin"))
        if plugin is not None and plugin.get("name") == BARMAN_PLUGIN:
            return _plugin_archive(child(path, "plugin"), plugin, source)
        in_tree = as_mapping(entry.get("barmanObjectStore"))
        if in_tree is not None:
            return _in_tree_archive(child(path, "barmanObjectStore"), in_tree, source)
    return None


def _destination(
    archive: Archive, namespace: str | None, stores: list[PolicyResource]
) -> str | None:
    if archive.destination is not None:
        return archive.destination.rstrip("/")
    for store in stores:
        same_namespace = namespace is None or metadata_text(store.props, "namespace") in (
            None,
            namespace,
        )
        if same_namespace and metadata_text(store.props, "name") == archive.store:
            found = as_text(dig(store.props, "spec", "configuration", "destinationPath"))
            return found.rstrip("/") if found else None
    return None


def same_archive(
    writer: Archive,
    reader: Archive,
    namespace: str | None,
    stores: list[PolicyResource],
    compare_destinations: bool,
) -> bool:
    if writer.server is None or writer.server != reader.server:
        return False
    if writer.store is not None and writer.store == reader.store:
        return True
    if not compare_destinations and (writer.store is not None or reader.store is not None):
        return False
    # Destinations are read only when the names alone cannot decide (they may be unknown
    # during preview, which makes the policy advisory until ``up``).
    left = _destination(writer, namespace, stores)
    return left is not None and left == _destination(reader, namespace, stores)


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    compare = read_bool(args.get_config(), SCHEMA, "compareDestinations")
    stores = [r for r in args.resources if r.resource_type == OBJECT_STORE]
    for cluster in args.resources:
        if cluster.resource_type != CNPG_CLUSTER:
            continue
        source = recovery_source(cluster.props)
        if source is None:
            continue
        namespace = metadata_text(cluster.props, "namespace")
        for writer in archivers(cluster.props):
            if not same_archive(writer, source, namespace, stores, compare):
                continue
            report_violation(
                violation(
                    subject(cluster.resource_type, cluster.name),
                    f"recovers from the archive at {source.path} and archives WAL into the same "
                    f"archive through {writer.path} (same object store and serverName), so it "
                    "would write into the backups it restores from",
                    "archive under a new serverName (the next generation: bump "
                    "database.generation with database.recovery.enabled), or, for a restore "
                    "drill's scratch cluster, remove the WAL archiver",
                    CLAUSES,
                ),
                cluster.urn,
            )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "C3 (self-healing): a CNPG Cluster bootstrapped with bootstrap.recovery never archives "
        "WAL into the archive (object store and serverName) it restores from."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.CRITICAL,
)
