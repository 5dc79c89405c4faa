"""no-literal-secrets (C5, C2): secret-named values come from a Secret, never a literal.

C5: secrets come from the secrets pipeline, not from source, stack config or Helm values; C2:
secrets are never printed, and a literal in a Helm release or pod spec is stored and diffed in
plain sight. Checked: every EnvVar-shaped list (``env``, a chart's ``extraEnv``, ...) of every
Kubernetes resource, every key of Helm values, and every ConfigMap key. The seeded Coder
resources take their credentials, passwords and the license as inputs: each of those must be
declared a secret output (``additional_secret_outputs``), or the state keeps it in plaintext.
Kubernetes Secrets are where the values belong and are not checked. A message names the variable
or key and its path, never the value.
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

from ...lib.env_vars import env_lists, env_vars, is_env_list
from ...lib.messages import subject, violation
from ...lib.props import as_list, as_mapping, as_text, child
from ...lib.resources import (
    CODER_SECRET_INPUTS,
    CONFIG_MAP,
    HELM_TYPES,
    KUBERNETES_PREFIX,
    SECRET,
)
from ...lib.secret_names import DEFAULT_SECRET_NOUNS, looks_secret
from ...lib.settings import read_texts, strings

NAME = "no-literal-secrets"
CLAUSES = "C5, C2"
ENV_FIX = "take it from valueFrom.secretKeyRef (a Secret fed by the secrets pipeline) instead"
KEY_FIX = "move the value into a Secret fed by the secrets pipeline and reference it"

SCHEMA = PolicyConfigSchema(
    properties={
        "secretNames": strings(
            "a variable or key ending in one of these words looks secret", DEFAULT_SECRET_NOUNS
        ),
        "allowedNames": strings("exact variable or key names exempt from the check", []),
    }
)


class Matcher:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.nouns = read_texts(config, SCHEMA, "secretNames")
        self.allowed = read_texts(config, SCHEMA, "allowedNames")

    def __call__(self, name: str) -> bool:
        return looks_secret(name, self.nouns, self.allowed)


def literal_env(props: Mapping[str, Any], matcher: Matcher) -> Iterator[tuple[str, str]]:
    for path, entries in env_lists(props, ""):
        for var in env_vars(entries):
            if var.literal is not None and matcher(var.name):
                yield (
                    f"{child(path, var.index)} sets the secret-named variable {var.name} to a "
                    "literal value",
                    ENV_FIX,
                )


def literal_keys(value: object, path: str, matcher: Matcher) -> Iterator[tuple[str, str]]:
    """Secret-named keys holding a literal string anywhere in Helm values (EnvVars aside)."""
    mapping = as_mapping(value)
    if mapping is not None:
        for key in mapping:
            key_path = child(path, str(key))
            if is_env_list(mapping[key]):
                continue
            if as_text(mapping[key]) and matcher(str(key)):
                yield f"{key_path} holds a literal value under a secret-looking key", KEY_FIX
            else:
                yield from literal_keys(mapping[key], key_path, matcher)
        return
    for index, item in enumerate(as_list(value) or []):
        yield from literal_keys(item, child(path, index), matcher)


def unsealed_inputs(args: ResourceValidationArgs) -> Iterator[tuple[str, str]]:
    """A seeded Coder resource's secret-bearing inputs that are not kept secret in state."""
    sealed = set(args.opts.additional_secret_outputs or [])
    for key in CODER_SECRET_INPUTS.get(args.resource_type, ()):
        if key in sealed or not as_text(args.props.get(key)):
            continue
        yield (
            f"{key} is not declared a secret output, so the state keeps it in plaintext",
            f'add "{key}" to the resource\'s additional_secret_outputs',
        )


def findings(args: ResourceValidationArgs, matcher: Matcher) -> Iterator[tuple[str, str]]:
    kind = args.resource_type
    if kind in CODER_SECRET_INPUTS:
        yield from unsealed_inputs(args)
        return
    if not kind.startswith(KUBERNETES_PREFIX) or kind == SECRET:
        return
    yield from literal_env(args.props, matcher)
    if kind in HELM_TYPES:
        yield from literal_keys(args.props.get("values"), "values", matcher)
    elif kind == CONFIG_MAP:
        yield from literal_keys(args.props.get("data"), "data", matcher)


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    matcher = Matcher(args.get_config())
    for problem, fix in findings(args, matcher):
        report_violation(
            violation(subject(args.resource_type, args.name), problem, fix, CLAUSES), None
        )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "C5, C2 (clean wiring, secrets never printed): in Helm values and container env anywhere, "
        "a variable or key whose name looks secret (SECRET, PASSWORD, TOKEN, PRIVATE_KEY, "
        "CLIENT_SECRET, ...) takes its value from a secretKeyRef/valueFrom, never a literal; the "
        "seeded Coder resources keep their tokens, passwords and license secret in state."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.CRITICAL,
)
