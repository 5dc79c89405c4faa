"""cnpg-cluster-recoverable (stack, C3): every CNPG Cluster can come back after a reset.

Two facts only the whole stack shows: the Cluster's volumes sit on a Retain StorageClass of this
stack (or one allow-listed as ephemeral; an unset class means the cluster default, usually
Delete), and a ScheduledBackup targets the Cluster, so base backups exist to replay WAL onto.
"""

from __future__ import annotations

from collections.abc import Mapping
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
from ...lib.props import as_mapping, as_text, dig, metadata_text
from ...lib.resources import CNPG_CLUSTER, CNPG_SCHEDULED_BACKUP, STORAGE_CLASS
from ...lib.settings import read_texts, strings

NAME = "cnpg-cluster-recoverable"
CLAUSES = "C3"

SCHEMA = PolicyConfigSchema(
    properties={
        "ephemeralClasses": strings(
            "metadata.name of StorageClasses a Cluster may use although they are not Retain "
            "(data declared ephemeral)",
            [],
        ),
    }
)


@dataclass(frozen=True)
class StackClass:
    resource: PolicyResource
    retains: bool


def stack_classes(resources: list[PolicyResource]) -> dict[str, StackClass]:
    classes: dict[str, StackClass] = {}
    for resource in resources:
        if resource.resource_type != STORAGE_CLASS:
            continue
        name = metadata_text(resource.props, "name")
        if name is not None:
            retains = as_text(resource.props.get("reclaimPolicy")) == "Retain"
            classes[name] = StackClass(resource, retains)
    return classes


def backup_targets(resources: list[PolicyResource]) -> set[tuple[str | None, str]]:
    """(namespace, cluster name) of every ScheduledBackup."""
    targets: set[tuple[str | None, str]] = set()
    for resource in resources:
        if resource.resource_type != CNPG_SCHEDULED_BACKUP:
            continue
        cluster = as_text(dig(resource.props, "spec", "cluster", "name"))
        if cluster is not None:
            targets.add((metadata_text(resource.props, "namespace"), cluster))
    return targets


def has_backup(props: Mapping[str, Any], targets: set[tuple[str | None, str]]) -> bool:
    name, namespace = metadata_text(props, "name"), metadata_text(props, "namespace")
    if name is None:
        return False
    # An unset namespace on either side is the provider's default: match on the name alone.
    return any(
        cluster == name and (ns is None or namespace is None or ns == namespace)
        for ns, cluster in targets
    )


def storage_problem(
    path: str, class_name: str | None, classes: dict[str, StackClass], ephemeral: list[str]
) -> str | None:
    if class_name is None:
        return f"{path} is not set, so the cluster's default StorageClass (often Delete) applies"
    if class_name in ephemeral:
        return None
    found = classes.get(class_name)
    if found is None:
        return f"{path} names no StorageClass of this stack and none listed in ephemeralClasses"
    if not found.retains:
        return f'{path} names StorageClass resource "{found.resource.name}", which is not Retain'
    return None


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    ephemeral = read_texts(args.get_config(), SCHEMA, "ephemeralClasses")
    classes = stack_classes(args.resources)
    targets = backup_targets(args.resources)
    for cluster in args.resources:
        if cluster.resource_type != CNPG_CLUSTER:
            continue
        who = subject(cluster.resource_type, cluster.name)
        paths = ["spec.storage.storageClass"]
        if as_mapping(dig(cluster.props, "spec", "walStorage")) is not None:
            paths.append("spec.walStorage.storageClass")
        for path in paths:
            class_name = as_text(dig(cluster.props, *path.split(".")))
            problem = storage_problem(path, class_name, classes, ephemeral)
            if problem is not None:
                fix = (
                    f"set {path} to the metadata.name of a StorageClass this stack creates with "
                    f"reclaimPolicy: Retain, or list an ephemeral class in {NAME}.ephemeralClasses"
                )
                report_violation(violation(who, problem, fix, CLAUSES), cluster.urn)
        if not has_backup(cluster.props, targets):
            report_violation(
                violation(
                    who,
                    "no ScheduledBackup targets this Cluster, so there is no base backup to "
                    "recover from",
                    "add a ScheduledBackup in the Cluster's namespace with spec.cluster.name set "
                    "to the Cluster's metadata.name (method: plugin for the Barman Cloud plugin)",
                    CLAUSES,
                ),
                cluster.urn,
            )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "C3 (self-healing): each CNPG Cluster's storageClass is a Retain StorageClass of this "
        "stack (or allow-listed as ephemeral), and each Cluster has a ScheduledBackup."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.CRITICAL,
)
