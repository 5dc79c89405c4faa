"""What a person needs after ``scripts/reconcile``: where Coder is, what is seeded in it (read
back through Coder's API with the published token), and how to read the automation identity's
credentials from OpenBao: the command, never the secret."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from coder_platform.contracts import PROJECT, PUBLISHED_TOKEN_KEY
from localplatform.openbao import KV_MOUNT
from localplatform.platform import LocalPlatform


@dataclass(frozen=True)
class SeededCoder:
    """Coder's own answer about the seeded state."""

    first_user: bool
    users: list[dict[str, Any]]
    templates: list[dict[str, Any]]

    @classmethod
    def read(cls, url: str, token: str | None) -> SeededCoder:
        first = httpx.get(f"{url}/api/v2/users/first", timeout=10).status_code == 200
        if token is None:
            return cls(first, [], [])
        headers = {"Coder-Session-Token": token}
        users = httpx.get(f"{url}/api/v2/users", headers=headers, timeout=10)
        templates = httpx.get(f"{url}/api/v2/templates", headers=headers, timeout=10)
        if users.status_code != 200 or templates.status_code != 200:
            return cls(first, [], [])
        return cls(first, list(users.json().get("users", [])), list(templates.json()))


def _vault_paths(stack_file: Path) -> tuple[str, str]:
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config", {})
    vault = config.get(f"{PROJECT}:vault") or {}
    return (
        vault.get("bootstrapAdminPath", "coder/bootstrap-admin"),
        vault.get("cliTokenPath", "coder/coder-cli-session-token"),
    )


def published_token(platform: LocalPlatform, stack_file: Path) -> str | None:
    _, token_path = _vault_paths(stack_file)
    data = platform.openbao.read_kv(token_path)
    return data.get(PUBLISHED_TOKEN_KEY) if data else None


def render(platform: LocalPlatform, stack_file: Path, bao: Path) -> str:
    admin_path, token_path = _vault_paths(stack_file)
    url = platform.coder.url
    seeded = SeededCoder.read(url, published_token(platform, stack_file))
    lines = [f"Coder: {url}  (first user: {'yes' if seeded.first_user else 'no, /setup'})"]
    for user in seeded.users:
        roles = ",".join(r.get("name", "") for r in user.get("roles") or []) or "member"
        lines.append(
            f"  user {user['username']:<20} {user.get('login_type', '?'):<9} "
            f"{user.get('status', '?'):<10} {roles}"
        )
    for template in seeded.templates:
        lines.append(
            f"  template {template['name']:<16} active version {template['active_version_id']}"
        )
    env = (
        f"VAULT_ADDR={platform.openbao.address} "
        f'VAULT_TOKEN="$(cat {shlex.quote(str(platform.openbao.token_file))})"'
    )
    lines += [
        "The automation identity (Coder's first user) and its API token live in OpenBao:",
        f"  {env} {shlex.quote(str(bao))} kv get -mount={KV_MOUNT} {admin_path}",
        f"  {env} {shlex.quote(str(bao))} kv get -mount={KV_MOUNT} {token_path}",
    ]
    return "\n".join(lines)
