"""User, group, license and entitlement endpoints.

The facts each method relies on come from coderd's handlers (``coderd/users.go``,
``enterprise/coderd/groups.go``, ``enterprise/coderd/licenses.go``, v2.36) and the coderd
Terraform provider, which drives the same calls:

- ``POST /users`` answers 409 "User already exists." when the username *or* the email is taken;
  ``oidc`` users need an OIDC issuer configured (400 otherwise), a password is refused for any
  other login type (400), and ``none`` users are Premium service accounts (403 without the
  ``service_accounts`` entitlement) created with ``service_account: true`` and neither email
  nor password (400 "Email cannot be set for service accounts.").
- ``PUT /users/{u}/roles`` answers 400 "Cannot modify roles for OIDC users when role sync is
  enabled." for an OIDC user while site role sync is on: the deployment sets
  ``CODER_OIDC_USER_ROLE_FIELD`` and a license grants ``user_role_management``
  (``enidpsync.SiteRoleSyncEnabled``; organization role sync, ``/settings/idpsync/roles``, has no
  part in it). It is the handler's first check, so even the roles a user already has, or none,
  are refused; users of other login types are not affected.
- Nobody deletes themselves (403), suspends themselves or changes their own roles (400); an
  owner cannot be suspended until the role is removed (400); a user with workspaces cannot be
  deleted (417). ``GET /users/{user}`` answers 400 "must be an existing uuid or username" for
  an unknown name.
- Every group route answers 403 "Template RBAC is a Premium feature. Contact sales!" without
  the ``template_rbac`` entitlement; ``GET /entitlements`` says ahead of time.
- Licenses live in the database (a reset drops them); ``GET /licenses`` returns their claims
  verbatim but never the JWT, which is a bearer credential.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from coder_platform.coder_api.core import CoderClientCore, _api_path, _error_text, segment
from coder_platform.coder_api.errors import (
    CoderNotEntitledError,
    CoderRoleSyncError,
    CoderSelfTargetError,
    CoderUserInUseError,
)
from coder_platform.coder_api.models import Entitlements, Group, License, User
from coder_platform.contracts import GROUPS_FEATURE, SERVICE_ACCOUNTS_FEATURE

# The nil UUID in organization_ids places a new user in the default organization (coderd
# postUser); it spares a lookup of the default organization's id.
DEFAULT_ORGANIZATION_ID = "00000000-0000-0000-0000-000000000000"
PREMIUM_MARKER = "a Premium feature"
ROLE_SYNC_MARKER = "role sync is enabled"
SELF_MESSAGES = ("cannot delete yourself", "cannot suspend yourself", "cannot change your own")
UNKNOWN_USER_MARKER = "existing uuid or username"
SAME_PASSWORD_MESSAGE = "New password cannot match old password"


def license_claims(jwt: str) -> dict[str, Any] | None:
    """The claims of a license JWT, decoded as Coder decodes them for ``GET /licenses`` (the
    middle segment, unverified). None when it is not a JWT; nothing of it is ever echoed."""
    parts = jwt.split(".")
    if len(parts) != 3:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    return decoded if isinstance(decoded, dict) else None


# Features of codersdk's catalogue that its Enterprise feature set leaves out
# (``FeatureName.Enterprise()`` is false for them); the Premium set holds every feature.
NOT_IN_ENTERPRISE_SET = frozenset({"multiple_organizations", "custom_roles", "service_accounts"})


def license_grants(jwt: str, feature: str) -> bool:
    """Whether a license's claims entitle ``feature``."""
    return claims_grant(license_claims(jwt) or {}, feature)


def claims_grant(claims: dict[str, Any], feature: str) -> bool:
    """Whether license claims entitle ``feature``, as coderd's ``LicensesEntitlements`` reads
    them: the ``feature_set`` (``premium``: every feature; ``enterprise``, or the legacy
    ``all_features``: all but the few above), or a positive count in ``features``."""
    feature_set = str(claims.get("feature_set") or "").lower()
    if not feature_set and claims.get("all_features") is True:
        feature_set = "enterprise"
    if feature_set == "premium":
        return True
    if feature_set == "enterprise" and feature not in NOT_IN_ENTERPRISE_SET:
        return True
    features = claims.get("features")
    count = features.get(feature) if isinstance(features, dict) else None
    return isinstance(count, int | float) and not isinstance(count, bool) and count > 0


class PeopleEndpoints(CoderClientCore):
    """``/users``, ``/groups``, ``/licenses`` and ``/entitlements``."""

    # -- users ----------------------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        email: str | None,
        *,
        name: str = "",
        login_type: str,
        password: str | None = None,
    ) -> User:
        """POST /users in the default organization. 409 raises CoderConflictError (the username
        or the email is taken); a ``none`` user is created as a service account, which Coder
        wants without an email (``email`` is then not sent)."""
        body: dict[str, Any] = {
            "username": username,
            "name": name,
            "login_type": login_type,
            "organization_ids": [DEFAULT_ORGANIZATION_ID],
        }
        if email:
            body["email"] = email
        if password is not None:
            body["password"] = password
        if login_type == "none":
            body["service_account"] = True
        secrets = [password] if password else []
        response = self._send("POST", "/users", json=body, secrets=secrets)
        self._raise_if_not_entitled(response, "POST", SERVICE_ACCOUNTS_FEATURE)
        return self._parse(User, "POST", "/users", self._check(response, "POST", secrets))

    def update_roles(self, user: str, roles: Sequence[str], *, username: str = "") -> User:
        """PUT /users/{user}/roles: the user's site roles become exactly these. Coder's refusal
        while the IdP's role sync owns an OIDC user's roles raises CoderRoleSyncError."""
        path = f"/users/{segment(user)}/roles"
        response = self._send("PUT", path, json={"roles": list(roles)})
        if response.status_code == 400:
            message, _ = _error_text(response)
            if ROLE_SYNC_MARKER in message:
                raise CoderRoleSyncError("PUT", path, message, username=username or user)
        return self._user_answer(response, "PUT", path, username or user)

    def suspend_user(self, user: str, *, username: str = "") -> User:
        """PUT /users/{user}/status/suspend (400 for an owner or for yourself)."""
        path = f"/users/{segment(user)}/status/suspend"
        return self._user_answer(self._send("PUT", path), "PUT", path, username or user)

    def activate_user(self, user: str, *, username: str = "") -> User:
        """PUT /users/{user}/status/activate."""
        path = f"/users/{segment(user)}/status/activate"
        return self._user_answer(self._send("PUT", path), "PUT", path, username or user)

    def update_profile(self, user: str, username: str, name: str) -> User:
        """PUT /users/{user}/profile: username and display name (Coder has no email change)."""
        path = f"/users/{segment(user)}/profile"
        response = self._send("PUT", path, json={"username": username, "name": name})
        return self._user_answer(response, "PUT", path, username)

    def update_password(self, user: str, password: str) -> None:
        """PUT /users/{user}/password as an admin (no old password). Coder refuses the password
        the user already has; that is the wanted state, so it is success."""
        path = f"/users/{segment(user)}/password"
        response = self._send("PUT", path, json={"password": password}, secrets=[password])
        if response.status_code == 400 and SAME_PASSWORD_MESSAGE in response.text:
            return
        self._check(response, "PUT", [password])

    def delete_user(self, user: str, *, username: str = "") -> bool:
        """DELETE /users/{user}; False when it is already gone. A user with workspaces raises
        CoderUserInUseError (417), deleting yourself CoderSelfTargetError (403). Coder answers
        200 to the delete of a tombstone by id, so liveness is looked up first."""
        if self.get_user(user) is None:
            return False
        path = f"/users/{segment(user)}"
        response = self._send("DELETE", path)
        if self._is_unknown_user(response):
            return False
        if response.status_code == 417:
            message, _ = _error_text(response)
            raise CoderUserInUseError("DELETE", path, message, username=username or user)
        self._raise_if_self_target(response, "DELETE", path, username or user)
        self._check(response, "DELETE")
        return True

    # -- entitlements ---------------------------------------------------------------------------

    def entitlements(self) -> Entitlements:
        """GET /entitlements: which Premium features this deployment's licenses grant."""
        return self._model(Entitlements, "GET", "/entitlements")

    # -- groups ---------------------------------------------------------------------------------

    def create_group(
        self, organization: str, name: str, *, display_name: str = "", quota_allowance: int = 0
    ) -> Group:
        """POST /organizations/{org}/groups; 409 raises CoderConflictError (the name is taken)."""
        path = f"/organizations/{segment(organization)}/groups"
        body = {
            "name": name,
            "display_name": display_name,
            "avatar_url": "",
            "quota_allowance": quota_allowance,
        }
        response = self._send("POST", path, json=body)
        self._raise_if_not_entitled(response, "POST")
        return self._parse(Group, "POST", path, self._check(response, "POST"))

    def get_group(self, group_id: str) -> Group | None:
        """GET /groups/{id}; None when Coder has no such group (404)."""
        path = f"/groups/{segment(group_id)}"
        return self._group_or_none(self._send("GET", path), path)

    def get_group_by_name(self, organization: str, name: str) -> Group | None:
        """GET /organizations/{org}/groups/{name}; None when no group has that name."""
        path = f"/organizations/{segment(organization)}/groups/{segment(name)}"
        return self._group_or_none(self._send("GET", path), path)

    def update_group(
        self,
        group_id: str,
        *,
        name: str | None = None,
        display_name: str | None = None,
        quota_allowance: int | None = None,
        add_users: Iterable[str] = (),
        remove_users: Iterable[str] = (),
    ) -> Group:
        """PATCH /groups/{id}: members by user id, and any setting given (None: unchanged)."""
        path = f"/groups/{segment(group_id)}"
        body: dict[str, Any] = {"add_users": list(add_users), "remove_users": list(remove_users)}
        settings = {
            "name": name,
            "display_name": display_name,
            "quota_allowance": quota_allowance,
        }
        body.update({key: value for key, value in settings.items() if value is not None})
        response = self._send("PATCH", path, json=body)
        self._raise_if_not_entitled(response, "PATCH")
        return self._parse(Group, "PATCH", path, self._check(response, "PATCH"))

    def patch_group_members(
        self, group_id: str, add_users: Iterable[str], remove_users: Iterable[str]
    ) -> Group:
        """PATCH /groups/{id} with member changes only (user ids)."""
        return self.update_group(group_id, add_users=add_users, remove_users=remove_users)

    def delete_group(self, group_id: str) -> bool:
        """DELETE /groups/{id}; False when it is already gone (404)."""
        path = f"/groups/{segment(group_id)}"
        response = self._send("DELETE", path)
        if response.status_code == 404:
            return False
        self._raise_if_not_entitled(response, "DELETE")
        self._check(response, "DELETE")
        return True

    # -- licenses -------------------------------------------------------------------------------

    def add_license(self, jwt: str) -> License:
        """POST /licenses; the JWT travels in the body only and is masked in any error."""
        response = self._send("POST", "/licenses", json={"license": jwt}, secrets=[jwt])
        data = self._check(response, "POST", [jwt])
        return self._parse(License, "POST", "/licenses", data)

    def list_licenses(self) -> list[License]:
        """GET /licenses (claims only, never a JWT)."""
        return self._models(License, "/licenses")

    def delete_license(self, license_id: int) -> bool:
        """DELETE /licenses/{id}; False when it is already gone (404 "Unknown license ID")."""
        path = f"/licenses/{license_id}"
        response = self._send("DELETE", path)
        if response.status_code == 404:
            return False
        self._check(response, "DELETE")
        return True

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _is_unknown_user(response: httpx.Response) -> bool:
        return response.status_code == 404 or (
            response.status_code == 400 and UNKNOWN_USER_MARKER in response.text
        )

    def _user_answer(self, response: httpx.Response, method: str, path: str, username: str) -> User:
        self._raise_if_self_target(response, method, path, username)
        return self._parse(User, method, path, self._check(response, method))

    @staticmethod
    def _raise_if_self_target(
        response: httpx.Response, method: str, path: str, username: str
    ) -> None:
        """A change Coder refuses on the caller's own account becomes CoderSelfTargetError."""
        if response.status_code in (400, 403):
            message, _ = _error_text(response)
            if any(marker in message for marker in SELF_MESSAGES):
                status = response.status_code
                raise CoderSelfTargetError(method, path, status, message, username=username)

    def _group_or_none(self, response: httpx.Response, path: str) -> Group | None:
        if response.status_code == 404:
            return None
        self._raise_if_not_entitled(response, "GET")
        return self._parse(Group, "GET", path, self._check(response, "GET"))

    @staticmethod
    def _raise_if_not_entitled(
        response: httpx.Response, method: str, feature: str = GROUPS_FEATURE
    ) -> None:
        """A 403 "... is a Premium feature" becomes CoderNotEntitledError (no credential
        problem: another token would be refused the same way)."""
        if response.status_code != 403:
            return
        message, _ = _error_text(response)
        if PREMIUM_MARKER in message:
            raise CoderNotEntitledError(method, _api_path(response), message, feature=feature)
