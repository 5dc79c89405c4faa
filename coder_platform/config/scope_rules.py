"""Rules of the two stack scopes (``coder-platform:scope``): what an operators-scope stack may
set, and why an app stack with an in-cluster reconciler may not install the operators.

The CNPG operator's service account holds cluster-wide rights (Secrets in every namespace,
``pods/exec``). A subject that may create a workload in the operators' namespace may run it as
that account (Kubernetes docs, "Service Accounts"), so the always-on reconciler must not hold
write rights there: the operators live in a stack of their own (``scope: operators``) that an
admin runs, and the app stacks leave their namespace read-only (``components/reconciler``).
"""

from __future__ import annotations

from collections.abc import Iterator

from coder_platform.config.issues import ConfigIssue
from coder_platform.config.schema import PlatformConfig

# What an operators-scope stack is made of; every other section belongs to an app stack.
OPERATORS_SCOPE_SECTIONS = frozenset(
    {"environment", "scope", "protected", "namespaces", "operators"}
)


def _key(config: PlatformConfig, field: str) -> str:
    alias = type(config).model_fields[field].alias
    return alias or field


def operators_scope_issues(config: PlatformConfig) -> Iterator[ConfigIssue]:
    """An operators-scope stack installs the operators and nothing else: a section of an app
    stack there is a mistake (it would be ignored), named so it can be moved or removed."""
    for field in sorted(config.model_fields_set - OPERATORS_SCOPE_SECTIONS):
        yield ConfigIssue(
            _key(config, field),
            "is not part of an operators-scope stack (scope: operators installs the CNPG "
            "operator and the Barman Cloud plugin only): set it in the app stack, or remove it",
        )
    if not config.operators.install:
        yield ConfigIssue(
            "operators.install",
            "must be true in an operators-scope stack: installing them is all it does",
        )


def app_operators_issues(config: PlatformConfig) -> Iterator[ConfigIssue]:
    """An app stack with an in-cluster reconciler leaves the operators to their own stack."""
    reconciler = config.reconciler
    if config.operators.install and reconciler is not None and reconciler.enabled:
        yield ConfigIssue(
            "operators.install",
            "must be false in a stack with an in-cluster reconciler: it would hold write "
            f"rights in {config.namespaces.operators}, where the operator's service account "
            "is cluster-wide. Install the operators from an operators-scope stack "
            "(coder-platform:scope: operators, e.g. stacks/Pulumi.<env>-operators.yaml) "
            "that an admin runs",
        )
