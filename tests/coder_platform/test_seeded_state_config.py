"""Seeded-state config (templates, users, groups, license): every bad key named, at once.

Contract C1: a stack that would seed the wrong users or publish a template directory that is
not one fails before anything is registered, with the key to change; C5: no secret in config.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from coder_platform.coder_api.templates import LIFECYCLE_SETTINGS
from coder_platform.config import ConfigError, VaultConfig, load_config
from coder_platform.config.seeded_state import (
    LIFECYCLE_FIELDS,
    LicenseConfig,
    TemplateSettings,
    UserConfig,
)
from coder_platform.template_sources import discover
from coder_platform.vault_inputs import required_paths
from testbed.harness import load_stack_file

ALICE = {"username": "alice", "email": "alice@corp.internal", "roles": ["owner"]}


def dev(**seeding: Any) -> dict[str, Any]:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["seeding"] = {**raw.get("seeding", {}), **seeding}
    return raw


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    return [str(issue) for issue in caught.value.issues]


def test_people_default_to_oidc_users_when_no_login_type_is_given() -> None:
    config = load_config(dev(users=[ALICE]))
    assert config.seeding is not None
    [alice] = config.seeding.users
    assert alice.login_type == "oidc" and alice.roles == ["owner"]
    assert config.seeding.removed_users == "suspend"


def test_list_items_are_named_with_their_index_when_a_user_field_is_bad() -> None:
    found = problems(dev(users=[ALICE, {"username": "bob", "email": "not-an-email"}]))
    assert [p.split(": ")[0] for p in found] == ["coder-platform:seeding.users[1].email"]
    assert "Allowed: an email address" in found[0]


def test_unknown_role_is_named_with_the_allowed_roles_when_misspelled() -> None:
    [found] = problems(dev(users=[{**ALICE, "roles": ["admin"]}]))
    assert found.startswith("coder-platform:seeding.users[0].roles[0]: ")
    assert "template-admin" in found


def test_password_users_need_a_vault_path_and_others_may_not_have_one() -> None:
    found = problems(
        dev(
            users=[
                {**ALICE, "loginType": "password"},
                {"username": "bob", "email": "b@corp.internal", "passwordPath": "coder/bob"},
            ]
        )
    )
    keys = {p.split(": ")[0] for p in found}
    assert keys == {
        "coder-platform:seeding.users[0].passwordPath",
        "coder-platform:seeding.users[1].passwordPath",
    }


def test_duplicates_and_unknown_members_are_each_named_when_declared() -> None:
    found = problems(
        dev(
            users=[ALICE, {**ALICE, "username": "ALICE"}],
            groups=[
                {"name": "ops", "members": ["alice", "carol"]},
                {"name": "ops"},
            ],
        )
    )
    text = "\n".join(found)
    assert "coder-platform:seeding.users: username 'alice' is declared 2 times" in text
    assert "coder-platform:seeding.groups: group 'ops' is declared 2 times" in text
    assert "coder-platform:seeding.groups[0].members: names users" in text and "carol" in text


def test_service_account_cannot_be_an_owner_when_declared() -> None:
    alice = {key: value for key, value in ALICE.items() if key != "email"}
    [found] = problems(dev(users=[{**alice, "loginType": "none"}]))
    assert found.startswith("coder-platform:seeding.users[0].roles: ")


def test_a_service_account_has_no_email_and_every_other_user_one_when_declared() -> None:
    [with_email] = problems(dev(users=[{**ALICE, "loginType": "none", "roles": []}]))
    assert with_email.startswith("coder-platform:seeding.users[0].email: a service account")
    no_email = {key: value for key, value in ALICE.items() if key != "email"}
    [missing] = problems(dev(users=[no_email]))
    assert missing == "coder-platform:seeding.users[0].email: is required for loginType oidc"
    config = load_config(dev(users=[{**no_email, "loginType": "none", "roles": []}]))
    assert config.seeding is not None and config.seeding.users[0].email is None


def test_license_and_passwords_need_vault_when_vault_is_off() -> None:
    raw = dev(
        license={"vaultPath": "coder/license"},
        users=[{**ALICE, "loginType": "password", "passwordPath": "coder/alice"}],
    )
    raw["vault"] = {**raw["vault"], "enabled": False}
    keys = {p.split(": ")[0] for p in problems(raw)}
    assert "coder-platform:seeding.license.vaultPath" in keys
    assert "coder-platform:seeding.users[0].passwordPath" in keys


def test_vault_reads_the_license_and_each_password_path_once_when_configured() -> None:
    config = load_config(
        dev(
            users=[
                {**ALICE, "loginType": "password", "passwordPath": "coder/pw"},
                {"username": "bob", "email": "b@corp.internal", "passwordPath": "coder/pw"},
            ][:1],
            license={"vaultPath": "coder/license"},
        )
    )
    paths = required_paths(config.vault, config.seeding)
    assert ("coder/license", ("license",)) in paths
    assert ("coder/pw", ("password",)) in paths
    assert len(paths) == len(set(paths))


def test_required_paths_are_only_the_bootstrap_ones_without_seeded_secrets() -> None:
    assert [path for path, _ in required_paths(VaultConfig(), None)] == [
        "coder/oidc",
        "coder/bootstrap-admin",
    ]


def template_dir(root: Path, name: str, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / "templates" / name / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_every_template_directory_is_published_with_its_settings_and_hash(tmp_path: Path) -> None:
    template_dir(tmp_path, "alpha", {"main.tf": "# alpha"})
    template_dir(tmp_path, "beta", {"main.tf": "# beta", "README.md": "hi"})
    sources = discover(tmp_path, {"beta": TemplateSettings(display_name="Beta")})
    assert [(s.name, s.directory) for s in sources] == [
        ("alpha", "templates/alpha"),
        ("beta", "templates/beta"),
    ]
    assert sources[1].settings.display_name == "Beta"
    assert sources[0].settings == TemplateSettings()
    assert len({s.content_hash for s in sources}) == 2


def test_settings_for_a_missing_directory_and_a_directory_without_terraform_are_named(
    tmp_path: Path,
) -> None:
    template_dir(tmp_path, "docs-only", {"README.md": "no terraform here"})
    template_dir(tmp_path, "Bad_Name", {"main.tf": "#"})
    with pytest.raises(ConfigError) as caught:
        discover(tmp_path, {"ghost": TemplateSettings()})
    text = str(caught.value)
    assert "coder-platform:seeding.templates.ghost: names no directory under templates/" in text
    assert "coder-platform:seeding.templates.docs-only: " in text and ".tf" in text
    assert "coder-platform:seeding.templates.Bad_Name: " in text


def test_the_repository_templates_are_publishable_when_discovered() -> None:
    root = Path(__file__).resolve().parents[2]
    names = [source.name for source in discover(root, {})]
    assert "kubernetes-devcontainer" in names


def test_config_models_hold_no_secret_values() -> None:
    for model in (UserConfig, LicenseConfig, TemplateSettings):
        for name, field in model.model_fields.items():
            assert field.annotation is not SecretStr, f"{model.__name__}.{name}"


def test_template_lifecycle_settings_are_coderds_and_only_declared_ones_are_managed() -> None:
    settings = TemplateSettings.model_validate(
        {"allowUserCancelWorkspaceJobs": False, "failureTtlMs": 3_600_000}
    )
    assert settings.lifecycle() == {
        "allow_user_cancel_workspace_jobs": False,
        "failure_ttl_ms": 3_600_000,
    }
    assert TemplateSettings().lifecycle() == {}
    assert tuple(setting.name for setting in LIFECYCLE_SETTINGS) == LIFECYCLE_FIELDS
    with pytest.raises(ValidationError, match="at least one minute"):
        TemplateSettings.model_validate({"timeTilDormantMs": 1000})


def test_template_access_names_undeclared_groups_and_users_and_needs_the_license() -> None:
    access = {"groups": {"ops": "admin"}, "users": {"bob": "use"}, "everyone": "none"}
    found = problems(dev(users=[ALICE], templates={"kubernetes-devcontainer": {"access": access}}))
    text = "\n".join(found)
    key = "coder-platform:seeding.templates.kubernetes-devcontainer.access"
    assert f"{key}.groups: names groups this stack does not declare" in text and "ops" in text
    assert f"{key}.users: names users this stack does not declare" in text and "bob" in text
    assert f"{key}: needs seeding.license.vaultPath" in text


def test_template_access_roles_are_coders_when_misspelled() -> None:
    found = problems(
        dev(templates={"kubernetes-devcontainer": {"access": {"groups": {"ops": "owner"}}}})
    )
    assert any(
        p.startswith("coder-platform:seeding.templates.kubernetes-devcontainer.access.groups")
        for p in found
    ), found


def test_template_access_is_unset_and_everyone_uses_when_not_declared() -> None:
    assert TemplateSettings().access is None
    access = TemplateSettings.model_validate({"access": {}}).access
    assert access is not None and (access.everyone, access.groups) == ("use", {})


def test_schedule_settings_map_to_coderds_names_when_declared() -> None:
    settings = TemplateSettings.model_validate(
        {
            "autostopRequirement": {"daysOfWeek": ["sunday"], "weeks": 2},
            "autostartPermittedDaysOfWeek": ["monday", "tuesday"],
            "maxPortShareLevel": "organization",
        }
    )
    assert settings.lifecycle() == {
        "autostop_requirement": {"days_of_week": ["sunday"], "weeks": 2},
        "autostart_requirement": {"days_of_week": ["monday", "tuesday"]},
        "max_port_share_level": "organization",
    }


@pytest.mark.parametrize(
    "raw",
    [
        {"autostopRequirement": {"daysOfWeek": ["sunday"], "weeks": 17}},
        {"autostopRequirement": {"daysOfWeek": ["sunday", "sunday"]}},
        {"autostartPermittedDaysOfWeek": ["someday"]},
        {"maxPortShareLevel": "everyone"},
    ],
)
def test_schedule_settings_are_refused_as_coderd_refuses_them(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TemplateSettings.model_validate(raw)


def test_the_everyone_quota_needs_the_license_and_is_never_negative() -> None:
    [found] = problems(dev(everyoneQuotaAllowance=3))
    assert found.startswith("coder-platform:seeding.everyoneQuotaAllowance: needs seeding.license")
    [negative] = problems(dev(everyoneQuotaAllowance=-1))
    assert negative.startswith("coder-platform:seeding.everyoneQuotaAllowance")
