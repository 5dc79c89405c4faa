"""No violation message ever contains a secret value (C2: secrets are never printed).

Policies receive secrets as plaintext (the SDK unwraps them), so this feeds the whole pack the
repo's stacks (with the harness's fake database, OIDC and admin secrets) plus resources that put
secret values exactly where policies report: literal secret env vars, placeholder-looking
passwords, misplaced Vault secrets, a person as Coder's first user, an over-long token.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from testbed.harness import SECRET_VALUES
from testbed.policy_engine import Resource, engine_props, load_pack_config, run_pack
from testbed.policy_stacks import stack_resources

SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

OIDC_SECRET = "Zq8~oidc-Client-Secret-5c1e"
DB_PASSWORD = "changeme-Db-Pw-91ac44"
API_TOKEN = "tok-3b91f0c2d8e47a65-example.com"
PERSON = "alice-TODO-admin-7e2d"
SECRETS = (*SECRET_VALUES, OIDC_SECRET, DB_PASSWORD, API_TOKEN, PERSON)


def secret(value: Any) -> dict[str, Any]:
    """A value the engine marks secret, as the analyzer receives it."""
    return {SIG: SECRET_SIG, "value": value}


LEAKY = [
    Resource(
        "kubernetes:helm.sh/v3:Release",
        "leaky-release",
        {
            "chart": "coder",
            "version": "2.36",
            "values": {
                "coder": {
                    "env": [
                        {"name": "CODER_OIDC_CLIENT_SECRET", "value": secret(OIDC_SECRET)},
                        {"name": "CODER_DISABLE_PASSWORD_AUTH", "value": "true"},
                        {"name": "CODER_MAX_ADMIN_TOKEN_LIFETIME", "value": "168h"},
                    ]
                },
                "postgres": {"password": secret(DB_PASSWORD)},
            },
        },
    ),
    Resource(
        "kubernetes:apps/v1:Deployment",
        "leaky-deployment",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "ghcr.io/corp/app",
                                "env": [{"name": "PGPASSWORD", "value": secret(DB_PASSWORD)}],
                            }
                        ]
                    }
                }
            }
        },
    ),
    Resource(
        "kubernetes:core/v1:Secret",
        "placeholder-secret",
        {"stringData": secret({"password": DB_PASSWORD, "token": API_TOKEN})},
    ),
    Resource(
        "vault:kv/secretV2:SecretV2",
        "misplaced-token",
        {
            "mount": "secret",
            "name": "elsewhere/token",
            "dataJson": secret(json.dumps({"token": API_TOKEN, "password": DB_PASSWORD})),
        },
    ),
    Resource(
        "pulumi-python:dynamic/coder:CoderFirstUser",
        "first-user",
        {"username": secret(PERSON), "email": "x@corp.internal", "password": secret(DB_PASSWORD)},
    ),
    Resource(
        "coderd:index/user:User",
        "person-owner",
        {"username": secret(PERSON), "roles": ["owner"], "loginType": "password"},
    ),
    Resource(
        "pulumi-python:dynamic/coder:CoderApiToken",
        "automation-token",
        {"token": secret(API_TOKEN), "lifetime_hours": 720, "password": secret(DB_PASSWORD)},
    ),
]


def test_policies_see_secrets_in_plaintext_when_the_engine_unwraps_them() -> None:
    props = engine_props(LEAKY[2].props)
    assert props["stringData"]["password"] == DB_PASSWORD


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_message_contains_a_secret_when_secrets_sit_where_policies_report(stack: str) -> None:
    violations = run_pack([*stack_resources(stack), *LEAKY], stack, load_pack_config(stack))
    reporting = {violation.policy for violation in violations}
    assert reporting >= {
        "no-literal-secrets",
        "no-placeholders",
        "vault-paths",
        "coder-admin-oidc",
        "token-rotation",
        "pinned-charts",
    }
    for violation in violations:
        for value in SECRETS:
            assert value not in violation.message, f"{violation.policy} echoed a secret"
