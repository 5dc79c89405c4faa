"""CoderFirstUser: Coder's first (Owner) user, ensured through ``/users/first``.

The first user is a DEDICATED AUTOMATION IDENTITY, never a person's account: Owners keep password
login even when ``CODER_DISABLE_PASSWORD_AUTH`` turns it off for everyone else, which is what lets
the automation log in and mint its token after any reset; humans are OIDC users
granted the owner role. Its inputs come from the secrets pipeline, never from a template parameter
(contract C5).

Contract clauses served: C1 (``check`` names every bad field, never a value), C2 (an existing first
user is success: GET 200 or POST 409 never leads to a second POST), C3 (``read`` reports the user
gone when Coder has no first user, i.e. a database reset, so ``up --refresh`` re-creates it).

The provider is pickled into state: it holds no client and no logger; each method builds its
``CoderClient`` from ``client_factory`` (tests inject one bound to the in-process double).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic as dyn

from coder_platform.coder_api import (
    CoderAuthError,
    CoderCheckError,
    CoderClient,
    CoderConflictError,
)
from components.providers.common import (
    ClientFactory,
    CoderResourceProvider,
    gone,
    identity_failures,
    inputs_of,
    logout_quietly,
    open_client,
    raise_on_failures,
)

LOGGER_NAME = "coder_platform.coder_first_user"


@dataclass(frozen=True)
class CoderFirstUserArgs:
    url: pulumi.Input[str]
    email: pulumi.Input[str]
    username: pulumi.Input[str]
    full_name: pulumi.Input[str]
    password: pulumi.Input[str]


class CoderFirstUserProvider(CoderResourceProvider):
    """CRUD for the first user; see the module docstring for the contract it keeps."""

    def __init__(self, client_factory: ClientFactory | None = None) -> None:
        super().__init__()
        self._client_factory = client_factory

    def _client(self, url: str) -> CoderClient:
        return open_client(self._client_factory, url)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        return dyn.CheckResult(news, identity_failures(news))

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        props = inputs_of(props)
        raise_on_failures("CoderFirstUser", identity_failures(props))
        with self._client(props["url"]) as client:
            user_id = self._ensure(client, props)
        return dyn.CreateResult(user_id, {**props, "user_id": user_id})

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        """Zero writes: GET /users/first. No first user means the database was reset: gone."""
        props = inputs_of(props)
        with self._client(props["url"]) as client:
            if not client.has_first_user():
                logging.getLogger(LOGGER_NAME).warning(
                    "Coder has no first user (database reset?); it will be created again"
                )
                return gone()
        return dyn.ReadResult(id_, props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        """Another server or identity is another first user (replace); a new name or password
        only needs the identity re-verified (update)."""
        replaces = [key for key in ("url", "email", "username") if olds.get(key) != news.get(key)]
        changed = replaces or [k for k in ("full_name", "password") if olds.get(k) != news.get(k)]
        return dyn.DiffResult(changes=bool(changed), replaces=replaces)

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        """Coder is not written to: the update proves the identity still logs in as configured."""
        news = inputs_of(news)
        raise_on_failures("CoderFirstUser", identity_failures(news))
        with self._client(news["url"]) as client:
            user_id = self._verify_identity(client, news)
        return dyn.UpdateResult({**news, "user_id": user_id})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Forget, don't delete: Coder cannot delete its own last Owner, and the identity must
        outlive any one stack (the next ``up`` adopts it through login)."""
        logging.getLogger(LOGGER_NAME).info("first user left in Coder; removed from state only")

    def _ensure(self, client: CoderClient, props: dict[str, Any]) -> str:
        """Create the first user once; an existing one (GET 200 or a racing 409) is success."""
        if not client.has_first_user():
            try:
                user_id = client.create_first_user(
                    props["email"],
                    props["username"],
                    props.get("full_name") or "",
                    props["password"],
                )
            except CoderConflictError:
                pass
            else:
                logging.getLogger(LOGGER_NAME).info(
                    "created Coder first user %s", props["username"]
                )
                return user_id
        return self._verify_identity(client, props)

    def _verify_identity(self, client: CoderClient, props: dict[str, Any]) -> str:
        """Log in as the configured identity and check it is the Owner we expect (C1)."""
        try:
            client.authenticate(client.login(props["email"], props["password"]))
        except CoderAuthError as error:
            raise CoderAuthError(
                error.method,
                error.path,
                error.status,
                "a first user exists but the configured email/password cannot log in: the first "
                "user must be the dedicated automation identity; fix the bootstrap secret or "
                "recover with `coder server create-admin-user`",
            ) from None
        try:
            me = client.me()
        finally:
            logout_quietly(client)
        if me.username != props["username"] or not me.is_owner:
            raise CoderCheckError(
                "GET",
                "/users/me",
                f"the configured email logs in as {me.username!r} (owner={me.is_owner}), not as "
                f"the Owner {props['username']!r}: fix username or the bootstrap secret",
            )
        return me.id


class CoderFirstUser(dyn.Resource, module="coder", name="CoderFirstUser"):
    """Type token ``pulumi-python:dynamic/coder:CoderFirstUser``; outputs ``user_id``,
    ``username``, ``email`` (and the password, kept secret). A dedicated automation identity,
    never a person's account (see the module docstring)."""

    user_id: pulumi.Output[str]
    username: pulumi.Output[str]
    email: pulumi.Output[str]

    def __init__(
        self, name: str, args: CoderFirstUserArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "url": args.url,
            "email": args.email,
            "username": args.username,
            "full_name": args.full_name,
            "password": pulumi.Output.secret(args.password),
            "user_id": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        super().__init__(
            CoderFirstUserProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret)
        )
