"""Pod Security admission labels for the namespaces the stack creates.

Kubernetes' built-in Pod Security admission (the PodSecurity plugin, on by default) reads these
namespace labels (Kubernetes docs, "Pod Security Admission": ``pod-security.kubernetes.io/<mode>:
<level>``, modes enforce/audit/warn, levels privileged/baseline/restricted). Without them every
namespace is ``privileged``: anything that may create a pod there may create a privileged one.

- ``restricted``: the stack's own scheduled pods (the reconciler), which are built to pass it
  (``specs/jobs.py``).
- ``baseline`` (no privileged containers, host namespaces or hostPath), with ``restricted``
  audited and warned: the database and drill namespaces (CloudNativePG's instance and job pods)
  and Coder's (its workspaces run whatever the templates declare), so a violation of the stricter
  level shows up in warnings and the audit log before it is enforced.
- ``privileged`` (restricted still audited and warned): only a local node's reconciler namespace
  with ``reconciler.hostNetwork`` (refused in dev/prod), whose pod shares the node's network to
  reach the platform's host processes; no level but privileged admits a host-network pod.
"""

from __future__ import annotations

from typing import Final, Literal

PREFIX: Final = "pod-security.kubernetes.io"
Level = Literal["privileged", "baseline", "restricted"]


def pod_security(enforce: Level) -> dict[str, str]:
    """The labels that enforce ``enforce`` and audit and warn on ``restricted``."""
    return {
        f"{PREFIX}/enforce": enforce,
        f"{PREFIX}/audit": "restricted",
        f"{PREFIX}/warn": "restricted",
    }
