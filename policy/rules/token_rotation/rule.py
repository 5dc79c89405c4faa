"""token-rotation (stack, C3): the automation token cannot expire between two reconciles.

The incident: the only token that could republish templates expired at Coder's 168h admin default.
The automation token (``CoderApiToken``) must therefore live at least ``minLifetimeIntervals``
(2) reconcile intervals, rotate inside a window that a reconcile always reaches (set, shorter than
the lifetime, at least one interval), and stay within the Owner token cap the Coder release sets
(``CODER_MAX_ADMIN_TOKEN_LIFETIME``; where the release does not set it, or the stack has no Coder
release, ``defaultAdminTokenCap``: Coder's own 168h default). The interval comes from the
reconciler CronJob's ``coder-platform.io/reconcile-interval-seconds`` annotation, or from
``reconcileIntervalSeconds`` when the stack has no reconciler CronJob.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from ...lib import coder_release
from ...lib.durations import parse_seconds
from ...lib.messages import subject, violation
from ...lib.props import as_number, metadata_text
from ...lib.resources import CODER_API_TOKEN, CRON_JOB
from ...lib.settings import PolicyConfigError, read_number, read_text

NAME = "token-rotation"
CLAUSES = "C3"
COMPONENT_LABEL = "app.kubernetes.io/component"
RECONCILER = "reconciler"
INTERVAL_ANNOTATION = "coder-platform.io/reconcile-interval-seconds"
HOUR = 3600.0

SCHEMA = PolicyConfigSchema(
    properties={
        "reconcileIntervalSeconds": {
            "type": "integer",
            "minimum": 60,
            "default": 1800,
            "description": "the reconcile interval when the stack has no reconciler CronJob",
        },
        "minLifetimeIntervals": {
            "type": "number",
            "minimum": 1,
            "default": 2,
            "description": "the token outlives at least this many reconcile intervals",
        },
        "defaultAdminTokenCap": {
            "type": "string",
            "default": "168h",
            "description": "Owner token cap (Go duration) where no Coder release of the stack "
            "sets CODER_MAX_ADMIN_TOKEN_LIFETIME (Coder's own default)",
        },
    }
)


@dataclass(frozen=True)
class Finding:
    resource: PolicyResource
    problem: str
    fix: str


def reconcile_interval(args: StackValidationArgs) -> tuple[float, list[Finding]]:
    """The longest interval of the reconciler CronJobs (the fallback if there are none)."""
    intervals: list[float] = []
    findings: list[Finding] = []
    for resource in args.resources:
        if resource.resource_type != CRON_JOB:
            continue
        if metadata_text(resource.props, "labels", COMPONENT_LABEL) != RECONCILER:
            continue
        text = metadata_text(resource.props, "annotations", INTERVAL_ANNOTATION) or ""
        if text.isdigit() and int(text) > 0:
            intervals.append(float(text))
        else:
            findings.append(
                Finding(
                    resource,
                    f"the reconciler CronJob has no positive whole-second {INTERVAL_ANNOTATION} "
                    "annotation, so the token cannot be checked against its schedule",
                    f"set metadata.annotations.{INTERVAL_ANNOTATION} to the schedule's interval "
                    "in seconds, e.g. '1800'",
                )
            )
    if intervals:
        return max(intervals), findings
    return read_number(args.get_config(), SCHEMA, "reconcileIntervalSeconds"), findings


def admin_token_cap(args: StackValidationArgs) -> tuple[float, list[Finding]]:
    """The smallest Owner token cap of the Coder releases (``defaultAdminTokenCap`` where unset)."""
    default_text = read_text(args.get_config(), SCHEMA, "defaultAdminTokenCap")
    default = parse_seconds(default_text)
    if default is None:
        raise PolicyConfigError(f"policy config {NAME}.defaultAdminTokenCap must be a Go duration")
    caps: list[float] = []
    findings: list[Finding] = []
    for resource in args.resources:
        if not coder_release.is_coder_release(resource.resource_type, resource.props):
            continue
        entry = coder_release.admin_token_cap(resource.props)
        if entry is None:
            seconds: float | None = default
        else:
            seconds = parse_seconds(entry.literal) if entry.literal is not None else None
        if seconds is None:
            findings.append(
                Finding(
                    resource,
                    f"{coder_release.MAX_ADMIN_TOKEN_LIFETIME} in {coder_release.ENV_PATH} is not "
                    "a literal Go duration, so the token cap cannot be checked",
                    f"set {coder_release.MAX_ADMIN_TOKEN_LIFETIME} to a literal such as '720h' "
                    "(coder.maxAdminTokenLifetime)",
                )
            )
        else:
            caps.append(seconds)
    return (min(caps) if caps else default), findings


def token_findings(
    token: PolicyResource, interval: float, intervals: float, cap: float
) -> Iterator[Finding]:
    lifetime_hours = as_number(token.props.get("lifetime_hours"))
    window_hours = as_number(token.props.get("rotation_window_hours"))
    lifetime = (lifetime_hours or 0.0) * HOUR
    if lifetime < intervals * interval:
        yield Finding(
            token,
            f"lifetime_hours is unset or shorter than {intervals:g} reconcile intervals "
            f"({intervals * interval / HOUR:g}h), so it can expire between runs",
            f"raise lifetime_hours to at least {intervals * interval / HOUR:g}",
        )
    if lifetime > cap:
        yield Finding(
            token,
            f"lifetime_hours exceeds the Owner token cap of the Coder release ({cap / HOUR:g}h), "
            "so Coder refuses to mint it",
            f"lower lifetime_hours to at most {cap / HOUR:g}, or raise coder.maxAdminTokenLifetime",
        )
    window = (window_hours or 0.0) * HOUR
    if window < interval or (lifetime > 0 and window >= lifetime):
        yield Finding(
            token,
            "rotation_window_hours is unset, shorter than one reconcile interval "
            f"({interval / HOUR:g}h) or not shorter than lifetime_hours, so no run rotates the "
            "token before it expires",
            f"set rotation_window_hours between {interval / HOUR:g} and lifetime_hours",
        )


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    tokens = [r for r in args.resources if r.resource_type == CODER_API_TOKEN]
    if not tokens:
        return
    interval, findings = reconcile_interval(args)
    cap, cap_findings = admin_token_cap(args)
    intervals = read_number(args.get_config(), SCHEMA, "minLifetimeIntervals")
    findings += cap_findings
    for token in tokens:
        findings += token_findings(token, interval, intervals, cap)
    for finding in findings:
        who = subject(finding.resource.resource_type, finding.resource.name)
        report_violation(
            violation(who, finding.problem, finding.fix, CLAUSES), finding.resource.urn
        )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "C3 (self-healing; the incident's expired token): the automation token's lifetime is at "
        "least twice the reconcile interval, its rotation window is set, and it does not exceed "
        "the admin token cap configured on the Coder release."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.HIGH,
)
