"""postgres-tls-verified (C5): every PostgreSQL connection URI a stack writes verifies its server.

C5 (clean wiring): the database password travels to Coder over TLS, and ``sslmode=require`` only
encrypts, to whoever answers on the Service's address; ``verify-full`` also checks that the
server's certificate chains to the cluster's CA and names the host. CloudNativePG keeps that CA
in the Secret ``<cluster>-ca`` (key ``ca.crt``) and puts ``<cluster>-rw``, ``.<ns>``,
``.<ns>.svc`` and ``.<ns>.svc.<cluster domain>`` in the server certificate. Checked: every string
of every Kubernetes resource (a Secret's ``stringData``, its base64 ``data`` decoded, Helm values,
env literals, ConfigMaps) that is a ``postgres://`` or ``postgresql://`` URI. A message names the
property path and the TLS parameters found, never the URI (it carries the password).
"""

from __future__ import annotations

import base64
import binascii
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
from ...lib.postgres_uri import tls_problem
from ...lib.props import as_mapping, as_text, child, string_leaves
from ...lib.resources import KUBERNETES_PREFIX, SECRET
from ...lib.settings import read_bool

NAME = "postgres-tls-verified"
CLAUSES = "C5"
FIX = (
    "end the URI with ?sslmode=verify-full&sslrootcert=<a mounted copy of ca.crt from the "
    "cluster's <cluster>-ca Secret>, and use a host the server certificate names "
    "(<cluster>-rw.<namespace>.svc)"
)

SCHEMA = PolicyConfigSchema(
    properties={
        "requireRootCert": {
            "type": "boolean",
            "default": True,
            "description": (
                "a verify-full URI names its CA (sslrootcert); false leaves it to libpq's "
                "default file, ~/.postgresql/root.crt, which no pod here provides"
            ),
        }
    }
)


def _decoded(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def uri_strings(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every string of the resource with its path; a Secret's ``data`` values decoded."""
    for key in props:
        if resource_type == SECRET and key == "data":
            for data_key, encoded in (as_mapping(props[key]) or {}).items():
                text = as_text(encoded)
                decoded = _decoded(text) if text is not None else None
                if decoded is not None:
                    yield child("data", str(data_key)), decoded
            continue
        yield from string_leaves(props[key], str(key))


def findings(
    resource_type: str, props: Mapping[str, Any], require_root_cert: bool = True
) -> Iterator[str]:
    if not resource_type.startswith(KUBERNETES_PREFIX):
        return
    for path, text in uri_strings(resource_type, props):
        problem = tls_problem(text, require_root_cert)
        if problem is not None:
            yield f"{path} is a PostgreSQL URI with {problem}, so it does not verify the server"


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    require_root_cert = read_bool(args.get_config(), SCHEMA, "requireRootCert")
    for problem in findings(args.resource_type, args.props, require_root_cert):
        report_violation(
            violation(subject(args.resource_type, args.name), problem, FIX, CLAUSES), None
        )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "C5 (clean wiring): a PostgreSQL connection URI in any Kubernetes resource (Secret, Helm "
        "values, env, ConfigMap) sets sslmode=verify-full and an sslrootcert, so clients verify "
        "the database server against the cluster's CA and host name; require only encrypts."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.HIGH,
)
