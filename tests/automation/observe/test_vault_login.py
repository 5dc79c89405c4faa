"""The in-cluster Vault login (``automation.observe.dependencies``): with no VAULT_TOKEN and a
service account token, the runner logs in with the reconciler role and hands the token to the
engine's CLI and to the inline program in its own process, which reads os.environ. (The real
login runs in the node tier: a Job from the node stack's reconciler CronJob.)"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from automation.observe import dependencies


class Engine:
    def __init__(self) -> None:
        self.env: dict[str, str] = {}

    def set_env(self, name: str, value: str) -> None:
        self.env[name] = value


def test_the_logged_in_token_reaches_the_cli_and_the_inline_program_when_in_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "token").write_text("service-account-jwt")
    monkeypatch.setattr(dependencies, "SERVICE_ACCOUNT_DIR", tmp_path)
    logins: list[tuple[str, ...]] = []

    def login(address: str, role: str, mount: str, jwt: Path) -> str:
        logins.append((address, role, mount, jwt.read_text()))
        return "vault-client-token"

    monkeypatch.setattr(dependencies, "kubernetes_login", login)
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    redacted: list[str] = []
    engine = Engine()
    session: Any = SimpleNamespace(
        engine=engine,
        redactor=SimpleNamespace(add=lambda *values: redacted.extend(values)),
        report=SimpleNamespace(notes=[]),
    )
    vault = SimpleNamespace(reconciler_role="coder-reconciler", kubernetes_auth_path="kubernetes")
    config: Any = SimpleNamespace(vault=vault)

    token = dependencies._vault_token(session, config, "http://127.0.0.1:18200", {})

    assert token == "vault-client-token"
    assert logins == [
        ("http://127.0.0.1:18200", "coder-reconciler", "kubernetes", "service-account-jwt")
    ]
    assert engine.env == {"VAULT_TOKEN": "vault-client-token"}
    assert os.environ["VAULT_TOKEN"] == "vault-client-token"
    assert redacted == ["vault-client-token"]
    assert session.report.notes == ["logged in to Vault with Kubernetes auth role coder-reconciler"]


def test_an_exported_token_is_used_as_it_is_without_a_login(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dependencies, "kubernetes_login", lambda *_: pytest.fail("logged in"))
    session: Any = SimpleNamespace(engine=Engine())
    config: Any = SimpleNamespace()

    token = dependencies._vault_token(session, config, "http://v", {"VAULT_TOKEN": "exported"})

    assert token == "exported"
    assert session.engine.env == {}
