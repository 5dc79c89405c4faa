"""What a person needs after ``scripts/reconcile``: where Coder is, what is seeded in it (read
back through Coder's API with the published token), and how to read the automation identity's
credentials and the seeded people's OpenBao logins (``localplatform.sso``): the command, never
the secret."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from coder_platform.coder_api import CoderApiError, CoderClient
from coder_platform.coder_api.models import Template, User
from coder_platform.contracts import PUBLISHED_TOKEN_KEY
from localplatform.openbao import KV_MOUNT
from localplatform.platform import LocalPlatform
from localplatform.sso import logins_file_usernames, sso_kv_path


@dataclass(frozen=True)
class SeededCoder:
    """Coder's own answer about the seeded state (nothing listed when the token is refused)."""

    first_user: bool
    users: list[User]
    templates: list[Template]

    @classmethod
    def read(cls, url: str, token: str | None) -> SeededCoder:
        with CoderClient(url) as coder:
            first = coder.has_first_user()
            if token is None:
                return cls(first, [], [])
            coder.authenticate(token)
            try:
                return cls(first, coder.list_users(), coder.list_templates())
            except CoderApiError:
                return cls(first, [], [])


def published_token(platform: LocalPlatform, token_path: str) -> str | None:
    data = platform.openbao.read_kv(token_path)
    return data.get(PUBLISHED_TOKEN_KEY) if data else None


def render(platform: LocalPlatform, stack_file: Path, bao: Path) -> str:
    paths = platform.stack_paths(stack_file)  # read once at seeding: the schema is slow to load
    admin_path, token_path = paths.bootstrap_admin_path, paths.cli_token_path
    url = platform.stack_coder_url(stack_file)
    seeded = SeededCoder.read(url, published_token(platform, token_path))
    lines = [f"Coder: {url}  (first user: {'yes' if seeded.first_user else 'no, /setup'})"]
    for user in seeded.users:
        roles = ",".join(user.site_roles) or "member"
        lines.append(
            f"  user {user.username:<20} {user.login_type or '?':<9} "
            f"{user.status or '?':<10} {roles}"
        )
    for template in seeded.templates:
        lines.append(f"  template {template.name:<16} active version {template.active_version_id}")
    env = (
        f"VAULT_ADDR={platform.openbao.address} "
        f'VAULT_TOKEN="$(cat {shlex.quote(str(platform.openbao.token_file))})"'
    )
    lines += [
        "The automation identity (Coder's first user) and its API token live in OpenBao:",
        f"  {env} {shlex.quote(str(bao))} kv get -mount={KV_MOUNT} {admin_path}",
        f"  {env} {shlex.quote(str(bao))} kv get -mount={KV_MOUNT} {token_path}",
    ]
    people = logins_file_usernames(platform.openbao.sso_logins_file)
    if people:
        lines += [
            f'People sign in at {url}/login: "Sign in with OpenBao", then OpenBao\'s Userpass tab'
            " with their login:",
            f"  cat {shlex.quote(str(platform.openbao.sso_logins_file))}",
        ]
        lines += [
            f"  {env} {shlex.quote(str(bao))} kv get -mount={KV_MOUNT} {sso_kv_path(username)}"
            for username in people
        ]
    return "\n".join(lines)
