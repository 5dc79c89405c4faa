"""The people endpoints of the Coder double: users, roles, groups, licenses, entitlements.

Faithful to the rules a real Coder (v2.36) enforces, because a double laxer than Coder hides
bugs: ``POST /users`` answers 409 "User already exists." when the username or the email is
taken, refuses ``oidc`` users until an OIDC issuer is configured (``oidc_configured``), a
password for any other login type, and ``none`` users unless they are service accounts (no
email, no password, the ``service_accounts`` entitlement); new users start ``dormant``. A
deleted user stays a tombstone answered by id (``tombstones``), as coderd keeps the row. Nobody
changes their own roles, suspends themselves or an owner, or deletes themselves; a user with
workspaces cannot be deleted (417). Site role sync (``oidc_user_role_field``) refuses ``PUT
/users/{u}/roles`` for OIDC users, as coderd's ``putUserRoles`` does, only while a license grants
``user_role_management`` (``enidpsync.SiteRoleSyncEnabled``): the field alone changes nothing.
Every group route answers 403 "Template RBAC is a Premium feature. Contact sales!" until
``template_rbac`` is entitled (``entitle``) or a license grants it. Licenses are JWTs whose
claims the double reads without verifying a signature; a ``wipe`` (a database reset) drops
users, groups and licenses alike.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from coder_platform.coder_api.people import claims_grant
from coder_platform.contracts import (
    GROUPS_FEATURE,
    SERVICE_ACCOUNTS_FEATURE,
    USER_ROLE_MANAGEMENT_FEATURE,
)
from testbed.coder_double.core import (
    ORG_ID,
    CoderDoubleCore,
    DoubleUser,
    Handler,
    invalid,
    message,
    reply,
)

ORG_REFS = frozenset({"default", ORG_ID, "coder"})
SITE_ROLES = frozenset({"owner", "template-admin", "user-admin", "auditor"})
USER_ADMINS = frozenset({"owner", "user-admin"})
LOGIN_TYPES = frozenset({"password", "oidc", "github", "none"})
PREMIUM_FEATURES = (
    GROUPS_FEATURE,
    SERVICE_ACCOUNTS_FEATURE,
    USER_ROLE_MANAGEMENT_FEATURE,
    "audit_log",
    "user_limit",
    "high_availability",
)
NOT_FOUND = "Resource not found or you do not have access to this resource"
NOT_LOGGED_IN = "You must be logged in to access this resource."
EVERYONE = "Everyone"  # coderd's database.EveryoneGroup
RBAC_UPSELL = "Template RBAC is a Premium feature. Contact sales!"
# coderd: fmt.Sprintf("%s is a Premium feature. Contact sales!", FeatureServiceAccounts.Humanize())
SERVICE_ACCOUNT_UPSELL = "Service Accounts is a Premium feature. Contact sales!"
USERNAME = re.compile(r"[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*")
USERNAME_MAX = 32
PASSWORD_MIN = 8


def license_jwt(**claims: Any) -> str:
    """A license-shaped JWT for tests: real header and claims segments, a random signature.
    ``exp`` and ``license_expires`` default to 2027-01-01; pass ``features={"template_rbac": 1}``
    or ``all_features=True`` to grant Premium features."""
    expires = 1_798_761_600  # 2027-01-01T00:00:00Z
    body = {
        "exp": expires,
        "license_expires": expires,
        "jti": str(uuid.uuid4()),
        "account_id": "acct-test",
        **claims,
    }

    def segment(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    signature = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return f"{segment({'alg': 'EdDSA', 'typ': 'JWT', 'kid': 'test'})}.{segment(body)}.{signature}"


def jwt_claims(jwt: str) -> dict[str, Any] | None:
    parts = jwt.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


@dataclass
class DoubleLicense:
    id: int
    uuid: str
    jwt: str
    claims: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uuid": self.uuid,
            "uploaded_at": "2026-01-21T12:00:00Z",
            "claims": self.claims,
        }

    def grants(self, feature: str) -> bool:
        return claims_grant(self.claims, feature)


@dataclass
class DoubleGroup:
    id: str
    name: str
    display_name: str = ""
    avatar_url: str = ""
    quota_allowance: int = 0
    member_ids: list[str] = field(default_factory=list)


@dataclass
class PeopleDouble(CoderDoubleCore):
    """Extends the core with user, group, license and entitlement routes."""

    oidc_configured: bool = False
    # The deployment's OIDC claim for site roles (CODER_OIDC_USER_ROLE_FIELD); "" means none.
    oidc_user_role_field: str = ""
    entitled: set[str] = field(default_factory=set)  # features entitled without a license
    groups: dict[str, DoubleGroup] = field(default_factory=dict)
    everyone_quota: int = 0  # the Everyone group's quota_allowance
    licenses: dict[int, DoubleLicense] = field(default_factory=dict)
    user_workspaces: dict[str, int] = field(default_factory=dict)  # user id -> workspace count
    _license_ids: int = 0

    # -- test controls ------------------------------------------------------------------------

    def wipe_extra(self) -> None:
        super().wipe_extra()
        self.groups.clear()
        self.everyone_quota = 0
        self.licenses.clear()
        self.user_workspaces.clear()

    def extra_routes(self) -> list[tuple[str, str, Handler]]:
        user = r"/users/([^/]+)"
        group = r"/groups/([^/]+)"
        org = r"/organizations/([^/]+)"
        return [
            ("POST", r"/users", self._post_user),
            ("GET", r"/users", self._list_users),
            ("PUT", rf"{user}/roles", self._put_user_roles),
            ("PUT", rf"{user}/status/suspend", self._suspend_user),
            ("PUT", rf"{user}/status/activate", self._activate_user),
            ("PUT", rf"{user}/profile", self._put_user_profile),
            ("PUT", rf"{user}/password", self._put_user_password),
            ("DELETE", rf"{user}", self._delete_user),
            ("GET", r"/entitlements", self._get_entitlements),
            ("POST", rf"{org}/groups", self._post_group),
            ("GET", rf"{org}/groups/([^/]+)", self._get_group_by_name),
            ("GET", group, self._get_group),
            ("PATCH", group, self._patch_group),
            ("DELETE", group, self._delete_group),
            ("POST", r"/licenses", self._post_license),
            ("GET", r"/licenses", self._list_licenses),
            ("DELETE", r"/licenses/([^/]+)", self._delete_license),
            *super().extra_routes(),
        ]

    def secrets_seen(self) -> list[str]:
        return [*super().secrets_seen(), *(lic.jwt for lic in self.licenses.values())]

    def entitle(self, *features: str) -> None:
        """Entitle these features as if a license granted them (``template_rbac`` for groups)."""
        self.entitled.update(features)

    def site_role_sync_enabled(self) -> bool:
        """coderd's ``SiteRoleSyncEnabled``: a role field AND the ``user_role_management``
        entitlement (a license without it, or none, leaves roles to the API)."""
        return bool(self.oidc_user_role_field) and self.allows(USER_ROLE_MANAGEMENT_FEATURE)

    def allows(self, feature: str) -> bool:
        return feature in self.entitled or any(
            lic.grants(feature) for lic in self.licenses.values()
        )

    def user_named(self, username: str) -> DoubleUser:
        found = next((u for u in self.users.values() if u.username == username), None)
        assert found is not None, f"no user {username}"
        return found

    def add_user(
        self, username: str, *, login_type: str = "oidc", roles: tuple[str, ...] = ()
    ) -> DoubleUser:
        """A user created out of band (by hand, or before the stack managed it)."""
        user = DoubleUser(
            id=str(uuid.uuid4()),
            username=username,
            email=f"{username}@corp.test",
            name="",
            password="",
            roles=list(roles),
            status="active",
            login_type=login_type,
        )
        self.users[user.id] = user
        return user

    def give_workspaces(self, username: str, count: int = 1) -> None:
        self.user_workspaces[self.user_named(username).id] = count

    def group_named(self, name: str) -> DoubleGroup:
        found = next((g for g in self.groups.values() if g.name == name), None)
        assert found is not None, f"no group {name}"
        return found

    def group_members(self, name: str) -> list[str]:
        return sorted(self.users[i].username for i in self.group_named(name).member_ids)

    # -- helpers --------------------------------------------------------------------------------

    def _group_json(self, group: DoubleGroup) -> dict[str, Any]:
        members = [self.users[i] for i in group.member_ids if i in self.users]
        return {
            "id": group.id,
            "name": group.name,
            "display_name": group.display_name,
            "organization_id": ORG_ID,
            "avatar_url": group.avatar_url,
            "quota_allowance": group.quota_allowance,
            "source": "user",
            "total_member_count": len(members),
            "members": [
                {
                    "id": m.id,
                    "username": m.username,
                    "email": m.email,
                    "name": m.name,
                    "status": m.status,
                    "login_type": m.login_type,
                }
                for m in members
            ],
        }

    def _user_admin(
        self, request: httpx.Request
    ) -> tuple[DoubleUser | None, httpx.Response | None]:
        caller = self._caller(request)
        if caller is None:
            return None, message(401, NOT_LOGGED_IN)
        if not USER_ADMINS & set(caller.roles):
            return None, message(403, "Forbidden.")
        return caller, None

    def _groups_guard(self, request: httpx.Request) -> httpx.Response | None:
        caller = self._caller(request)
        if caller is None:
            return message(401, NOT_LOGGED_IN)
        if not self.allows(GROUPS_FEATURE):
            return message(403, RBAC_UPSELL)
        if "owner" not in caller.roles:
            return message(403, "Forbidden.")
        return None

    def _other_user(
        self, request: httpx.Request, ref: str, self_message: str, self_status: int = 400
    ) -> tuple[DoubleUser | None, httpx.Response | None]:
        """The addressed user for an admin change Coder refuses on yourself."""
        caller, error = self._user_admin(request)
        if error or caller is None:
            return None, error
        target, error = self._target(request, ref)
        if error or target is None:
            return None, error
        if target.id == caller.id:
            return None, message(self_status, self_message)
        return target, None

    # -- users ----------------------------------------------------------------------------------

    def _post_user(self, request: httpx.Request, body: Any) -> httpx.Response:
        _, error = self._user_admin(request)
        if error:
            return error
        refused = self._refusal(body)
        if refused is not None:
            return refused
        user = DoubleUser(
            id=str(uuid.uuid4()),
            username=body.get("username", ""),
            email=body.get("email") or "",
            name=body.get("name", ""),
            password=body.get("password") or "",
            roles=[],
            status="dormant",
            login_type="none" if body.get("service_account") else body.get("login_type"),
        )
        self.users[user.id] = user
        return reply(201, user.as_json())

    def _refusal(self, body: dict[str, Any]) -> httpx.Response | None:
        """coderd ``postUser``'s checks in its order: the body's validation, a service
        account's rules (no password, no email, then the entitlement), the login type, the
        organization, a taken username or email (409), then the login type's own rules."""
        body.setdefault("login_type", "none" if body.get("service_account") else "password")
        login_type, password = body["login_type"], body.get("password") or ""
        username, email = body.get("username", ""), body.get("email") or ""
        checks: list[Callable[[], httpx.Response | None]] = [
            lambda: (
                invalid("username", "username", username)
                if not USERNAME.fullmatch(username) or len(username) > USERNAME_MAX
                else None
            ),
            lambda: (
                invalid("email", "required_unless", "")
                if not email and not body.get("service_account")
                else None
            ),
            lambda: self._service_account_refusal(body) if body.get("service_account") else None,
            lambda: (
                message(400, "Login type 'none' requires a service account.")
                if login_type == "none" and not body.get("service_account")
                else None
            ),
            lambda: (
                message(
                    400,
                    f"Password cannot be set for non-password ({login_type!r}) authentication.",
                )
                if login_type != "password" and password
                else None
            ),
            lambda: (
                None
                if body.get("organization_ids")
                else message(400, "No organization specified to place the user as a member of.")
            ),
            lambda: (
                message(409, "User already exists.")
                if any(
                    u.username == username or (email and u.email == email)
                    for u in self.users.values()
                )
                else None
            ),
            lambda: self._login_type_refusal(login_type, password),
        ]
        return next((answer for answer in (check() for check in checks) if answer), None)

    def _service_account_refusal(self, body: dict[str, Any]) -> httpx.Response | None:
        if body.get("password"):
            return message(400, "Password cannot be set for service accounts.")
        if body.get("email"):
            return message(400, "Email cannot be set for service accounts.")
        if not self.allows(SERVICE_ACCOUNTS_FEATURE):
            return message(403, SERVICE_ACCOUNT_UPSELL)
        return None

    def _login_type_refusal(self, login_type: str, password: str) -> httpx.Response | None:
        if login_type not in LOGIN_TYPES:
            return message(
                400, f"Unsupported login type {login_type!r} for manually creating new users."
            )
        if login_type == "password" and len(password) < PASSWORD_MIN:
            return message(400, "Password not strong enough!")
        if login_type == "oidc" and not self.oidc_configured:
            return message(400, "You must configure OIDC before creating OIDC users.")
        return None

    def _put_user_roles(self, request: httpx.Request, body: Any, ref: str) -> httpx.Response:
        target, _ = self._target(request, ref)
        # Checked first, before the caller's own account and the body: even [] is refused.
        if target is not None and target.login_type == "oidc" and self.site_role_sync_enabled():
            return message(
                400,
                "Cannot modify roles for OIDC users when role sync is enabled.",
                "'User Role Field' is set in the OIDC configuration. All role changes must come "
                "from the oidc identity provider.",
            )
        user, error = self._other_user(request, ref, "You cannot change your own roles.")
        if error or user is None:
            return error or message(500, "unreachable")
        roles = body.get("roles", [])
        unknown = sorted(set(roles) - SITE_ROLES)
        if unknown:
            return message(400, f"assign roles: role {unknown[0]!r} is not a site role")
        user.roles = sorted(set(roles))
        return reply(200, user.as_json())

    def _suspend_user(self, request: httpx.Request, body: Any, ref: str) -> httpx.Response:
        user, error = self._other_user(request, ref, "You cannot suspend yourself.")
        if error or user is None:
            return error or message(500, "unreachable")
        if "owner" in user.roles:
            return message(
                400,
                'You cannot suspend a user with the "owner" role. You must remove the role first.',
            )
        user.status = "suspended"
        return reply(200, user.as_json())

    def _activate_user(self, request: httpx.Request, body: Any, ref: str) -> httpx.Response:
        _, error = self._user_admin(request)
        if error:
            return error
        user, error = self._target(request, ref)
        if error or user is None:
            return error or message(500, "unreachable")
        user.status = "active"
        return reply(200, user.as_json())

    def _put_user_profile(self, request: httpx.Request, body: Any, ref: str) -> httpx.Response:
        user, error = self._target(request, ref)
        if error or user is None:
            return error or message(500, "unreachable")
        username = body.get("username", "")
        if any(u.username == username and u.id != user.id for u in self.users.values()):
            return message(409, "A user with this username already exists.")
        user.username, user.name = username, body.get("name", "")
        return reply(200, user.as_json())

    def _put_user_password(self, request: httpx.Request, body: Any, ref: str) -> httpx.Response:
        user, error = self._target(request, ref)
        if error or user is None:
            return error or message(500, "unreachable")
        caller = self._caller(request)
        password = body.get("password", "")
        if user.login_type != "password":
            return message(400, "Users without password login type cannot change their password.")
        if caller is not None and caller.id == user.id and not body.get("old_password"):
            return message(400, "Old password is required.")
        if len(password) < PASSWORD_MIN:
            return message(400, "Invalid password.")
        if password == user.password:
            return message(400, "New password cannot match old password.")
        user.password = password
        self.keys = {k: v for k, v in self.keys.items() if v.user_id != user.id}
        return reply(204)

    def _delete_user(self, request: httpx.Request, body: Any, ref: str) -> httpx.Response:
        user, error = self._other_user(request, ref, "You cannot delete yourself!", 403)
        if error or user is None:
            return error or message(500, "unreachable")
        if self.user_workspaces.get(user.id, 0) > 0:
            return message(
                417,
                "You cannot delete a user that has workspaces. Delete their workspaces and try "
                "again!",
            )
        if user.id in self.tombstones:  # coderd marks the row deleted again: 200
            return message(200, "User has been deleted!")
        self.tombstones[user.id] = self.users.pop(user.id)
        self.keys = {k: v for k, v in self.keys.items() if v.user_id != user.id}
        for group in self.groups.values():
            group.member_ids = [i for i in group.member_ids if i != user.id]
        return message(200, "User has been deleted!")

    # -- entitlements ---------------------------------------------------------------------------

    def _get_entitlements(self, request: httpx.Request, body: Any) -> httpx.Response:
        if self._caller(request) is None:
            return message(401, NOT_LOGGED_IN)
        features = {
            name: {
                "entitlement": "entitled" if self.allows(name) else "not_entitled",
                "enabled": self.allows(name),
            }
            for name in sorted({*PREMIUM_FEATURES, *self.entitled})
        }
        return reply(
            200,
            {
                "features": features,
                "has_license": bool(self.licenses),
                "trial": False,
                "require_telemetry": False,
                "warnings": [],
                "errors": [],
                "refreshed_at": "2026-01-21T12:00:00Z",
            },
        )

    # -- groups ---------------------------------------------------------------------------------

    def _post_group(self, request: httpx.Request, body: Any, org: str) -> httpx.Response:
        error = self._groups_guard(request)
        if error:
            return error
        if org not in ORG_REFS:
            return message(404, NOT_FOUND)
        name = body.get("name", "")
        if any(g.name == name for g in self.groups.values()):
            return message(409, f"A group named {name!r} already exists.")
        group = DoubleGroup(
            id=str(uuid.uuid4()),
            name=name,
            display_name=body.get("display_name", ""),
            avatar_url=body.get("avatar_url", ""),
            quota_allowance=int(body.get("quota_allowance", 0)),
        )
        self.groups[group.id] = group
        return reply(201, self._group_json(group))

    def everyone_json(self) -> dict[str, Any]:
        """The organization's Everyone group (coderd: its id is the organization's, every
        member of the organization is in it, and only its quota may change)."""
        everyone = DoubleGroup(ORG_ID, EVERYONE, quota_allowance=self.everyone_quota)
        everyone.member_ids = list(self.users)
        return self._group_json(everyone)

    def _everyone_patch(self, body: Any) -> httpx.Response:
        if body.get("add_users") or body.get("remove_users"):
            return message(400, f"Cannot add or remove users from the {EVERYONE!r} group!")
        if body.get("name"):
            return message(400, f"Cannot rename the {EVERYONE!r} group!")
        if body.get("quota_allowance") is not None:
            self.everyone_quota = int(body["quota_allowance"])
        return reply(200, self.everyone_json())

    def _get_group_by_name(
        self, request: httpx.Request, body: Any, org: str, name: str
    ) -> httpx.Response:
        error = self._groups_guard(request)
        if error:
            return error
        if name == EVERYONE and org in ORG_REFS:
            return reply(200, self.everyone_json())
        group = next((g for g in self.groups.values() if g.name == name), None)
        if org not in ORG_REFS or group is None:
            return message(404, NOT_FOUND)
        return reply(200, self._group_json(group))

    def _get_group(self, request: httpx.Request, body: Any, group_id: str) -> httpx.Response:
        error = self._groups_guard(request)
        if error:
            return error
        if group_id == ORG_ID:
            return reply(200, self.everyone_json())
        group = self.groups.get(group_id)
        return reply(200, self._group_json(group)) if group else message(404, NOT_FOUND)

    def _patch_group(self, request: httpx.Request, body: Any, group_id: str) -> httpx.Response:
        error = self._groups_guard(request)
        if error or group_id == ORG_ID:
            return error or self._everyone_patch(body)
        group = self.groups.get(group_id)
        if group is None:
            return message(404, NOT_FOUND)
        added = body.get("add_users") or []
        for user_id in added:
            if user_id not in self.users:
                return message(400, f"Unknown user id {user_id!r}.")
            if user_id in group.member_ids:
                return message(400, f"User {user_id!r} is already a member of the group.")
        name = body.get("name") or group.name
        if any(g.name == name and g.id != group.id for g in self.groups.values()):
            return message(409, f"A group named {name!r} already exists.")
        removed = set(body.get("remove_users") or [])
        group.member_ids = [i for i in group.member_ids if i not in removed] + list(added)
        group.name = name
        if body.get("display_name") is not None:
            group.display_name = body["display_name"]
        if body.get("quota_allowance") is not None:
            group.quota_allowance = int(body["quota_allowance"])
        return reply(200, self._group_json(group))

    def _delete_group(self, request: httpx.Request, body: Any, group_id: str) -> httpx.Response:
        error = self._groups_guard(request)
        if error:
            return error
        if group_id == ORG_ID:
            return message(400, f"{EVERYONE!r} is a reserved group and cannot be deleted!")
        if self.groups.pop(group_id, None) is None:
            return message(404, NOT_FOUND)
        return message(200, "Successfully deleted group!")

    # -- licenses -------------------------------------------------------------------------------

    def _license_admin(self, request: httpx.Request) -> httpx.Response | None:
        caller = self._caller(request)
        if caller is None:
            return message(401, NOT_LOGGED_IN)
        return None if "owner" in caller.roles else message(403, "Forbidden.")

    def _post_license(self, request: httpx.Request, body: Any) -> httpx.Response:
        error = self._license_admin(request)
        if error:
            return error
        jwt = body.get("license", "")
        claims = jwt_claims(jwt)
        if claims is None:
            return message(400, "Invalid license", "token is malformed")
        if not isinstance(claims.get("exp"), int | float):
            return message(400, "Invalid license", "exp claim missing or not parsable")
        if any(lic.jwt == jwt for lic in self.licenses.values()):
            return message(500, "Unable to add license to database", "duplicate key value")
        self._license_ids += 1
        license_ = DoubleLicense(self._license_ids, str(uuid.uuid4()), jwt, claims)
        self.licenses[license_.id] = license_
        return reply(201, license_.as_json())

    def _list_users(self, request: httpx.Request, body: Any) -> httpx.Response:
        if self._caller(request) is None:
            return message(401, NOT_LOGGED_IN)
        users = [user.as_json() for user in self.users.values()]
        return reply(200, {"users": users, "count": len(users)})

    def _list_licenses(self, request: httpx.Request, body: Any) -> httpx.Response:
        if self._caller(request) is None:
            return message(401, NOT_LOGGED_IN)
        return reply(200, [lic.as_json() for lic in self.licenses.values()])

    def _delete_license(self, request: httpx.Request, body: Any, ref: str) -> httpx.Response:
        error = self._license_admin(request)
        if error:
            return error
        if not ref.isdigit():
            return message(404, "License ID must be an integer")
        if self.licenses.pop(int(ref), None) is None:
            return message(404, "Unknown license ID")
        return reply(200)
