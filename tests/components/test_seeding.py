"""CoderSeed: the automation identity, its rotating token, and the token published to Vault."""

from __future__ import annotations

import copy
import json

import pytest

from coder_platform.config import ConfigError, load_config
from testbed.harness import (
    FAKE_ADMIN_PASSWORD,
    FAKE_TOKEN,
    is_secret,
    load_stack_file,
    reveal,
    run_program,
)

FIRST_USER = "pulumi-python:dynamic/coder:CoderFirstUser"
TOKEN = "pulumi-python:dynamic/coder:CoderApiToken"
SECRET_V2 = "vault:kv/secretV2:SecretV2"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_first_user_is_the_automation_identity_from_vault(stack: str) -> None:
    mocks = run_program(load_stack_file(stack), stack=stack)
    user = mocks.one(FIRST_USER).inputs
    assert user["email"] == "coder-automation@corp.internal"
    assert user["username"] == "coder-automation"
    assert user["url"] == load_stack_file(stack)["coder"]["accessUrl"]
    assert is_secret(user["password"])
    assert reveal(user["password"]) == FAKE_ADMIN_PASSWORD


@pytest.mark.parametrize(("stack", "lifetime"), [("dev", 336), ("prod", 240)])
def test_token_is_minted_for_the_identity_with_its_rotation_window(
    stack: str, lifetime: int
) -> None:
    mocks = run_program(load_stack_file(stack), stack=stack)
    token = mocks.one(TOKEN).inputs
    assert token["username"] == "coder-automation"
    assert token["token_name"] == "coder-platform-automation"
    assert token["lifetime_hours"] == lifetime
    assert token["rotation_window_hours"] == 96
    assert is_secret(token["password"])


def test_token_is_published_to_vault_kv_as_a_secret() -> None:
    mocks = run_program(load_stack_file("dev"), stack="dev")
    published = mocks.one(SECRET_V2).inputs
    assert published["mount"] == "platform"
    assert published["name"] == "coder/coder-cli-session-token"
    assert is_secret(published["dataJson"])
    assert json.loads(reveal(published["dataJson"])) == {"token": FAKE_TOKEN}


def test_stack_without_vault_seeds_but_publishes_nothing() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["environment"] = "e2e"
    raw["vault"] = {"enabled": False}
    raw["reconciler"]["passphraseSecret"] = {"name": "pulumi-passphrase", "key": "passphrase"}
    raw["reconciler"].pop("secretsProvider")
    raw["localSecrets"] = {
        "oidcClientSecret": "e2e-oidc-secret",
        "bootstrapAdminEmail": "automation@e2e.test",
        "bootstrapAdminUsername": "coder-automation",
        "bootstrapAdminPassword": "e2e-admin-password",
    }
    mocks = run_program(raw, stack="e2e")
    assert mocks.one(FIRST_USER).inputs["email"] == "automation@e2e.test"
    assert mocks.of_type(SECRET_V2) == []


def issues(raw: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    return [str(issue) for issue in caught.value.issues]


def test_token_longer_than_the_admin_cap_is_refused_before_deploying() -> None:
    raw = copy.deepcopy(load_stack_file("prod"))
    raw["seeding"]["tokenLifetimeHours"] = 720  # prod's cap is 336h
    [problem] = issues(raw)
    assert problem.startswith("coder-platform:seeding.tokenLifetimeHours: exceeds")


def test_rotation_window_must_be_shorter_than_the_lifetime() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["seeding"]["tokenRotationWindowHours"] = 336
    [problem] = issues(raw)
    assert problem.startswith("coder-platform:seeding.tokenRotationWindowHours: must be less")


def test_token_must_outlive_two_reconcile_intervals() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["reconciler"]["intervalMinutes"] = 1440
    raw["seeding"]["tokenLifetimeHours"] = 24
    raw["seeding"]["tokenRotationWindowHours"] = 12
    found = issues(raw)
    assert any(
        p.startswith("coder-platform:seeding.tokenLifetimeHours: must be at least") for p in found
    )
    assert any(
        p.startswith("coder-platform:seeding.tokenRotationWindowHours: must be at least")
        for p in found
    )


def test_seeding_without_coder_is_refused() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    del raw["coder"]
    [problem] = issues(raw)
    assert problem.startswith("coder-platform:seeding.enabled: needs coder.enabled")


def test_first_user_waits_for_the_coder_release() -> None:
    import pulumi

    from components.seeding import CoderSeed, CoderSeedArgs
    from testbed.harness import CapturedOptions, run_component

    capture = CapturedOptions()
    release: list[pulumi.Resource] = []

    def build() -> None:
        release.append(pulumi.CustomResource("test:index:Release", "coder-release", {}))
        CoderSeed(
            "seed",
            CoderSeedArgs(
                coder_url="https://coder.corp.internal",
                admin_email="coder-automation@corp.internal",
                admin_username="coder-automation",
                admin_full_name="Automation",
                admin_password=pulumi.Output.secret("s3cret-not-shown"),
                token_name="automation",
                token_lifetime_hours=336,
                token_rotation_window_hours=96,
            ),
            opts=pulumi.ResourceOptions(transformations=[capture], depends_on=list(release)),
        )

    run_component(build)
    depends_on = capture.opts("seed-first-user").depends_on
    assert isinstance(depends_on, list)
    assert release[0] in depends_on
