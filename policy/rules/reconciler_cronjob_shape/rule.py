"""reconciler-cronjob-shape (P1, C4): every CronJob has the reconciler shape.

P1 (the preferred self-healing pattern): ``concurrencyPolicy: Forbid`` (no two runs race),
``backoffLimit: 0`` (the run's bounded internal retry is the retry), kept job history (C4: the
evidence of the last success and failure survives), and a pinned image (C2: a re-run runs the same
code). Unset history limits take Kubernetes' defaults (3 successful, 1 failed).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ...lib.images import is_pinned
from ...lib.messages import subject, violation
from ...lib.props import as_list, as_mapping, as_number, as_text, child, dig
from ...lib.resources import CRON_JOB
from ...lib.settings import read_number

NAME = "reconciler-cronjob-shape"
CLAUSES = "P1, C4"
KUBERNETES_DEFAULT_HISTORY = {"successfulJobsHistoryLimit": 3.0, "failedJobsHistoryLimit": 1.0}
POD_SPEC = "spec.jobTemplate.spec.template.spec"

SCHEMA = PolicyConfigSchema(
    properties={
        "minSuccessfulJobsHistoryLimit": {
            "type": "integer",
            "minimum": 1,
            "default": 1,
            "description": "fewest successful Jobs a CronJob keeps as evidence",
        },
        "minFailedJobsHistoryLimit": {
            "type": "integer",
            "minimum": 1,
            "default": 1,
            "description": "fewest failed Jobs a CronJob keeps as evidence",
        },
    }
)


def container_images(pod_spec: object) -> Iterator[tuple[str, str | None]]:
    """(path, image) of every container and init container."""
    for kind in ("initContainers", "containers"):
        for index, item in enumerate(as_list(dig(pod_spec, kind)) or []):
            container = as_mapping(item) or {}
            yield child(child(POD_SPEC, kind), index), as_text(container.get("image"))


def problems(props: Mapping[str, Any], config: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(what is wrong, the fix) for each way the CronJob departs from P1."""
    spec = dig(props, "spec")
    if as_text(dig(spec, "concurrencyPolicy")) != "Forbid":
        yield (
            "spec.concurrencyPolicy is not Forbid, so two runs can overlap",
            "set spec.concurrencyPolicy: Forbid",
        )
    if as_number(dig(spec, "jobTemplate", "spec", "backoffLimit")) != 0:
        yield (
            "spec.jobTemplate.spec.backoffLimit is not 0 (unset means 6 retries)",
            "set spec.jobTemplate.spec.backoffLimit: 0 and retry inside the run",
        )
    for field, key in (
        ("successfulJobsHistoryLimit", "minSuccessfulJobsHistoryLimit"),
        ("failedJobsHistoryLimit", "minFailedJobsHistoryLimit"),
    ):
        kept = as_number(dig(spec, field))
        kept = KUBERNETES_DEFAULT_HISTORY[field] if kept is None else kept
        minimum = read_number(config, SCHEMA, key)
        if kept < minimum:
            yield (
                f"spec.{field} keeps fewer than {minimum:g} Jobs, so the evidence is deleted",
                f"set spec.{field} to at least {minimum:g}",
            )
    for path, image in container_images(dig(spec, "jobTemplate", "spec", "template", "spec")):
        if image is None or not is_pinned(image):
            yield (
                f"{path}.image is not pinned (no tag, or latest)",
                f"set {path}.image to a version tag (repo:1.2.3) or a digest (repo@sha256:...)",
            )


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != CRON_JOB:
        return
    for problem, fix in problems(args.props, args.get_config()):
        report_violation(
            violation(subject(args.resource_type, args.name), problem, fix, CLAUSES), None
        )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "P1, C4 (reconciler CronJob, observable evidence): every CronJob has concurrencyPolicy: "
        "Forbid, jobTemplate.spec.backoffLimit: 0, successful and failed job history >= 1, and "
        "pinned images (a version tag or digest, never latest)."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.MEDIUM,
)
