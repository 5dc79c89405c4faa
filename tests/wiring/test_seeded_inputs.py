"""Checks on config plus the secrets read for it: they stop a run before any Coder write (C1)."""

from __future__ import annotations

import base64
import copy
import json

import pulumi
import pytest
from pydantic import SecretStr

from coder_platform.config import ConfigError, load_config
from coder_platform.contracts import CODER_GROUP_TYPE
from coder_platform.vault_inputs import BootstrapInputs
from testbed.harness import FAKE_LICENSE, load_stack_file, run_program, vault_data
from wiring.seeded_inputs import check_seeded_inputs


def jwt(claims: dict[str, object]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJFZERTQSJ9.{payload}.sig-not-checked"


def inputs(license_: str | None = FAKE_LICENSE) -> BootstrapInputs:
    return BootstrapInputs(
        oidc_client_secret=SecretStr("oidc-Secret-1"),
        admin_email="coder-automation@corp.internal",
        admin_username="coder-automation",
        admin_password=SecretStr("admin-Pw-123"),
        license=SecretStr(license_) if license_ else None,
    )


def seeded_groups(license_: str) -> list[str]:
    """The groups the prod program registers when Vault holds this license."""
    config = load_stack_file("prod")
    vault = vault_data(config)
    license_path = f"{config['vault']['kvMount']}/{config['seeding']['license']['vaultPath']}"
    vault[license_path] = {"license": license_}
    mocks = run_program(config, stack="prod", vault=vault)
    return sorted(r.inputs["name"] for r in mocks.of_type(CODER_GROUP_TYPE))


def test_prod_registers_its_groups_when_its_license_grants_template_rbac() -> None:
    config = load_config(load_stack_file("prod"))
    assert config.seeding is not None and config.seeding.groups
    want = sorted(group.name for group in config.seeding.groups)

    assert seeded_groups(FAKE_LICENSE) == want


def test_a_license_without_template_rbac_is_named_and_never_shown_when_groups_are_seeded() -> None:
    basic = jwt({"features": {"user_limit": 10}})
    with pytest.raises(ConfigError) as caught:
        check_seeded_inputs(load_config(load_stack_file("prod")), inputs(basic))
    [issue] = caught.value.issues
    assert issue.key == "seeding.license.vaultPath"
    assert "template_rbac" in issue.message and "seeding.groups" in issue.message
    assert "seeding.templates.kubernetes-devcontainer.access" in issue.message
    assert "seeding.everyoneQuotaAllowance" in issue.message
    assert basic not in str(caught.value)


def test_prod_registers_its_groups_when_the_license_grants_all_features() -> None:
    everything = jwt({"all_features": True})
    config = load_config(load_stack_file("prod"))
    assert config.seeding is not None

    assert seeded_groups(everything) == sorted(group.name for group in config.seeding.groups)


def test_groups_without_a_configured_license_are_a_config_error() -> None:
    raw = copy.deepcopy(load_stack_file("prod"))
    del raw["seeding"]["license"]
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    assert sorted(i.key for i in caught.value.issues) == [
        "seeding.everyoneQuotaAllowance",
        "seeding.groups",
        "seeding.templates.kubernetes-devcontainer.access",
    ]


def test_the_automation_identity_as_a_seeded_user_stops_the_program_before_registering() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["seeding"]["users"].append(
        {"username": "coder-automation", "email": "x@corp.internal", "roles": ["owner"]}
    )
    with pytest.raises(pulumi.RunError) as caught:
        run_program(raw, stack="dev")
    text = str(caught.value)
    assert "coder-platform:seeding.users[2].username: is the automation identity" in text


def test_a_license_without_service_accounts_is_named_when_a_service_account_is_seeded() -> None:
    raw = copy.deepcopy(load_stack_file("prod"))
    raw["seeding"]["users"].append({"username": "ci-bot", "loginType": "none", "roles": []})
    config = load_config(raw)
    rbac_only = jwt({"features": {"template_rbac": 1}})
    with pytest.raises(ConfigError) as caught:
        check_seeded_inputs(config, inputs(rbac_only))
    [issue] = caught.value.issues
    assert issue.key == "seeding.license.vaultPath"
    assert "service_accounts" in issue.message and "loginType none" in issue.message
    assert rbac_only not in str(caught.value)
    both = jwt({"features": {"template_rbac": 1, "service_accounts": 1}})
    check_seeded_inputs(config, inputs(both))
