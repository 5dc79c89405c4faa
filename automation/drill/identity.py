"""Did the Barman Cloud plugin's sidecar receive its Azure workload-identity token?

Workload identity with the plugin is not proven upstream (plugin-barman-cloud issue #649, PR
#816 open). The AKS webhook mutates init containers and containers of pods labelled
``azure.workload.identity/use: "true"``, so the plugin's sidecar (an init container named
``plugin-barman-cloud`` with ``restartPolicy: Always``) should carry ``AZURE_FEDERATED_TOKEN_FILE``
and the projected ``azure-identity-token`` volume. Without them its archiving authenticates
some other way or not at all, and the drill says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

SIDECAR = "plugin-barman-cloud"
TOKEN_ENV = "AZURE_FEDERATED_TOKEN_FILE"
TOKEN_VOLUME = "azure-identity-token"


@dataclass(frozen=True)
class IdentityFinding:
    ok: bool
    detail: str


def sidecar_identity(pods: Sequence[dict[str, Any]]) -> IdentityFinding:
    """Every instance pod's plugin sidecar has the token file variable and its volume."""
    checked: list[str] = []
    for pod in pods:
        name = str((pod.get("metadata") or {}).get("name", "?"))
        spec = pod.get("spec") or {}
        containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
        sidecar = next((c for c in containers if c.get("name") == SIDECAR), None)
        if sidecar is None:
            return IdentityFinding(False, f"pod {name} has no {SIDECAR} sidecar")
        names = {env.get("name") for env in sidecar.get("env") or []}
        if TOKEN_ENV not in names:
            return IdentityFinding(
                False,
                f"the {SIDECAR} sidecar of pod {name} has no {TOKEN_ENV}: the workload identity "
                "webhook did not mutate it (pod label azure.workload.identity/use, service "
                "account annotation azure.workload.identity/client-id)",
            )
        volumes = {volume.get("name") for volume in spec.get("volumes") or []}
        if TOKEN_VOLUME not in volumes:
            return IdentityFinding(
                False, f"pod {name} lacks the projected {TOKEN_VOLUME} volume its sidecar reads"
            )
        checked.append(name)
    if not checked:
        return IdentityFinding(False, "no instance pod of the source cluster was found")
    return IdentityFinding(True, f"{TOKEN_ENV} present in {', '.join(sorted(checked))}")
