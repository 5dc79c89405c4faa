"""storage-class-retain (C3): every StorageClass the stack creates reclaims with ``Retain``.

The incident: CNPG recreated its PVCs on a ``Delete`` class and the database's disks went with
them. Retain is the second line of defence (the off-cluster backups are the first): a mistaken PVC
delete keeps the disk. Classes whose data is declared ephemeral are allow-listed by name in
config, one deliberate line per environment.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ...lib.messages import subject, violation
from ...lib.props import as_text, metadata_text
from ...lib.resources import STORAGE_CLASS
from ...lib.settings import read_texts, strings

NAME = "storage-class-retain"
CLAUSES = "C3"
RETAIN = "Retain"

SCHEMA = PolicyConfigSchema(
    properties={
        "ephemeralClasses": strings(
            "metadata.name of StorageClasses whose data is declared ephemeral (may use Delete)",
            [],
        ),
    }
)


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != STORAGE_CLASS:
        return
    # Kubernetes defaults an unset reclaimPolicy to Delete.
    if as_text(args.props.get("reclaimPolicy")) == RETAIN:
        return
    if metadata_text(args.props, "name") in read_texts(
        args.get_config(), SCHEMA, "ephemeralClasses"
    ):
        return
    report_violation(
        violation(
            subject(args.resource_type, args.name),
            "reclaimPolicy is not Retain (unset means Delete), so deleting a PVC deletes its disk",
            f"set reclaimPolicy: {RETAIN}; only if this class's data is declared ephemeral, add "
            f"its metadata.name to {NAME}.ephemeralClasses in policy/config/<env>.json",
            CLAUSES,
        ),
        None,
    )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "C3 (self-healing): every StorageClass the stack creates has reclaimPolicy: Retain, so a "
        "mistaken PVC delete keeps the disk; classes declared ephemeral are allow-listed in config."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.HIGH,
)
