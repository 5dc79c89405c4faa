"""CoderSeed's seeded state under mocks: what dev and prod register, in which order, with which
credentials, and that no secret is registered in the clear (the whole graph, C3 and C5)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pulumi
import pytest

from testbed.harness import (
    FAKE_LICENSE,
    FAKE_TOKEN,
    CapturedOptions,
    is_secret,
    load_stack_file,
    reveal,
    run_program,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "pulumi-python:dynamic/coder:CoderTemplate"
USER = "pulumi-python:dynamic/coder:CoderUser"
GROUP = "pulumi-python:dynamic/coder:CoderGroup"
LICENSE = "pulumi-python:dynamic/coder:CoderLicense"
ACCESS = "pulumi-python:dynamic/coder:CoderTemplateAccess"
TEMPLATE_DIRS = sorted(p.name for p in (ROOT / "templates").iterdir() if p.is_dir())


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_template_directory_is_registered_with_its_content_hash(stack: str) -> None:
    mocks = run_program(load_stack_file(stack), stack=stack)
    templates = {r.inputs["name"]: r.inputs for r in mocks.of_type(TEMPLATE)}
    assert sorted(templates) == TEMPLATE_DIRS
    devcontainer = templates["kubernetes-devcontainer"]
    assert devcontainer["directory"] == "templates/kubernetes-devcontainer"
    assert len(devcontainer["directory_hash"]) == 64
    assert devcontainer["display_name"] == "Kubernetes dev container"
    assert devcontainer["variables"] == {"namespace": "coder"}
    assert is_secret(devcontainer["token"]) and reveal(devcontainer["token"]) == FAKE_TOKEN


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_configured_users_are_oidc_owners_with_the_automation_token(stack: str) -> None:
    config = load_stack_file(stack)
    mocks = run_program(config, stack=stack)
    users = {r.inputs["username"]: r.inputs for r in mocks.of_type(USER)}
    assert sorted(users) == sorted(u["username"] for u in config["seeding"]["users"])
    admin = users["platform-admin"]
    assert admin["login_type"] == "oidc" and admin["roles"] == ["owner"]
    assert "coder-automation" not in users, "the automation identity is the first user only"
    for user in users.values():
        assert is_secret(user["token"])
        assert user["on_delete"] == "suspend"


def test_prod_seeds_the_license_from_vault_and_its_group() -> None:
    mocks = run_program(load_stack_file("prod"), stack="prod")
    license_ = mocks.one(LICENSE).inputs
    assert is_secret(license_["license"]) and reveal(license_["license"]) == FAKE_LICENSE
    group = mocks.one(GROUP).inputs
    assert group["name"] == "platform-team"
    assert sorted(group["members"]) == ["platform-admin", "sre-oncall", "template-author"]
    assert group["quota_allowance"] == 10
    everyone = mocks.one("pulumi-python:dynamic/coder:CoderEveryoneGroup").inputs
    assert everyone["quota_allowance"] == 2 and is_secret(everyone["token"])


def test_prod_declares_each_templates_access_the_platform_team_administers() -> None:
    mocks = run_program(load_stack_file("prod"), stack="prod")
    [access] = mocks.of_type(ACCESS)
    assert access.inputs["template"] == "kubernetes-devcontainer"
    assert access.inputs["groups"] == {"platform-team": "admin"}
    assert (access.inputs["users"], access.inputs["everyone"]) == ({}, "use")
    assert is_secret(access.inputs["token"])
    template = mocks.one(TEMPLATE).inputs
    assert template["disable_everyone_group_access"] is False


def test_a_template_closed_to_everyone_is_created_closed() -> None:
    raw = copy.deepcopy(load_stack_file("prod"))
    settings = raw["seeding"]["templates"]["kubernetes-devcontainer"]
    settings["access"] = {"groups": {"platform-team": "use"}, "everyone": "none"}
    mocks = run_program(raw, stack="prod")
    assert mocks.one(TEMPLATE).inputs["disable_everyone_group_access"] is True
    assert mocks.one(ACCESS).inputs["everyone"] == "none"


def test_dev_has_no_license_and_no_groups() -> None:
    mocks = run_program(load_stack_file("dev"), stack="dev")
    assert mocks.of_type(LICENSE) == [] and mocks.of_type(GROUP) == []
    assert mocks.of_type(ACCESS) == [], "no access without the license: not managed"
    assert mocks.of_type("pulumi-python:dynamic/coder:CoderEveryoneGroup") == []


def test_seeded_secrets_are_secret_outputs_in_state() -> None:
    mocks = run_program(load_stack_file("prod"), stack="prod")
    assert "license" in mocks.one(LICENSE).secret_outputs
    for kind in (TEMPLATE, USER, GROUP, LICENSE):
        for resource in mocks.of_type(kind):
            assert "token" in resource.secret_outputs, resource.name


def test_prod_keeps_templates_on_delete_and_dev_does_not() -> None:
    from components.seeding import CoderSeed, CoderSeedArgs
    from testbed.harness import run_component

    options: dict[str, pulumi.ResourceOptions] = {}
    for retain in (True, False):
        capture = CapturedOptions()

        def build(retain: bool = retain, capture: CapturedOptions = capture) -> None:
            from coder_platform.template_sources import discover

            CoderSeed(
                "seed",
                CoderSeedArgs(
                    coder_url="https://coder.corp.internal",
                    admin_email="coder-automation@corp.internal",
                    admin_username="coder-automation",
                    admin_full_name="Automation",
                    admin_password=pulumi.Output.secret("not-shown-Pw-1"),
                    token_name="automation",
                    token_lifetime_hours=336,
                    token_rotation_window_hours=96,
                    templates=discover(ROOT, {}),
                    source_root=str(ROOT),
                    retain_templates_on_delete=retain,
                ),
                opts=pulumi.ResourceOptions(transformations=[capture]),
            )

        run_component(build)
        options[str(retain)] = capture.opts("seed-template-kubernetes-devcontainer")
    assert options["True"].retain_on_delete is True
    assert not options["False"].retain_on_delete


def test_seeded_state_is_created_in_contract_order() -> None:
    """first user -> token -> license -> users -> groups -> templates -> their access."""
    from coder_platform.config.seeded_state import (
        GroupConfig,
        TemplateAccess,
        TemplateSettings,
        UserConfig,
    )
    from coder_platform.template_sources import discover
    from components.seeding import CoderSeed, CoderSeedArgs
    from testbed.harness import run_component

    capture = CapturedOptions()

    def build() -> None:
        CoderSeed(
            "seed",
            CoderSeedArgs(
                coder_url="https://coder.corp.internal",
                admin_email="coder-automation@corp.internal",
                admin_username="coder-automation",
                admin_full_name="Automation",
                admin_password=pulumi.Output.secret("not-shown-Pw-1"),
                token_name="automation",
                token_lifetime_hours=336,
                token_rotation_window_hours=96,
                license=pulumi.Output.secret("license-jwt"),
                users=[UserConfig(username="alice", email="alice@corp.internal")],
                groups=[GroupConfig(name="ops", members=["alice"])],
                templates=discover(
                    ROOT,
                    {
                        "kubernetes-devcontainer": TemplateSettings(
                            access=TemplateAccess(groups={"ops": "admin"}, users={"alice": "use"})
                        )
                    },
                ),
                source_root=str(ROOT),
            ),
            opts=pulumi.ResourceOptions(transformations=[capture]),
        )

    run_component(build)

    def names(child: str) -> set[str]:
        depends_on: Any = capture.opts(child).depends_on or []
        return {d._name for d in depends_on}

    assert "seed-automation-token" in names("seed-license")
    assert {"seed-automation-token", "seed-license"} <= names("seed-user-alice")
    assert "seed-user-alice" in names("seed-group-ops")
    assert {"seed-license", "seed-group-ops"} <= names("seed-template-kubernetes-devcontainer")
    access = names("seed-template-access-kubernetes-devcontainer")
    assert {"seed-license", "seed-group-ops", "seed-user-alice"} <= access


def test_removed_users_policy_reaches_every_user_when_the_stack_says_delete() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["seeding"]["removedUsers"] = "delete"
    mocks = run_program(raw, stack="dev")
    assert {r.inputs["on_delete"] for r in mocks.of_type(USER)} == {"delete"}
