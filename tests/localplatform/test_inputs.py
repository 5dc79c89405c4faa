"""Seeding the stack's bootstrap inputs into the local OpenBao: only what is missing, never a
value printed or overwritten, at the paths the stack's own config names."""

from __future__ import annotations

from pathlib import Path

import yaml

from localplatform.inputs import AUTOMATION_USERNAME, seed_missing_inputs, stack_vault_paths
from localplatform.openbao import OidcClient


class FakeKv:
    def __init__(self, data: dict[str, dict[str, str]] | None = None) -> None:
        self.data = dict(data or {})

    def read_kv(self, path: str) -> dict[str, str] | None:
        return self.data.get(path)

    def write_kv(self, path: str, data: dict[str, str]) -> None:
        self.data[path] = data


def _stack(tmp_path: Path, config: dict[str, object]) -> Path:
    path = tmp_path / "Pulumi.local.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def test_every_input_is_written_when_the_store_is_empty(tmp_path: Path) -> None:
    stack = _stack(
        tmp_path,
        {
            "coder-platform:seeding": {
                "users": [{"username": "dev-pw", "passwordPath": "coder/users/dev-pw"}]
            }
        },
    )
    kv = FakeKv()
    oidc = OidcClient("http://127.0.0.1:1/v1/identity/oidc/provider/default", "cid", "csecret")
    written = seed_missing_inputs(kv, stack, oidc)
    assert written == ["coder/oidc", "coder/bootstrap-admin", "coder/users/dev-pw"]
    assert kv.data["coder/oidc"] == {"client_secret": "csecret", "client_id": "cid"}
    admin = kv.data["coder/bootstrap-admin"]
    assert admin["username"] == AUTOMATION_USERNAME
    assert len(admin["password"]) >= 24
    assert len(kv.data["coder/users/dev-pw"]["password"]) >= 24


def test_existing_inputs_are_never_overwritten_when_seeding_again(tmp_path: Path) -> None:
    stack = _stack(tmp_path, {})
    kept = {"email": "a@b.c", "username": "someone", "password": "kept-as-is-123456"}
    kv = FakeKv({"coder/bootstrap-admin": kept})
    assert seed_missing_inputs(kv, stack, None) == ["coder/oidc"]
    assert kv.data["coder/bootstrap-admin"] == kept


def test_paths_follow_the_stack_config_when_it_moves_them(tmp_path: Path) -> None:
    stack = _stack(
        tmp_path,
        {
            "coder-platform:vault": {
                "oidcClientSecretPath": "x/oidc",
                "bootstrapAdminPath": "x/admin",
            }
        },
    )
    assert stack_vault_paths(stack) == {"oidc": "x/oidc", "admin": "x/admin"}
