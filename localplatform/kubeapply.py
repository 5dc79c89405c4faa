"""Server-side apply of multi-document manifests, for the node's add-ons (no kubectl here).

Each object is PATCHed as ``application/apply-patch+yaml`` with one field manager and
``force=true``, so applying the same manifest again changes nothing and a change wins. Where
each kind lives (its plural, whether it is namespaced) is read from the API's discovery, after
CRDs in the same manifest are established.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import httpx
import yaml

FIELD_MANAGER = "localplatform"


class ApplyError(RuntimeError):
    """An object was refused; the message names it and carries the API's answer."""


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict) and doc.get("kind")]


def _group_path(api_version: str) -> str:
    return f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"


def _resources(client: httpx.Client, api_version: str) -> dict[str, tuple[str, bool]]:
    response = client.get(_group_path(api_version))
    if response.status_code == 404:
        return {}
    response.raise_for_status()
    return {
        r["kind"]: (r["name"], bool(r["namespaced"]))
        for r in response.json().get("resources", [])
        if "/" not in r["name"]
    }


def object_path(client: httpx.Client, obj: dict[str, Any], seconds: float = 60) -> str:
    """The object's REST path; waits for its kind to be served (a CRD just applied)."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    meta = obj["metadata"]
    deadline = time.monotonic() + seconds
    while True:
        found = _resources(client, api_version).get(kind)
        if found is not None:
            break
        if time.monotonic() > deadline:
            raise ApplyError(f"{kind} ({api_version}) is not served by the API server")
        time.sleep(0.5)
    plural, namespaced = found
    base = _group_path(api_version)
    if namespaced:
        base += f"/namespaces/{meta.get('namespace', 'default')}"
    return f"{base}/{plural}/{meta['name']}"


def apply(client: httpx.Client, objects: Iterable[dict[str, Any]]) -> None:
    """Apply each object in order (namespaces and CRDs first, as manifests list them)."""
    for obj in objects:
        path = object_path(client, obj)
        response = client.patch(
            path,
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
            content=yaml.safe_dump(obj),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
        if response.status_code not in (200, 201):
            raise ApplyError(
                f"applying {obj['kind']} {obj['metadata']['name']}: "
                f"{response.status_code} {response.text[:500]}"
            )
