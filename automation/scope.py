"""The runner's guards around the two stack scopes (``coder-platform:scope``).

- An operators-scope stack (the CNPG operator and the Barman Cloud plugin: Helm releases, CRDs,
  cluster-wide RBAC) is an admin's: a run of it in-cluster, where only the reconciler runs, is
  refused before anything runs (exit 18).
- An app stack whose state still holds the operators while its config no longer installs them
  would uninstall the operator of every cluster on its next update: refused (exit 18) until the
  operators' resources are moved to their own stack (``pulumi state move``, docs/runbook.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automation.errors import RefusedError
from automation.observe.kube_endpoint import in_cluster
from coder_platform.config import PlatformConfig
from coder_platform.contracts import ComponentType

RUNBOOK_SECTION = 'docs/runbook.md, "The operators\' own stack"'


def refuse_operators_scope_in_cluster(
    stack: str, config: PlatformConfig, environ: Mapping[str, str]
) -> None:
    if not (config.operators_scope and in_cluster(environ)):
        return
    raise RefusedError(
        f"stack {stack} is an operators-scope stack (coder-platform:scope: operators) and this "
        "run is in-cluster: the operators' releases, CRDs and cluster-wide RBAC are an admin's "
        "to change, never the reconciler's; nothing was deployed",
        f"Run it with an admin's kubeconfig outside the cluster (python -m automation reconcile "
        f"--stack {stack}); no reconciler CronJob may run this stack",
    )


def operator_urns(state: Mapping[str, Any]) -> list[str]:
    """The URNs of the operators' component and everything under it in an exported state."""
    resources = (state.get("deployment") or {}).get("resources") or []
    roots = {str(r["urn"]) for r in resources if r.get("type") == str(ComponentType.OPERATORS)}
    found = list(roots)
    for resource in resources:
        if resource.get("parent") in roots and resource["urn"] not in roots:
            found.append(str(resource["urn"]))
    return found


def refuse_operator_uninstall(stack: str, config: PlatformConfig, state: Mapping[str, Any]) -> None:
    if config.operators_scope or config.operators.install:
        return
    held = operator_urns(state)
    if not held:
        return
    raise RefusedError(
        f"the state of stack {stack} holds the CNPG operators ({len(held)} resources under "
        f"{ComponentType.OPERATORS}) but its config no longer installs them "
        "(operators.install: false): an update would uninstall the operator of every cluster; "
        "nothing was changed",
        f"Move them to the operators-scope stack first ({RUNBOOK_SECTION}: pulumi state move "
        f"--source {stack} --dest {stack}-operators ...), then rerun",
    )
