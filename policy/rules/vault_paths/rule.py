"""vault-paths (C5): the KV secrets the stack writes live under its configured mount and prefix.

C5 (clean wiring): the reconciler's Vault policy grants exactly the paths under one mount and
prefix; a secret written anywhere else either fails at run time or needs a wider grant. KV v2
secrets name their mount and path separately; KV v1 and generic secrets carry ``<mount>/<path>``
(generic writes to a KV v2 mount go through ``<mount>/data/<path>``); the program's own
HTTP-API secret (``vault.provider: api``) carries ``mount`` and ``path``.

A ``.`` or ``..`` segment is a violation wherever it is: Vault cleans request paths, so
``coder/../../../sys/policies/acl/x`` is under the prefix as text and reaches ``sys/`` in fact.
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
from ...lib.props import as_text
from ...lib.resources import VAULT_API_KV, VAULT_GENERIC, VAULT_KV_V2, VAULT_SECRET_TYPES
from ...lib.settings import read_text

NAME = "vault-paths"
CLAUSES = "C5"
DOT_SEGMENTS = frozenset({".", ".."})

SCHEMA = PolicyConfigSchema(
    properties={
        "mount": {
            "type": "string",
            "default": "platform",
            "description": "the KV mount this stack writes to (vault.kvMount)",
        },
        "prefix": {
            "type": "string",
            "default": "coder/",
            "description": "the folder under the mount this stack owns (vault.pathPrefix + /)",
        },
    }
)


def mount_and_path(resource_type: str, props: Mapping[str, Any]) -> tuple[str, str]:
    if resource_type in (VAULT_KV_V2, VAULT_API_KV):
        mount = (as_text(props.get("mount")) or "").strip("/")
        field = "name" if resource_type == VAULT_KV_V2 else "path"
        return mount, (as_text(props.get(field)) or "").strip("/")
    mount, _, path = (as_text(props.get("path")) or "").strip("/").partition("/")
    if resource_type == VAULT_GENERIC and path.startswith("data/"):
        path = path.removeprefix("data/")
    return mount, path


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in VAULT_SECRET_TYPES:
        return
    config = args.get_config()
    mount = read_text(config, SCHEMA, "mount").strip("/")
    prefix = read_text(config, SCHEMA, "prefix").lstrip("/")
    prefix = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"
    actual_mount, path = mount_and_path(args.resource_type, args.props)
    problems = []
    if any(segment in DOT_SEGMENTS for segment in f"{actual_mount}/{path}".split("/")):
        problems.append("its path has a '.' or '..' segment (Vault resolves it elsewhere)")
    if actual_mount != mount:
        problems.append(f"its mount is not {mount}")
    if not path.startswith(prefix) or path == prefix:
        problems.append(f"its path is not under {prefix}")
    if problems:
        report_violation(
            violation(
                subject(args.resource_type, args.name),
                " and ".join(problems),
                f"write it to mount {mount} under {prefix}<name> (the paths the reconciler's "
                f"Vault policy grants), or change {NAME}.mount/prefix in policy/config/<env>.json "
                "together with vault.kvMount/pathPrefix",
                CLAUSES,
            ),
            None,
        )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "C5 (clean wiring): Vault KV secrets the stack writes live under the configured mount and "
        "prefix, the paths the reconciler's Vault policy grants."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.MEDIUM,
)
