"""cnpg-cluster-wal-archiving (C3): every CNPG Cluster ships its WAL off the cluster.

Without a WAL archiver there is nothing to recover from after the disks go (CNPG deletes a
Cluster's PVCs with the Cluster, and deleting an AKS cluster deletes its disks):
the Barman Cloud plugin entry with ``isWALArchiver: true`` is the supported path; the in-tree
``spec.backup.barmanObjectStore`` is deprecated since CNPG 1.26 (removal due in 1.31) and is
accepted only while ``allowInTreeBarman`` is true.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ...lib.messages import subject, violation
from ...lib.props import as_list, as_mapping, dig
from ...lib.resources import CNPG_CLUSTER
from ...lib.settings import read_bool

NAME = "cnpg-cluster-wal-archiving"
CLAUSES = "C3"

SCHEMA = PolicyConfigSchema(
    properties={
        "allowInTreeBarman": {
            "type": "boolean",
            "default": True,
            "description": "accept the deprecated in-tree spec.backup.barmanObjectStore",
        },
    }
)


def has_plugin_archiver(props: Mapping[str, Any]) -> bool:
    for item in as_list(dig(props, "spec", "plugins")) or []:
        plugin = as_mapping(item)
        if plugin is None or plugin.get("isWALArchiver") is not True:
            continue
        if plugin.get("enabled") is not False:
            return True
    return False


def has_in_tree_archiver(props: Mapping[str, Any]) -> bool:
    return as_mapping(dig(props, "spec", "backup", "barmanObjectStore")) is not None


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != CNPG_CLUSTER or has_plugin_archiver(args.props):
        return
    in_tree_allowed = read_bool(args.get_config(), SCHEMA, "allowInTreeBarman")
    if in_tree_allowed and has_in_tree_archiver(args.props):
        return
    problem = (
        "has no WAL archiver, so a lost volume cannot be recovered"
        if not has_in_tree_archiver(args.props)
        else f"archives only through the deprecated in-tree barmanObjectStore, which {NAME}."
        "allowInTreeBarman forbids here"
    )
    report_violation(
        violation(
            subject(args.resource_type, args.name),
            problem,
            "add a spec.plugins entry for the Barman Cloud plugin (name "
            "barman-cloud.cloudnative-pg.io) with isWALArchiver: true and parameters."
            "barmanObjectName pointing at an ObjectStore"
            + (", or set spec.backup.barmanObjectStore" if in_tree_allowed else ""),
            CLAUSES,
        ),
        None,
    )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "C3 (self-healing): every CNPG Cluster has a WAL archiver (the Barman Cloud plugin with "
        "isWALArchiver, or the in-tree barmanObjectStore), so the database can be recovered."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.CRITICAL,
)
