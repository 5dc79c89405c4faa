"""reconciled-stack-without-operators (stack, P1): a stack the in-cluster reconciler runs does
not install the CNPG operator or the Barman Cloud plugin.

P1 (the scheduled reconciler) with least privilege: the reconciler holds write rights wherever
its stack deploys. The CNPG operator's service account is cluster-wide (Secrets everywhere,
``pods/exec``), and a subject that may create a workload in a namespace may run it as any
account there (Kubernetes docs, "Service Accounts"). So the operators' releases belong to a
stack of their own (``coder-platform:scope: operators``) that an admin runs, and a stack with a
reconciler (a CronJob labelled ``app.kubernetes.io/component: reconciler``, or a Pulumi
Kubernetes Operator ``Stack``) registers no release of their charts.
"""

from __future__ import annotations

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
from ...lib.props import as_text, metadata_text
from ...lib.resources import CRON_JOB, HELM_TYPES, PULUMI_OPERATOR_STACK
from ...lib.settings import read_texts, strings

NAME = "reconciled-stack-without-operators"
CLAUSES = "P1"
COMPONENT_LABEL = "app.kubernetes.io/component"
RECONCILER = "reconciler"
# The charts of the CloudNativePG chart repository the program installs (components/operators.py).
OPERATOR_CHARTS = ("cloudnative-pg", "plugin-barman-cloud")

SCHEMA = PolicyConfigSchema(
    properties={
        "operatorCharts": strings(
            "chart names (the last path segment of a chart reference) whose workloads run with "
            "cluster-wide rights: a stack with a reconciler installs none of them",
            list(OPERATOR_CHARTS),
        ),
    }
)


def is_reconciler(resource: PolicyResource) -> bool:
    if resource.resource_type == PULUMI_OPERATOR_STACK:
        return True
    return (
        resource.resource_type == CRON_JOB
        and metadata_text(resource.props, "labels", COMPONENT_LABEL) == RECONCILER
    )


def operator_chart(resource: PolicyResource, charts: list[str]) -> str | None:
    if resource.resource_type not in HELM_TYPES:
        return None
    chart = (as_text(resource.props.get("chart")) or "").rstrip("/").rsplit("/", 1)[-1]
    return chart if chart in charts else None


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    if not any(is_reconciler(resource) for resource in args.resources):
        return
    charts = read_texts(args.get_config(), SCHEMA, "operatorCharts")
    for resource in args.resources:
        chart = operator_chart(resource, charts)
        if chart is None:
            continue
        report_violation(
            violation(
                subject(resource.resource_type, resource.name),
                f"the stack schedules the in-cluster reconciler and installs the {chart} "
                "chart, so the reconciler would hold write rights in the operators' namespace, "
                "where the operator's service account is cluster-wide",
                "install the operators from a stack of their own (coder-platform:scope: "
                "operators, run by an admin) and set operators.install: false in this one",
                CLAUSES,
            ),
            resource.urn,
        )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "P1 (the scheduled reconciler, least privilege): a stack with an in-cluster reconciler "
        "installs no CNPG operator or Barman Cloud plugin release; an operators-scope stack run "
        "by an admin does."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.HIGH,
)
