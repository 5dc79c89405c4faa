"""pinned-charts (C2): every Helm release and chart pins an exact version.

C2: a re-run must install exactly what the last run installed; a missing version or a range
(``^1.2``, ``~1.2``, ``1.x``) silently upgrades on the next run. A chart loaded from a local path
is versioned with this repository and is accepted while ``allowLocalCharts`` is true.
"""

from __future__ import annotations

import re

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ...lib.messages import subject, violation
from ...lib.props import as_text
from ...lib.resources import HELM_TYPES
from ...lib.settings import read_bool

NAME = "pinned-charts"
CLAUSES = "C2"
EXACT_VERSION = re.compile(
    r"v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?"
)
LOCAL_PREFIXES = ("./", "../", "/", "file://")

SCHEMA = PolicyConfigSchema(
    properties={
        "allowLocalCharts": {
            "type": "boolean",
            "default": True,
            "description": "accept charts loaded from a path in this repository without a version",
        },
    }
)


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in HELM_TYPES:
        return
    chart = as_text(args.props.get("chart")) or ""
    if chart.startswith(LOCAL_PREFIXES) and read_bool(
        args.get_config(), SCHEMA, "allowLocalCharts"
    ):
        return
    version = as_text(args.props.get("version"))
    if version is not None and EXACT_VERSION.fullmatch(version):
        return
    report_violation(
        violation(
            subject(args.resource_type, args.name),
            "version is missing or not an exact version (a range or tag floats between runs)",
            "set version to the exact chart version to install, e.g. 0.29.0",
            CLAUSES,
        ),
        None,
    )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "C2 (idempotent re-run): every Helm release/chart pins an exact version, so each run "
        "installs the same chart."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.MEDIUM,
)
