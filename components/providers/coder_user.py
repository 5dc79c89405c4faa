"""CoderUser: a Coder user this stack owns, shaped like coderd's ``coderd_user`` (``username``,
``email``, ``name``, ``login_type``, ``password``, ``roles``, ``suspended``).

Why it exists: a Coder database reset loses every user; here each one is re-created with its
site roles and status, and a hand change (a suspension, a role) is drift taken back. People log
in by OIDC (``login_type`` defaults to ``oidc``) or GitHub, ``password`` users take their
password from the secrets store, ``none`` users are (Premium) service accounts: created with
``service_account: true`` and neither email nor password, after ``GET /entitlements`` says the
``service_accounts`` entitlement is there (no write otherwise). ``roles`` unset means the stack
does not manage them (an IdP's role sync does: with ``CODER_OIDC_USER_ROLE_FIELD`` set and the
``user_role_management`` entitlement, Coder refuses ``PUT /users/{u}/roles`` for OIDC users, and
that refusal is an error naming the user and the fix). The automation identity
is Coder's first user (``CoderFirstUser``), never a ``CoderUser``: ``create`` refuses to adopt
it, and an existing user is adopted only when its username, email and login type all match (an
account that signed up under the username after a reset is never given the seeded roles).

A deleted user is a tombstone Coder still answers by id: every lookup here goes through
``CoderClient.get_user``, which never takes one for a live user.

Coder's rules it follows (coderd ``users.go``, v2.36): a login type cannot be changed, so a
change REPLACES the user (``check`` records the old login type, and ``create`` deletes exactly
that user, same username and old type, before creating the new one); a username is renamed in
place (``PUT /users/{id}/profile``, as coderd does); an email cannot be changed through the API
(``read`` warns when Coder's differs); an owner cannot be suspended until the role is removed;
a user with workspaces cannot be deleted. A user removed from the stack is suspended (its site
roles removed first, since Coder will not suspend an owner), or deleted with
``on_delete="delete"``.

Contract clauses served: C1 (``check`` names each bad field, never a value), C2 (``read`` is one
GET and ``diff`` calls nothing, so a converged run makes zero writes; the token never counts as
a change; an existing user of the same login type is adopted), C3 (gone after a reset or a hand
delete; a hand suspension or role change is drift that ``update`` takes back).

The provider is pickled into state: it holds no client, logger or clock; each method builds its
``CoderClient`` through ``client_factory`` (tests inject the in-process double).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dyn

from coder_platform.coder_api import (
    CoderApiError,
    CoderClient,
    CoderConflictError,
    CoderRoleSyncError,
    CoderSelfTargetError,
    CoderUserInUseError,
    User,
)
from coder_platform.contracts import OIDC_USER_ROLE_FIELD_ENV, SERVICE_ACCOUNTS_FEATURE
from components.providers.coder_user_checks import (
    LOGIN_TYPE_REPLACED,
    REPLACES_LOGIN_TYPE,
    REPLACING_INPUTS,
    SERVICE_ACCOUNT,
    UPDATING_INPUTS,
    comparable,
    roles_managed,
    roles_of,
    user_failures,
)
from components.providers.common import (
    UNVERIFIED,
    TokenAuthenticatedProvider,
    declared_changes,
    gone,
    inputs_of,
    is_known,
    not_entitled_message,
    raise_on_failures,
    read_with_current_token,
    require_entitlements,
)

LOGGER_NAME = "coder_platform.coder_user"
AUTOMATION_IDENTITY = "the automation identity is Coder's first user, never a CoderUser"


class UserRefusedError(RuntimeError):
    """Coder refused to create or change the user; the message names it and Coder's reason."""


class UserNotAdoptableError(RuntimeError):
    """A user that already exists in Coder cannot become this resource; nothing was changed."""


class UserGoneError(RuntimeError):
    """The user disappeared between refresh and update."""


class ServiceAccountsNotEntitledError(RuntimeError):
    """The deployment lacks the Premium ``service_accounts`` entitlement; nothing was changed."""


@dataclass(frozen=True)
class CoderUserArgs:
    url: pulumi.Input[str]
    token: pulumi.Input[str]
    username: pulumi.Input[str]
    email: pulumi.Input[str] | None = None  # required, except for a service account
    name: pulumi.Input[str] = ""
    login_type: pulumi.Input[str] = "oidc"  # oidc, github (people), password, none (service)
    password: pulumi.Input[str] | None = None  # only for login_type password
    # owner, template-admin, user-admin, auditor; None: not managed (the IdP's role sync owns them)
    roles: Sequence[pulumi.Input[str]] | None = ()
    suspended: pulumi.Input[bool] = False
    on_delete: pulumi.Input[str] = "suspend"  # or "delete"


class CoderUserProvider(TokenAuthenticatedProvider):
    """CRUD for one user; see the module docstring for the contract it keeps."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        """C1, and the login type this input replaces (when it changed and the username did
        not), so ``create`` can delete exactly the user being replaced."""
        checked = {key: value for key, value in news.items() if key != REPLACES_LOGIN_TYPE}
        old_type, new_type = olds.get("login_type"), news.get("login_type")
        if (
            isinstance(old_type, str)
            and is_known(new_type)
            and old_type != new_type
            and olds.get("username") == news.get("username")
        ):
            checked[REPLACES_LOGIN_TYPE] = old_type
        return dyn.CheckResult(checked, user_failures(inputs_of(news)))

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        """Create the user, then set its roles and status; an existing user with this username
        and login type is adopted and converged."""
        props = inputs_of(props)
        raise_on_failures("CoderUser", user_failures(props))
        with self._client(props) as client:
            user = self._create_or_adopt(client, props)
            user = _converge(client, user, props, password_changed=False)
        return dyn.CreateResult(user.id, _outs(props, user))

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        """Zero writes: one GET /users/{username}. Gone when Coder has no such user, or when
        the name now belongs to another user (deleted and re-made by hand); otherwise the live
        profile, roles and status, so a hand change shows as drift."""
        props = inputs_of(props)
        log = logging.getLogger(LOGGER_NAME)
        username = props.get("username")
        with self._client(props) as client:
            found = read_with_current_token(client, props, lambda c: c.get_user(str(username)))
        if found is None:
            log.warning(
                "user %s: the token in state was refused (rotated or revoked); it is re-checked "
                "with the current token on the next update",
                username,
            )
            return dyn.ReadResult(id_, {**props, UNVERIFIED: True})
        user, props = found
        if user is None or user.id != id_:
            log.warning(
                "user %s is gone from Coder (deleted, or a database reset); it will be created "
                "again",
                username,
            )
            return gone()
        if user.email.lower() != str(props.get("email") or "").lower():  # "" for a service account
            log.warning(
                "user %s: Coder holds another email than the stack declares; Coder has no API "
                "to change it (an OIDC login sets it from the identity provider)",
                username,
            )
        return dyn.ReadResult(id_, _outs(props, user))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        """Only declared properties count (never the token). A login type change replaces the
        user; everything else converges in place. No API call."""
        olds, news = inputs_of(olds), inputs_of(news)
        old, new = comparable(olds), comparable(news)
        if not roles_managed(news):
            old["roles"] = new["roles"] = None
        replaces = declared_changes(old, new, REPLACING_INPUTS)
        updates = declared_changes(old, new, UPDATING_INPUTS)
        if olds.get(UNVERIFIED):
            updates.append(UNVERIFIED)
        if replaces:
            logging.getLogger(LOGGER_NAME).warning(
                "user %s: login_type %s -> %s. %s",
                news.get("username"),
                olds.get("login_type"),
                news.get("login_type"),
                LOGIN_TYPE_REPLACED,
            )
        return dyn.DiffResult(changes=bool(replaces or updates), replaces=replaces)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        """Converge profile, roles, password and status where the live user differs (a
        hand-suspended user is reactivated, a changed role restored)."""
        olds, news = inputs_of(olds), inputs_of(news)
        raise_on_failures("CoderUser", user_failures(news))
        password_changed = comparable(olds)["password"] != comparable(news)["password"]
        with self._client(news) as client:
            user = client.get_user(id_)  # never a tombstone (see CoderClient.get_user)
            if user is None:
                raise UserGoneError(
                    f"user {news['username']!r} was deleted from Coder after the last refresh: "
                    "run again with refresh (reconcile does) so it is created again"
                )
            user = _converge(client, user, news, password_changed=password_changed)
        return dyn.UpdateResult(_outs(news, user))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Suspend (the default: a person's workspaces and history stay) or, with
        ``on_delete="delete"``, delete. Already gone is success (C2)."""
        props = inputs_of(props)
        username = str(props.get("username"))
        log = logging.getLogger(LOGGER_NAME)
        with self._client(props) as client:
            if props.get("on_delete") == "delete":
                if _delete(client, id_, username):
                    log.info("user %s removed from the stack: deleted from Coder", username)
                return
            user = client.get_user(id_)  # never a tombstone (see CoderClient.get_user)
            if user is None:
                log.info("user %s was already gone from Coder", username)
                return
            try:
                if user.site_roles and roles_managed(props):
                    _remove_roles(client, user, username)
                if not user.suspended:
                    client.suspend_user(user.id, username=username)
            except CoderSelfTargetError:
                raise UserRefusedError(f"user {username!r}: {AUTOMATION_IDENTITY}") from None
        log.info(
            "user %s removed from the stack: suspended in Coder, site roles removed "
            "(on_delete=delete deletes instead)",
            username,
        )

    # -- create ---------------------------------------------------------------------------------

    def _create_or_adopt(self, client: CoderClient, props: Mapping[str, Any]) -> User:
        """Look first (no write): a live user with this username is adopted only when it is
        the same account (email and login type); a service account needs the entitlement."""
        username, wanted = props["username"], props["login_type"]
        log = logging.getLogger(LOGGER_NAME)
        existing = client.get_user(username)
        if existing is None:
            _require_service_accounts(client, props)
            user = _post(client, props)
            log.info("created Coder user %s (login type %s)", username, wanted)
            return user
        if existing.id == client.me().id:
            raise UserNotAdoptableError(f"user {username!r}: {AUTOMATION_IDENTITY}")
        if existing.login_type != wanted and props.get(REPLACES_LOGIN_TYPE) == existing.login_type:
            _require_service_accounts(client, props)
            log.warning("user %s: %s", username, LOGIN_TYPE_REPLACED)
            _delete(client, existing.id, username)
            user = _post(client, props)
            log.info("re-created Coder user %s (login type %s)", username, wanted)
            return user
        declared = str(props.get("email") or "")
        if existing.email.lower() != declared.lower():
            raise UserNotAdoptableError(
                f"user {username!r} already exists in Coder with another email than the stack "
                f"declares ({_email_or_none(existing.email)} in Coder, "
                f"{_email_or_none(declared)} declared): it is another account (one that signed "
                "up under this username, say), so it is not adopted and given the declared "
                "roles. Rename or delete that user in Coder, or declare another username. "
                "Nothing was changed."
            )
        if existing.login_type != wanted:
            raise UserNotAdoptableError(
                f"user {username!r} already exists in Coder with login type "
                f"{existing.login_type!r}, not {wanted!r}, and Coder cannot change a user's "
                f"login type. Declare login_type {existing.login_type!r}, or delete the user "
                "in Coder and run again. Nothing was changed."
            )
        log.info("adopting existing Coder user %s (username, email and login type match)", username)
        if wanted == "password":
            client.update_password(existing.id, props["password"])
        return existing


def _email_or_none(email: str) -> str:
    return repr(email) if email else "none"


def _require_service_accounts(client: CoderClient, props: Mapping[str, Any]) -> None:
    """A service account needs the Premium ``service_accounts`` entitlement: asked of
    ``GET /entitlements`` before any write, so a missing license changes nothing."""
    if props.get("login_type") != SERVICE_ACCOUNT:
        return
    refusal = not_entitled_message(
        f"user {props['username']!r}",
        "Coder creates a service account (login_type none) only with",
        SERVICE_ACCOUNTS_FEATURE,
        "declare another login type",
    )
    require_entitlements(
        client, [SERVICE_ACCOUNTS_FEATURE], lambda _: ServiceAccountsNotEntitledError(refusal)
    )


def _post(client: CoderClient, props: Mapping[str, Any]) -> User:
    """POST /users; a refusal other than 409 names the user and Coder's reason. A 409 here
    means the email is taken (the username was looked up just before)."""
    username, login_type = props["username"], props["login_type"]
    try:
        return client.create_user(
            username,
            None if login_type == SERVICE_ACCOUNT else props["email"],
            name=props.get("name") or "",
            login_type=login_type,
            password=props.get("password") if login_type == "password" else None,
        )
    except CoderConflictError:
        raise UserNotAdoptableError(
            f"user {username!r} cannot be created: Coder already has a user with the email "
            f"{props.get('email')!r} under another username (Coder keeps emails unique). Rename "
            "that user back in Coder, or declare another email. Nothing was changed."
        ) from None
    except CoderApiError as error:
        if error.status not in (400, 403):
            raise
        raise UserRefusedError(
            f"user {username!r} (login type {login_type}): Coder refused to create it: "
            f"{error.message}"
        ) from None


def _delete(client: CoderClient, user_id: str, username: str) -> bool:
    try:
        return client.delete_user(user_id, username=username)
    except CoderUserInUseError:
        raise UserRefusedError(
            f"user {username!r} cannot be deleted: they own workspaces, and Coder deletes a "
            "user only when they own none. Delete or transfer the workspaces first, or keep "
            "the user (on_delete=suspend). Nothing was changed."
        ) from None
    except CoderSelfTargetError:
        raise UserRefusedError(f"user {username!r}: {AUTOMATION_IDENTITY}") from None


def _converge(
    client: CoderClient, user: User, props: Mapping[str, Any], *, password_changed: bool
) -> User:
    """Write only what differs: profile, roles (when managed), password (when the declared one
    changed), then status (roles first: Coder will not suspend an owner)."""
    username, name = props["username"], props.get("name") or ""
    wanted_roles = roles_of(props.get("roles"))
    log = logging.getLogger(LOGGER_NAME)
    try:
        if (user.username, user.name) != (username, name):
            user = client.update_profile(user.id, username, name)
            log.info("user %s: profile updated", username)
        if roles_managed(props) and user.site_roles != wanted_roles:
            user = _set_roles(client, user, wanted_roles, username)
            log.info("user %s: site roles set to %s", username, ", ".join(wanted_roles) or "none")
        if password_changed and props.get("login_type") == "password":
            client.update_password(user.id, props["password"])
            log.info("user %s: password updated", username)
        if props.get("suspended") and not user.suspended:
            user = client.suspend_user(user.id, username=username)
            log.info("user %s: suspended", username)
        elif not props.get("suspended") and user.suspended:
            user = client.activate_user(user.id, username=username)
            log.info("user %s: reactivated", username)
    except CoderSelfTargetError:
        raise UserRefusedError(f"user {username!r}: {AUTOMATION_IDENTITY}") from None
    return user


def _remove_roles(client: CoderClient, user: User, username: str) -> None:
    """Before a suspension (Coder will not suspend an owner). While the IdP's role sync owns
    the user's roles, Coder refuses; they are the IdP's to remove, so the user is suspended
    with them (Coder then refuses an owner, naming the role)."""
    try:
        client.update_roles(user.id, [], username=username)
    except CoderRoleSyncError:
        logging.getLogger(LOGGER_NAME).warning(
            "user %s: site roles left as they are: the identity provider's role sync owns them",
            username,
        )


def _set_roles(client: CoderClient, user: User, roles: list[str], username: str) -> User:
    """PUT the site roles; Coder's role-sync refusal names the user and both fixes."""
    try:
        return client.update_roles(user.id, roles, username=username)
    except CoderRoleSyncError as error:
        raise UserRefusedError(
            f"user {username!r}: Coder refuses to set the site roles of an OIDC user while the "
            f"identity provider's role sync owns them ({error.message}). Remove roles from "
            f"this user in seeding.users (unset: the IdP owns them), or turn Coder's site role "
            f"sync off (unset {OIDC_USER_ROLE_FIELD_ENV}). Nothing else was changed."
        ) from None


def _outs(props: Mapping[str, Any], user: User) -> dict[str, Any]:
    """The declared inputs with Coder's live view of the compared ones, and the user's id."""
    kept = {key: value for key, value in props.items() if key != REPLACES_LOGIN_TYPE}
    return {
        **kept,
        "user_id": user.id,
        "status": user.status,
        "username": user.username,
        "email": user.email,
        "name": user.name,
        "login_type": user.login_type,
        "roles": user.site_roles if roles_managed(props) else None,
        "suspended": user.suspended,
        UNVERIFIED: False,
    }


class CoderUser(dyn.Resource, module="coder", name="CoderUser"):
    """Type token ``pulumi-python:dynamic/coder:CoderUser``; outputs ``user_id`` and ``status``
    (Coder's: active, dormant or suspended). The token and the password are kept secret."""

    user_id: pulumi.Output[str]
    status: pulumi.Output[str]

    def __init__(
        self, name: str, args: CoderUserArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "url": args.url,
            "token": pulumi.Output.secret(args.token),
            "username": args.username,
            "email": args.email,
            "name": args.name,
            "login_type": args.login_type,
            "password": None if args.password is None else pulumi.Output.secret(args.password),
            "roles": None if args.roles is None else list(args.roles),
            "suspended": args.suspended,
            "on_delete": args.on_delete,
            "user_id": None,
            "status": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["token", "password"])
        super().__init__(
            CoderUserProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret)
        )
