"""coder-template-access (stack, C3): a managed stack declares who may use each template.

Coder grants the organization's Everyone group ``use`` on every new template, and an ACL edited
by hand, or lost with a database reset, stays that way unless the stack owns it. A managed stack
therefore gives every ``CoderTemplate`` a ``CoderTemplateAccess`` (``seeding.templates.<dir>.
access``: groups and users with ``use`` or ``admin``, and whether Everyone keeps ``use``), so
the access is declared, taken back when changed by hand, and re-created after a reset. A stack
without a license cannot manage ACLs (Premium: ``template_rbac``): set ``requireAccess`` false
for it. The match is by template name, known at preview; a name not yet known is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from ...lib.messages import subject, violation
from ...lib.props import as_text
from ...lib.resources import CODER_TEMPLATE, CODER_TEMPLATE_ACCESS
from ...lib.settings import read_bool

NAME = "coder-template-access"
CLAUSES = "C3"
SCHEMA = PolicyConfigSchema(
    properties={
        "requireAccess": {
            "type": "boolean",
            "default": True,
            "description": "every template's access must be declared (false only for a stack "
            "without a license: template ACLs are Premium)",
        },
    }
)


def _name(props: Mapping[str, Any], key: str) -> str | None:
    try:
        return as_text(props.get(key))
    except UnknownValueError:
        return None


def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    if not read_bool(args.get_config(), SCHEMA, "requireAccess"):
        return
    declared = {
        _name(resource.props, "template")
        for resource in args.resources
        if resource.resource_type == CODER_TEMPLATE_ACCESS
    }
    for resource in args.resources:
        if resource.resource_type != CODER_TEMPLATE:
            continue
        name = _name(resource.props, "name")
        if name is None or name in declared:
            continue
        report_violation(
            violation(
                subject(resource.resource_type, resource.name),
                f"template {name} has no declared access, so it stays open to the "
                "organization's Everyone group and an ACL changed by hand is never taken back",
                "declare seeding.templates.<dir>.access (groups and users with use or admin, "
                "and everyone: use or none)",
                CLAUSES,
            ),
            resource.urn,
        )


POLICY = StackValidationPolicy(
    name=NAME,
    description=(
        "C3 (self-healing): in a managed stack every CoderTemplate has a CoderTemplateAccess "
        "declaring who may use or administer it, so a template's ACL is owned, taken back when "
        "changed by hand and re-created after a database reset."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.MEDIUM,
)
