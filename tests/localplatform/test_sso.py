"""The seeded people's OpenBao logins: one per OIDC user, bound to an entity carrying the email
Coder links by, a password generated once and kept, never in a repr; the file is private.
(The real OpenBao and Coder walk the same flow in tests/e2e/test_sso_browser.py.)"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from coder_platform.config.seeded_state import UserConfig
from localplatform.sso import (
    SCOPES,
    USERPASS_MOUNT,
    SsoLogin,
    ensure_sso_logins,
    sso_kv_path,
    write_logins_file,
)

ADMIN = UserConfig(
    username="platform-admin",
    email="platform-admin@x.local",
    name="Platform Admin",
    roles=["owner"],
)
AUTHOR = UserConfig(
    username="template-author",
    email="template-author@x.local",
    login_type="password",
    password_path="coder/users/template-author",
)


class FakeOpenBao:
    """Enough of OpenBao's API for the calls the logins make, recording each write."""

    def __init__(self) -> None:
        self.kv: dict[str, dict[str, str]] = {}
        self.auth: dict[str, dict[str, Any]] = {"token/": {"accessor": "auth_token_1"}}
        self.entities: dict[str, dict[str, Any]] = {}
        self.writes: list[tuple[str, dict[str, Any]]] = []

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if method == "GET" and path == "sys/auth":
            return {"data": dict(self.auth)}
        if method == "GET" and path.startswith("identity/entity/name/"):
            return {"data": self.entities[path.rsplit("/", 1)[1]]}
        assert method == "POST" and body is not None, (method, path)
        self.writes.append((path, body))
        if path.startswith("sys/auth/"):
            self.auth[path.removeprefix("sys/auth/") + "/"] = {"accessor": "auth_userpass_1"}
        elif path.startswith("identity/entity/name/"):
            name = path.rsplit("/", 1)[1]
            entity = self.entities.setdefault(name, {"id": f"id-{name}", "aliases": []})
            entity["metadata"] = body["metadata"]
        elif path == "identity/entity-alias":
            entity = next(e for e in self.entities.values() if e["id"] == body["canonical_id"])
            entity["aliases"].append({"mount_accessor": body["mount_accessor"]})
        return {}

    def read_kv(self, path: str) -> dict[str, str] | None:
        return self.kv.get(path)

    def write_kv(self, path: str, data: dict[str, str]) -> None:
        self.kv[path] = data

    def written(self, prefix: str) -> list[dict[str, Any]]:
        return [body for path, body in self.writes if path.startswith(prefix)]


def test_each_oidc_user_gets_a_userpass_login_bound_to_an_entity_with_its_email() -> None:
    bao = FakeOpenBao()
    logins = ensure_sso_logins(bao, "default", [ADMIN, AUTHOR])
    assert [login.username for login in logins] == ["platform-admin"]
    assert bao.written(f"sys/auth/{USERPASS_MOUNT}")[0]["type"] == "userpass"
    entity = bao.entities["platform-admin"]
    assert entity["metadata"] == {"email": ADMIN.email, "name": "Platform Admin"}
    assert entity["aliases"] == [{"mount_accessor": "auth_userpass_1"}]
    password = bao.written(f"auth/{USERPASS_MOUNT}/users/platform-admin")[0]["password"]
    assert password == logins[0].password == bao.kv[sso_kv_path("platform-admin")]["password"]


def test_a_password_user_gets_no_openbao_login_when_seeded() -> None:
    bao = FakeOpenBao()
    assert ensure_sso_logins(bao, "default", [AUTHOR]) == []
    assert bao.writes == [] and bao.kv == {}


def test_the_provider_serves_the_scopes_coder_asks_for_with_email_and_username_claims() -> None:
    bao = FakeOpenBao()
    ensure_sso_logins(bao, "default", [ADMIN])
    assert {"email", "profile"} == set(SCOPES)
    assert bao.written("identity/oidc/provider/default") == [
        {"scopes_supported": ["email", "profile"]}
    ]
    email = json.loads(SCOPES["email"].replace("{{identity.entity.metadata.email}}", '"e"'))
    assert email == {"email": "e", "email_verified": True}
    profile = SCOPES["profile"].replace("{{identity.entity.name}}", '"u"')
    assert json.loads(profile.replace("{{identity.entity.metadata.name}}", '"n"')) == {
        "preferred_username": "u",
        "name": "n",
    }


def test_a_password_once_generated_is_kept_and_no_second_alias_is_made_when_run_again() -> None:
    bao = FakeOpenBao()
    first = ensure_sso_logins(bao, "default", [ADMIN])
    second = ensure_sso_logins(bao, "default", [ADMIN])
    assert first == second
    assert len(bao.written(f"sys/auth/{USERPASS_MOUNT}")) == 1
    assert len(bao.written("identity/entity-alias")) == 1


def test_a_login_repr_and_the_stored_file_keep_the_password_private(tmp_path: Path) -> None:
    login = SsoLogin("platform-admin", str(ADMIN.email), "s3cret-value")
    assert "s3cret-value" not in repr(login)
    path = tmp_path / "sso-logins.json"
    write_logins_file(path, [login], "http://127.0.0.1:1/login")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["logins"] == [
        {"username": "platform-admin", "email": ADMIN.email, "password": "s3cret-value"}
    ]
