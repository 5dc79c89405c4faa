"""The inputs of ``CoderUser``: which ones replace or update it, how they compare, and their C1
checks.

The rules follow Coder's own (v2.36 ``POST /users``), so a bad value fails at preview, naming
the field, instead of half way through an ``up``: usernames are 1-32 letters, digits or inner
hyphens; names at most 128 characters; a password only for the ``password`` login type (Coder
refuses one for any other) and at least 8 characters; a service account (``none``) has neither
email nor password (Coder refuses both: "Email cannot be set for service accounts"), every
other user an email; site roles from Coder's four, or unset (not managed: an IdP's role sync
owns them); an owner cannot be suspended (Coder refuses until the role is removed). Messages
name the field, never the value (a password is a secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi.dynamic as dyn

from components.providers.common import (
    PASSWORD_MIN,
    USERNAME_MAX,
    USERNAME_PATTERN,
    connection_failures,
    is_known,
)

LOGIN_TYPES = ("oidc", "github", "password", "none")
SERVICE_ACCOUNT = "none"  # codersdk LoginTypeNone: a service account, no email, no password
SITE_ROLES = ("owner", "template-admin", "user-admin", "auditor")
ON_DELETE = ("suspend", "delete")
NAME_MAX = 128

# Coder has no API to change a login type: a change replaces the user.
REPLACING_INPUTS = ("login_type",)
# Converged in place: profile (PUT /users/{id}/profile renames, as coderd does), roles, status,
# the password; ``url`` and ``on_delete`` are recorded (no Coder write for them alone).
UPDATING_INPUTS = ("url", "username", "name", "roles", "suspended", "password", "on_delete")
# Never compared: the token (a rotation is not a change), and the email, which Coder cannot
# change through its API (OIDC logins overwrite it from the identity provider's claims).
LOGIN_TYPE_REPLACED = "Coder cannot change a user's login type: the user is deleted and re-created"
# Set by ``check`` when the login type changed: the login type of the user this resource
# replaces, so ``create`` may delete exactly that user (same username, old login type).
REPLACES_LOGIN_TYPE = "replaces_login_type"


def roles_of(value: Any) -> list[str] | Any:
    """Declared roles as a sorted list (a set in Coder); None (not managed) and an unknown
    value pass through."""
    if isinstance(value, list | tuple):
        return sorted(str(role) for role in value)
    return value


def roles_managed(props: Mapping[str, Any]) -> bool:
    """Whether the stack owns the user's site roles: unset means Coder (an IdP's role sync,
    or a human) does, and they are never compared or written."""
    return props.get("roles") is not None


def comparable(props: Mapping[str, Any]) -> dict[str, Any]:
    """The compared properties with their defaults filled in, so a live read and a declaration
    that say the same thing compare equal."""
    password = props.get("password")
    return {
        "url": props.get("url"),
        "username": props.get("username"),
        "name": props.get("name") or "",
        "login_type": props.get("login_type") or "oidc",
        "roles": roles_of(props.get("roles")),
        "suspended": bool(props.get("suspended")) if is_known(props.get("suspended")) else None,
        "password": password or None,
        "on_delete": props.get("on_delete") or "suspend",
    }


def _roles_ok(value: Any) -> bool:
    if not isinstance(value, list | tuple):
        return value is None
    known = [role for role in value if is_known(role)]
    return all(role in SITE_ROLES for role in known) and len(set(known)) == len(known)


def user_failures(props: Mapping[str, Any]) -> list[dyn.CheckFailure]:
    """C1: every input's rule; a value unknown at preview is checked once it is known."""
    failures = connection_failures(props)

    def require(field: str, ok: Any, reason: str) -> None:
        if is_known(props.get(field)) and not ok(props.get(field)):
            failures.append(dyn.CheckFailure(field, f"{field}: {reason}"))

    require(
        "username",
        lambda v: isinstance(v, str) and len(v) <= USERNAME_MAX and USERNAME_PATTERN.fullmatch(v),
        f"must be 1-{USERNAME_MAX} letters, digits or inner hyphens",
    )
    login_type = props.get("login_type")
    if login_type == SERVICE_ACCOUNT:
        require(
            "email",
            lambda v: not v,
            "a service account (login_type none) has no email: Coder refuses one; remove it",
        )
    elif is_known(login_type):
        require(
            "email",
            lambda v: isinstance(v, str) and "@" in v.strip("@"),
            "must be an email address",
        )
    require(
        "name",
        lambda v: v is None or (isinstance(v, str) and len(v) <= NAME_MAX),
        f"must be at most {NAME_MAX} characters",
    )
    require("login_type", lambda v: v in LOGIN_TYPES, f"must be one of {', '.join(LOGIN_TYPES)}")
    require("roles", _roles_ok, f"must be distinct site roles among {', '.join(SITE_ROLES)}")
    require("suspended", lambda v: isinstance(v, bool), "must be true or false")
    require("on_delete", lambda v: v in ON_DELETE, f"must be one of {', '.join(ON_DELETE)}")
    failures.extend(_password_failures(props))
    if props.get("suspended") is True and "owner" in (roles_of(props.get("roles")) or ()):
        failures.append(
            dyn.CheckFailure(
                "suspended",
                "suspended: Coder cannot suspend an owner: remove owner from roles to suspend",
            )
        )
    return failures


def _password_failures(props: Mapping[str, Any]) -> list[dyn.CheckFailure]:
    login_type, password = props.get("login_type"), props.get("password")
    if not is_known(login_type) or not is_known(password):
        return []
    if login_type == "password" and not (
        isinstance(password, str) and len(password) >= PASSWORD_MIN
    ):
        return [
            dyn.CheckFailure(
                "password",
                f"password: is required for login_type password (at least {PASSWORD_MIN} "
                "characters, from the secrets store)",
            )
        ]
    if login_type != "password" and password:
        return [
            dyn.CheckFailure(
                "password",
                "password: only a password user has one (Coder refuses it for other login "
                "types): remove it, or set login_type to password",
            )
        ]
    return []
