"""Sign-in for the seeded people: an OpenBao login per OIDC user of the stack, so a person can
press "Sign in with OpenBao" on Coder's login page and land in Coder as that user.

OpenBao's identity OIDC provider is Coder's issuer on the local stack. Its authorize step is
OpenBao's web UI (``/ui/vault/identity/oidc/provider/<name>/authorize``): a person signs in to
OpenBao there and OpenBao redirects back to Coder's ``/api/v2/users/oidc/callback``. So each
seeded OIDC user gets a userpass login named after its Coder username, bound (by an entity alias)
to an identity entity whose metadata holds the user's email. The provider's ``email`` scope puts
that email in the ID token, and Coder links the first login to the seeded user by email (Coder's
``coderd/userauth.go``: a user with no OIDC link yet is found by email; a password user found so
is refused with 403 "Incorrect login type", hence only ``loginType: oidc`` users get a login).

Passwords are generated once, kept in OpenBao's KV (``<kvMount>/localplatform/sso/<username>``)
and copied to a 0600 file in OpenBao's state directory; they are never printed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from coder_platform.contracts import ADMIN_EMAIL_KEY, ADMIN_USERNAME_KEY, PASSWORD_KEY
from localplatform.daemon import PartError, write_private

if TYPE_CHECKING:
    from coder_platform.config.seeded_state import UserConfig

USERPASS_MOUNT = "userpass"
SSO_KV_PREFIX = "localplatform/sso"
# Claims Coder reads (CODER_OIDC_SCOPES defaults to openid,profile,email; the email claim is
# CODER_OIDC_EMAIL_FIELD's default, the username claim CODER_OIDC_USERNAME_FIELD's). OpenBao
# renders each template with the signed-in entity's values, JSON-quoted.
# OpenBao API field names (not KV keys: the contracts' *_KEY names are for those).
EMAIL_SCOPE = "email"
ENTITY_EMAIL = "email"  # the entity metadata key the email scope's template reads
USERPASS_PASSWORD = "password"
SCOPES = {
    EMAIL_SCOPE: '{"email": {{identity.entity.metadata.email}}, "email_verified": true}',
    "profile": '{"preferred_username": {{identity.entity.name}}, '
    '"name": {{identity.entity.metadata.name}}}',
}


@dataclass(frozen=True)
class SsoLogin:
    """One person's OpenBao login (the password stays out of repr)."""

    username: str
    email: str
    password: str

    def __repr__(self) -> str:
        return f"SsoLogin(username={self.username!r}, email={self.email!r})"


class OpenBaoApi(Protocol):
    """What the logins need of OpenBao (``LocalOpenBao``)."""

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]: ...

    def read_kv(self, path: str) -> dict[str, str] | None: ...

    def write_kv(self, path: str, data: dict[str, str]) -> None: ...


def sso_kv_path(username: str) -> str:
    return f"{SSO_KV_PREFIX}/{username}"


def oidc_users(users: Sequence[UserConfig]) -> list[UserConfig]:
    """The people who sign in through OpenBao: the stack's OIDC users."""
    return [user for user in users if user.login_type == "oidc"]


def ensure_sso_logins(
    bao: OpenBaoApi, provider: str, users: Sequence[UserConfig]
) -> list[SsoLogin]:
    """Make the provider serve Coder's scopes and give each OIDC user a userpass login;
    idempotent (a password once generated is kept)."""
    people = oidc_users(users)
    if not people:
        return []
    accessor = _userpass_accessor(bao)
    for scope, template in SCOPES.items():
        bao.request(
            "POST",
            f"identity/oidc/scope/{scope}",
            {"template": template, "description": f"Coder's {scope} claims (localplatform)"},
        )
    bao.request("POST", f"identity/oidc/provider/{provider}", {"scopes_supported": list(SCOPES)})
    return [_ensure_login(bao, accessor, user) for user in people]


def _userpass_accessor(bao: OpenBaoApi) -> str:
    auths = bao.request("GET", "sys/auth")
    mounts = auths.get("data", auths)
    if f"{USERPASS_MOUNT}/" not in mounts:
        # Listed on the login page, so the authorize step offers a Userpass tab.
        bao.request(
            "POST",
            f"sys/auth/{USERPASS_MOUNT}",
            {"type": "userpass", "config": {"listing_visibility": "unauth"}},
        )
        auths = bao.request("GET", "sys/auth")
        mounts = auths.get("data", auths)
    mount = mounts.get(f"{USERPASS_MOUNT}/")
    if not isinstance(mount, dict) or not mount.get("accessor"):
        raise PartError(f"openbao: auth mount {USERPASS_MOUNT}/ has no accessor")
    return str(mount["accessor"])


def _ensure_login(bao: OpenBaoApi, accessor: str, user: UserConfig) -> SsoLogin:
    if user.email is None:  # the config requires one for every login type but `none`
        raise PartError(f"openbao: OIDC user {user.username} has no email to sign in with")
    stored = bao.read_kv(sso_kv_path(user.username))
    password = stored.get(PASSWORD_KEY) if stored else None
    if not password:
        password = secrets.token_urlsafe(18)
        bao.write_kv(
            sso_kv_path(user.username), {ADMIN_USERNAME_KEY: user.username, PASSWORD_KEY: password}
        )
    bao.request(
        "POST", f"auth/{USERPASS_MOUNT}/users/{user.username}", {USERPASS_PASSWORD: password}
    )
    bao.request(
        "POST",
        f"identity/entity/name/{user.username}",
        {"metadata": {ENTITY_EMAIL: user.email, "name": user.name or user.username}},
    )
    entity = bao.request("GET", f"identity/entity/name/{user.username}")["data"]
    aliases = entity.get("aliases") or []
    if not any(a.get("mount_accessor") == accessor for a in aliases):
        bao.request(
            "POST",
            "identity/entity-alias",
            {"name": user.username, "canonical_id": entity["id"], "mount_accessor": accessor},
        )
    return SsoLogin(user.username, user.email, password)


def logins_json(logins: Sequence[SsoLogin], login_url: str) -> str:
    """The 0600 file's text: where to sign in, and each person's OpenBao username/password."""
    return (
        json.dumps(
            {
                "sign_in": f"{login_url} -> Sign in with OpenBao -> Userpass",
                "logins": [
                    {
                        ADMIN_USERNAME_KEY: x.username,
                        ADMIN_EMAIL_KEY: x.email,
                        PASSWORD_KEY: x.password,
                    }
                    for x in logins
                ],
            },
            indent=2,
        )
        + "\n"
    )


def write_logins_file(path: Path, logins: Sequence[SsoLogin], login_url: str) -> None:
    write_private(path, logins_json(logins, login_url))


def logins_file_usernames(path: Path) -> list[str]:
    """Who has a login, read back from the 0600 file (usernames only): the summary names them
    without loading the stack's config schema; no file (no OIDC users yet) means nobody."""
    try:
        logins = json.loads(path.read_text()).get("logins", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [
        str(x[ADMIN_USERNAME_KEY])
        for x in logins
        if isinstance(x, dict) and x.get(ADMIN_USERNAME_KEY)
    ]
