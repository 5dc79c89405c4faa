"""coder-admin-oidc (the contract's /setup section): in SSO-only stacks, humans log in with OIDC.

/setup: "In SSO-only deployments ... the seeded admin user's login_type is oidc (not password),
otherwise Keycloak login for that identity fails". Coder keeps password login for Owners when it is
disabled for everyone else, and has no API to convert a password user to OIDC, so:
every human Owner (a coderd User, or this project's own ``CoderUser``, with the owner role) has
login type ``oidc``, and only the
dedicated automation identity, Coder's first user, may be a password-typed Owner. The pack's
``ssoOnly`` setting must agree with the Coder release's ``CODER_DISABLE_PASSWORD_AUTH``, so a
stack cannot drift out of this check unnoticed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from ...lib import coder_release
from ...lib.messages import subject, violation
from ...lib.props import as_list, as_text
from ...lib.resources import CODER_FIRST_USER, CODER_USER, CODERD_USER
from ...lib.settings import read_bool, read_texts, strings

NAME = "coder-admin-oidc"
CLAUSES = "/setup (Coder first user, SSO-only login type)"
OWNER = "owner"
OIDC = "oidc"
# coderd_user's login_type defaults to password; this project's CoderUser defaults to oidc and
# names its properties in snake_case (a dynamic provider's inputs are stored as given).
DEFAULT_LOGIN_TYPE = {CODERD_USER: "password", CODER_USER: "oidc"}
LOGIN_TYPE_KEY = {CODERD_USER: "loginType", CODER_USER: "login_type"}

SCHEMA = PolicyConfigSchema(
    properties={
        "ssoOnly": {
            "type": "boolean",
            "default": True,
            "description": "the stack disables password login (CODER_DISABLE_PASSWORD_AUTH)",
        },
        "automationUsernames": strings(
            "usernames of the dedicated automation identity (the only password-typed Owner)",
            ["coder-automation"],
        ),
    }
)


def is_owner(props: Mapping[str, Any]) -> bool:
    return any(as_text(role) == OWNER for role in as_list(props.get("roles")) or [])


def user_problem(
    resource_type: str, props: Mapping[str, Any], automation: list[str]
) -> tuple[str, str] | None:
    if not is_owner(props) or as_text(props.get("username")) in automation:
        return None
    login_type = as_text(props.get(LOGIN_TYPE_KEY[resource_type]))
    if (login_type or DEFAULT_LOGIN_TYPE[resource_type]) == OIDC:
        return None
    return (
        "a human Owner (roles contains owner) whose loginType is not oidc in an SSO-only stack, "
        "so SSO login fails with 'Incorrect login type'",
        'set loginType: "oidc" (Coder cannot convert a user: the User is replaced); only the '
        f"automation identity listed in {NAME}.automationUsernames may log in with a password",
    )


def first_user_problem(props: Mapping[str, Any], automation: list[str]) -> tuple[str, str] | None:
    if as_text(props.get("username")) in automation:
        return None
    return (
        "Coder's first user (a password-typed Owner) is not the dedicated automation identity",
        "seed the first user from the automation identity's bootstrap secret, or list its "
        f"username in {NAME}.automationUsernames if it is that identity",
    )


def release_problem(props: Mapping[str, Any], sso_only: bool) -> tuple[str, str] | None:
    if coder_release.sso_only(props) == sso_only:
        return None
    flag = coder_release.DISABLE_PASSWORD_AUTH
    if sso_only:
        return (
            f"{NAME}.ssoOnly is true for this environment but the release does not set "
            f'{flag}="true" in {coder_release.ENV_PATH}',
            f"set coder.oidc.ssoOnly: true in the stack config, or set {NAME}.ssoOnly: false in "
            "policy/config/<env>.json",
        )
    return (
        f'the release sets {flag}="true" but {NAME}.ssoOnly is false, so human Owners are not '
        "checked",
        f"set {NAME}.ssoOnly: true in policy/config/<env>.json",
    )


def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    config = args.get_config()
    sso_only = read_bool(config, SCHEMA, "ssoOnly")
    automation = read_texts(config, SCHEMA, "automationUsernames")
    found: tuple[str, str] | None = None
    if coder_release.is_coder_release(args.resource_type, args.props):
        found = release_problem(args.props, sso_only)
    elif sso_only and args.resource_type in (CODERD_USER, CODER_USER):
        found = user_problem(args.resource_type, args.props, automation)
    elif sso_only and args.resource_type == CODER_FIRST_USER:
        found = first_user_problem(args.props, automation)
    if found is not None:
        problem, fix = found
        report_violation(
            violation(subject(args.resource_type, args.name), problem, fix, CLAUSES), None
        )


POLICY = ResourceValidationPolicy(
    name=NAME,
    description=(
        "/setup (seeding contract, Coder first user): in stacks configured SSO-only, every human "
        "admin (a coderd User or CoderUser with the owner role) has login type oidc; only the "
        "dedicated "
        "automation identity may be a password-typed owner."
    ),
    validate=validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=SCHEMA,
    severity=Severity.HIGH,
)
