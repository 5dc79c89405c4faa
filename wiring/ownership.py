"""The program is authoritative for the Kubernetes fields it sets (contract C3).

With server-side apply, a field someone changed by hand (``kubectl label``, ``kubectl edit``)
belongs to that field manager, and the next apply fails with a conflict instead of healing it.
``pulumi.com/patchForce`` makes the apply take the field back, which is what a reconciler that
"resets drift" means. Fields the program does not set stay with whoever set them.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

PATCH_FORCE = "pulumi.com/patchForce"


def _with_force(metadata: Any) -> Any:
    if isinstance(metadata, k8s.meta.v1.ObjectMetaArgs):
        annotations = dict(pulumi.get(metadata, "annotations") or {})
        annotations[PATCH_FORCE] = "true"
        pulumi.set(metadata, "annotations", annotations)
        return metadata
    if isinstance(metadata, dict):
        annotations = dict(metadata.get("annotations") or {})
        annotations[PATCH_FORCE] = "true"
        return {**metadata, "annotations": annotations}
    return metadata


def authoritative(
    args: pulumi.ResourceTransformArgs,
) -> pulumi.ResourceTransformResult | None:
    """Annotate every Kubernetes object the program creates (not Helm releases)."""
    if not args.type_.startswith("kubernetes:") or args.type_.startswith("kubernetes:helm.sh"):
        return None
    metadata = args.props.get("metadata")
    if metadata is None:
        return None
    return pulumi.ResourceTransformResult(
        props={**args.props, "metadata": _with_force(metadata)}, opts=args.opts
    )


def make_kubernetes_fields_authoritative() -> None:
    """Register ``authoritative`` as a stack transform: every Kubernetes object of the stack,
    whichever component creates it, takes back the fields the program sets."""
    pulumi.runtime.register_resource_transform(authoritative)
