"""No secret reaches a report, a progress line or an error line (contract C2).

Every run below feeds secrets to the runner the ways a real run meets them (secret config,
environment tokens, engine diagnostics and policy messages that echo values, failing updates
that quote credentials) and then searches everything it printed and wrote.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from automation.engine.protocol import PolicySettings
from automation.errors import UpdateFailedError
from automation.execute import OutputMode
from automation.observe.dependencies import remember_vault_inputs
from automation.reconcile import ReconcileOptions, reconcile
from automation.reporting.events import PolicyFinding
from coder_platform.config import load_config
from coder_platform.contracts import ExitCode
from coder_platform.redaction import REDACTED, Redactor
from testbed.harness import (
    FAKE_ADMIN_PASSWORD,
    FAKE_LICENSE,
    FAKE_OIDC_SECRET,
    FAKE_PASSWORD,
    FAKE_USER_PASSWORD,
    InMemoryKv,
    load_stack_file,
    vault_data,
)
from tests.automation import state_fixture as fx
from tests.automation.fakes import SECRET_CONFIG_VALUE, FakeDependencies, converged_world
from tests.automation.runs import FAKE_PASSPHRASE, FAKE_VAULT_TOKEN, Captured, run

OPTIONS = ReconcileOptions(policy=PolicySettings(Path("policy")), dependency_deadline_seconds=5)


def leaking_diagnostics(coder_token: str) -> list[str]:
    return [
        f"kubeconfig rejected: {SECRET_CONFIG_VALUE}",
        f"vault: permission denied for token {FAKE_VAULT_TOKEN}",
        f"decrypt failed with passphrase {FAKE_PASSPHRASE}",
        f"coderd: POST /users/first body password={FAKE_ADMIN_PASSWORD}",
        f"coderd: request header Coder-Session-Token: {coder_token}",
        f"token {coder_token} expired",
        f"cnpg: dial postgres://coder:{FAKE_PASSWORD}@coder-db-rw:5432/coder failed",
        'state: {"plaintext": "super-secret-value"}',
    ]


def assert_no_secret(captured: Captured, secrets: list[str]) -> None:
    text = captured.everything
    assert text, "nothing captured"
    for secret in secrets:
        assert secret not in text, f"a secret leaked ({secret[:4]}...)"


@pytest.mark.parametrize("output", ["json", "human"])
def test_no_secret_in_report_or_log_when_a_reset_is_healed(
    tmp_path: Path, output: OutputMode
) -> None:
    engine, site = converged_world()
    token = engine.vault["platform/coder/coder-cli-session-token"]
    site.coder.wipe()
    engine.extra_diagnostics = leaking_diagnostics(token)
    engine.drift = {fx.DB_SECRET: ("data",)}
    engine.policy_findings = [
        PolicyFinding(
            "coder-platform",
            "no-literal-secrets",
            "advisory",
            f"env CODER_PG_CONNECTION_URL=postgres://coder:{FAKE_PASSWORD}@db/coder",
        )
    ]

    captured = run(
        engine, lambda s: reconcile(s, OPTIONS, FakeDependencies(site)), tmp_path, output=output
    )

    assert captured.report.exit_code == ExitCode.HEALED
    secrets = [
        SECRET_CONFIG_VALUE,
        FAKE_VAULT_TOKEN,
        FAKE_PASSPHRASE,
        FAKE_ADMIN_PASSWORD,
        FAKE_PASSWORD,
        token,
        "super-secret-value",
        *site.coder.secrets_seen(),
        engine.vault["platform/coder/coder-cli-session-token"],
    ]
    assert_no_secret(captured, secrets)
    assert REDACTED in captured.everything  # the diagnostics did arrive, redacted


def test_no_secret_in_the_final_error_line_when_the_update_quotes_a_credential(
    tmp_path: Path,
) -> None:
    engine, site = converged_world()
    engine.drift = {fx.CODER_RELEASE: ("values",)}
    engine.fail_up = UpdateFailedError(
        "pulumi up failed (CLI exit 4): helm: values.env CODER_OIDC_CLIENT_SECRET: "
        f"{SECRET_CONFIG_VALUE} rejected; X-Vault-Token: {FAKE_VAULT_TOKEN}",
        "Read the report's diagnostics",
        4,
    )

    captured = run(engine, lambda s: reconcile(s, OPTIONS, FakeDependencies(site)), tmp_path)

    assert captured.report.exit_code == ExitCode.UPDATE_FAILED
    last = captured.stderr.strip().splitlines()[-1]
    assert "helm: values.env" in last
    assert_no_secret(captured, [SECRET_CONFIG_VALUE, FAKE_VAULT_TOKEN])


def test_redactor_masks_when_text_holds_known_values_or_credential_shapes() -> None:
    redact = Redactor(["known-value-123"])
    cases = {
        "the known-value-123 leaked": "known-value-123",
        "Authorization: Bearer eyJhbGciOi.payload.sig": "eyJhbGciOi",
        "X-Vault-Token: s.abcdefghijklmnopqrstuvwx": "s.abcdefghijklmnopqrstuvwx",
        "hvs.CAESIJabcdefghijklmnopqrstuvwxyz0123": "hvs.CAESIJ",
        "password=hunter2hunter2": "hunter2hunter2",
        '"client_secret": "abcd1234efgh"': "abcd1234efgh",
        "https://user:pa55word@example.test/x": "pa55word",
        '{"plaintext":"s3cr3t-plain"}': "s3cr3t-plain",
        "a1b2c3d4e5-0123456789abcdef012345": "0123456789abcdef012345",
    }
    for text, secret in cases.items():
        assert secret not in redact(text), text


def test_redactor_leaves_text_alone_when_it_holds_urns_and_setting_names() -> None:
    redact = Redactor()
    for text in (
        fx.API_TOKEN,
        fx.PUBLISHED_TOKEN,
        "token_name=reconciler",
        "secretKeyRef: {name: pulumi-passphrase}",
        "coder-platform:vault.cliTokenPath: coder/coder-cli-session-token",
    ):
        assert redact(text) == text


def test_redactor_knows_values_when_environment_names_look_secret() -> None:
    redact = Redactor.from_environment(
        {
            "VAULT_TOKEN": "tok-from-env-1",
            "AZURE_CLIENT_SECRET": "azure-secret-2",
            "PULUMI_BACKEND_URL": "azblob://state",
            "HOME": "/home/runner",
        }
    )
    assert redact("tok-from-env-1 azure-secret-2 azblob://state /home/runner") == (
        f"{REDACTED} {REDACTED} azblob://state /home/runner"
    )


def test_every_secret_the_program_reads_from_vault_is_redacted_when_the_runner_observes() -> None:
    raw = load_stack_file("dev")
    raw["seeding"]["license"] = {"vaultPath": "coder/license"}
    raw["seeding"]["users"] = [
        {
            "username": "bob",
            "email": "b@corp.internal",
            "loginType": "password",
            "passwordPath": "coder/bob",
        }
    ]
    config = load_config(raw)
    redactor = Redactor()
    text = (
        f"oidc {FAKE_OIDC_SECRET} admin {FAKE_ADMIN_PASSWORD} user {FAKE_USER_PASSWORD} "
        f"license {FAKE_LICENSE} by coder-automation@corp.internal"
    )

    remember_vault_inputs(redactor, config, InMemoryKv(vault_data(raw)))

    assert redactor(text) == (
        f"oidc {REDACTED} admin {REDACTED} user {REDACTED} license {REDACTED} "
        "by coder-automation@corp.internal"
    )


def test_a_bare_jwt_is_redacted_when_nothing_names_it_a_token() -> None:
    service_account = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl"

    assert Redactor()(f"login failed for {service_account} (403)") == (
        f"login failed for {REDACTED} (403)"
    )
    assert Redactor()(f"license {FAKE_LICENSE}") == f"license {REDACTED}"
