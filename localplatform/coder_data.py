"""Coder's own data, read the way a person would check it after a restore: through Coder's API.

The incident drill puts Coder in use before the incident (a workspace built from a seeded
template, so the database holds workspace and build rows, not only what the seed wrote) and
reads this snapshot; after the recovery the very same ids must answer. A re-seed would give the
same names with new ids, which is why ids are compared and names alone are not enough.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

SESSION_HEADER = "Coder-Session-Token"  # codersdk.SessionTokenHeader
BUILD_DONE = frozenset({"succeeded", "failed", "canceled"})  # codersdk.ProvisionerJobStatus


@dataclass(frozen=True)
class CoderData:
    """Ids by name: templates (id, active version id), users, workspaces (id, latest build id)."""

    templates: dict[str, tuple[str, str]]
    users: dict[str, str]
    workspaces: dict[str, tuple[str, str]]

    def differences(self, now: CoderData) -> list[str]:
        """What ``now`` lacks or holds under another id, one line each; empty when all of this
        snapshot is there as it was (rows written since are not differences)."""
        found: list[str] = []
        for kind, before, after in (
            ("template", self.templates, now.templates),
            ("user", self.users, now.users),
            ("workspace", self.workspaces, now.workspaces),
        ):
            for name, ids in sorted(before.items()):
                if name not in after:
                    found.append(f"{kind} {name}: missing")
                elif after[name] != ids:
                    found.append(f"{kind} {name}: {ids} before, {after[name]} now")
        return found

    def summary(self) -> str:
        builds = ", ".join(f"{n} (build {b})" for n, (_, b) in sorted(self.workspaces.items()))
        return (
            f"{len(self.templates)} templates, {len(self.users)} users, "
            f"workspaces: {builds or 'none'}"
        )


def coder_api(url: str, token: str, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=f"{url.rstrip('/')}/api/v2",
        headers={SESSION_HEADER: token},
        timeout=30,
        transport=transport,
    )


def read_coder_data(api: httpx.Client) -> CoderData:
    """One snapshot; raises ``httpx.HTTPError`` while Coder does not answer with its data."""
    templates = _get(api, "/templates")
    users = _get(api, "/users")["users"]
    workspaces = _get(api, "/workspaces")["workspaces"]
    return CoderData(
        templates={t["name"]: (t["id"], t["active_version_id"]) for t in templates},
        users={u["username"]: u["id"] for u in users},
        workspaces={w["name"]: (w["id"], w["latest_build"]["id"]) for w in workspaces},
    )


def build_workspace(api: httpx.Client, template_id: str, name: str, deadline: float) -> str:
    """A workspace of the automation user from ``template_id``, its first build finished
    (``POST /users/me/workspaces``); returns the build's job status. The local templates declare
    an agent that never connects (the build has no agent binaries), which the build does not
    wait for: the rows are what the drill needs."""
    response = api.post("/users/me/workspaces", json={"template_id": template_id, "name": name})
    response.raise_for_status()
    workspace_id = response.json()["id"]
    until = time.monotonic() + deadline
    while True:
        status = str(_get(api, f"/workspaces/{workspace_id}")["latest_build"]["job"]["status"])
        if status in BUILD_DONE or time.monotonic() > until:
            return status
        time.sleep(2)


def _get(api: httpx.Client, path: str) -> Any:
    response = api.get(path)
    response.raise_for_status()
    return response.json()
