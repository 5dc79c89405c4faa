"""no-placeholders (C1): a managed stack never ships a placeholder value.

C1: "Do not silently fall back to placeholders in managed clusters". A ``changeme`` password or an
``example.com`` host deploys cleanly and fails later, far from its cause. Scanned: Kubernetes
Secrets (``data`` decoded from base64) and ConfigMaps, Helm releases and charts, Vault KV secrets
(``dataJson`` parsed) and the Coder resources (coderd and the first user/token). A message names
the property path and the kind of placeholder, never the value.
"""

from __future__ import annotations

import base64
import binascii
import json
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

from ...lib.messages import subject, violation
from ...lib.placeholders import placeholder_kind
from ...lib.props import as_mapping, as_text, child, string_leaves
from ...lib.resources import (
    CODER_DYNAMIC_PREFIX,
    CODERD_PREFIX,
    CONFIG_MAP,
    HELM_TYPES,
    SECRET,
    VAULT_SECRET_TYPES,
)
from ...lib.settings import read_bool, read_texts, strings

NAME = "no-placeholders"
CLAUSES = "C1"
JSON_FIELDS = ("dataJson", "dataJsonWo")

SCHEMA = PolicyConfigSchema(
    properties={
        "managed": {
            "type": "boolean",
            "default": True,
            "description": "the stack is a managed environment (dev, prod): placeholders fail",
        },
        "extraMarkers": strings("further words that mark a placeholder in this estate", []),
    }
)


def decoded(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def secret_strings(props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    yield from string_leaves(props.get("stringData"), "stringData")
    data = as_mapping(props.get("data")) or {}
    for key in data:
        text = as_text(data[key])
        plain = decoded(text) if text is not None else None
        if plain is not None:
            yield child("data", str(key)), plain
    yield from string_leaves(props.get("metadata"), "metadata")


def vault_strings(props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for key in props:
        text = as_text(props[key])
        if key in JSON_FIELDS and text is not None:
            try:
                yield from string_leaves(json.loads(text), key)
            except ValueError:
                yield key, text
        else:
            yield from string_leaves(props[key], key)


def scanned_strings(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if resource_type == SECRET:
        yield from secret_strings(props)
    elif resource_type in VAULT_SECRET_TYPES:
        yield from vault_strings(props)
    elif resource_type in (CONFIG_MAP, *HELM_TYPES) or resource_type.startswith(
        (CODERD_PREFIX, CODER_DYNAMIC_PREFIX)
    ):
        yield from string_leaves(props, "")


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    if not read_bool(config, SCHEMA, "managed"):
        return
    extra = read_texts(config, SCHEMA, "extraMarkers")
    for path, text in scanned_strings(args.resource_type, args.props):
        kind = placeholder_kind(text, extra)
        if kind is not None:
            report_violation(
                violation(
                    subject(args.resource_type, args.name),
                    f"{path} holds {kind}",
                    "replace it with the real value from the secrets pipeline (Vault) or the "
                    "stack's config; a managed stack fails rather than run on a placeholder",
                    CLAUSES,
                ),
                None,
            )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "C1 (failfast, no placeholder fallback): no placeholder values (changeme, TODO, "
        "REPLACE_ME, example.com/example.org hosts, dummy, placeholder) in Secrets, ConfigMaps, "
        "Helm values, Vault secrets or Coder resources of a managed stack."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.HIGH,
)
