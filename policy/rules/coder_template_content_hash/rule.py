"""coder-template-content-hash (C2): a Coder template's content hash is known at preview.

A ``CoderTemplate`` makes a new template version only when its ``directory_hash`` input changes;
that is what keeps a scheduled run from pushing a version of every template every time
(``coder templates push`` does exactly that, coder/coder#15180). The program computes the hash
from ``templates/<name>/`` before registering anything, so it is always known at preview. A hash
that is unknown at preview (derived from another resource's output) would make the preview say
"no change" while the update then builds a version anyway: the preview would lie. Policies that
read an unknown value are normally downgraded to advisory; this one treats the unknown itself as
the violation, so it stays mandatory. It also checks the hash is a sha256 and the directory
lies under ``templates/``.
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
from pulumi_policy.proxy import UnknownValueError

from ...lib.messages import subject, violation
from ...lib.props import as_text
from ...lib.resources import CODER_TEMPLATE
from ...lib.settings import read_text

NAME = "coder-template-content-hash"
CLAUSES = "C2"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
SCHEMA = PolicyConfigSchema(
    properties={
        "templatesDirectory": {
            "type": "string",
            "default": "templates",
            "description": "the repository folder that holds one directory per template",
        },
    }
)
FIX = (
    "compute directory_hash in the program from the template directory "
    "(coder_platform.template_sources.discover) instead of from a resource output"
)


def problem_of(args: ResourceValidationArgs, templates: str) -> tuple[str, str] | None:
    try:
        content_hash = as_text(args.props.get("directory_hash"))
    except UnknownValueError:
        return (
            "directory_hash is unknown at preview, so the preview cannot show whether a new "
            "template version will be made",
            FIX,
        )
    if content_hash is None or not SHA256.fullmatch(content_hash):
        return ("directory_hash is not a sha256 of the template directory", FIX)
    try:
        directory = as_text(args.props.get("directory"))
    except UnknownValueError:
        return ("directory is unknown at preview", "name the template directory literally")
    if directory is None or not directory.startswith(f"{templates}/") or ".." in directory:
        return (
            f"directory is not a folder under {templates}/ in this repository",
            f"publish templates from {templates}/<name>/ (one directory per template)",
        )
    return None


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != CODER_TEMPLATE:
        return
    found = problem_of(args, read_text(args.get_config(), SCHEMA, "templatesDirectory"))
    if found is not None:
        problem, fix = found
        report_violation(
            violation(subject(args.resource_type, args.name), problem, fix, CLAUSES), None
        )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "C2 (idempotent): every CoderTemplate's directory_hash is a sha256 known at preview and "
        "its directory is under templates/, so a new template version is made only when the "
        "content changes and the preview says so."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.MEDIUM,
)
