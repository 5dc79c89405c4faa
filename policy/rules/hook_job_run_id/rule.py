"""hook-job-run-id (P2, C4): every Job the stack creates directly is rerunnable and leaves evidence.

P2 (the hook-Job pattern): a required run-id annotation lets Git force a rerun deterministically
(a Job's spec is immutable; a new run id is a new Job), and the finished Job outlives its TTL long
enough for a human to read why it failed (C4). Jobs rendered by a Helm chart, YAML or kustomize
component are the chart's, not this stack's, and are out of scope.
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
from ...lib.props import as_number, dig, metadata_text
from ...lib.resources import JOB, rendered_from_manifests
from ...lib.settings import read_number, read_text

NAME = "hook-job-run-id"
CLAUSES = "P2, C4"

SCHEMA = PolicyConfigSchema(
    properties={
        "runIdAnnotation": {
            "type": "string",
            "default": "seeding.coder-platform.io/run-id",
            "description": "the annotation whose change forces a rerun",
        },
        "minTtlSecondsAfterFinished": {
            "type": "integer",
            "minimum": 0,
            "default": 3600,
            "description": "shortest ttlSecondsAfterFinished that keeps a finished Job to inspect",
        },
    }
)


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != JOB or rendered_from_manifests(args.urn, args.opts.parent):
        return
    config = args.get_config()
    who = subject(args.resource_type, args.name)
    annotation = read_text(config, SCHEMA, "runIdAnnotation")
    if not metadata_text(args.props, "annotations", annotation):
        report_violation(
            violation(
                who,
                f"metadata.annotations has no {annotation}, so Git cannot force a rerun",
                f"add the annotation {annotation} with a run id or a checksum of the Job's inputs",
                CLAUSES,
            ),
            None,
        )
    ttl = as_number(dig(args.props, "spec", "ttlSecondsAfterFinished"))
    minimum = read_number(config, SCHEMA, "minTtlSecondsAfterFinished")
    if ttl is not None and ttl < minimum:
        report_violation(
            violation(
                who,
                f"spec.ttlSecondsAfterFinished is under {minimum:g}, so the finished Job and its "
                "logs are deleted before anyone can read them",
                f"remove spec.ttlSecondsAfterFinished or set it to at least {minimum:g}",
                CLAUSES,
            ),
            None,
        )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "P2, C4 (hook Job with a rerun knob, observable evidence): every Job created directly "
        "carries the annotation seeding.coder-platform.io/run-id and keeps its evidence "
        "(ttlSecondsAfterFinished unset or >= 3600)."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.MEDIUM,
)
