"""CoderApiToken: the automation identity's API token, minted inside the server's cap and rotated
before it expires.

Why it exists: the incident's only token that could republish templates had expired. An Owner's
token is capped by ``CODER_MAX_ADMIN_TOKEN_LIFETIME`` (default 168h), so the token
is a resource with a lifetime and a rotation window: ``diff`` asks for a replacement once less than
``rotation_window_hours`` remains, and a refresh that finds the token dead (revoked, expired, or a
database reset) reports it gone instead of crashing, so the next ``up`` mints one.

Contract clauses served: C1 (inputs checked up front; a lifetime above the server cap fails before
any token is written, naming ``lifetime_hours`` and the cap), C2 (a 409 for the name is resolved
deterministically: the stale token, whose value is unknowable, is deleted and minted again; a
missing token on delete is success; ``read`` writes nothing), C3 (gone after a reset), and secrets
never appear in a message or a log line.

Rotation is make-before-break: a replacement is created before the old token is deleted
(``delete_before_replace`` is off), so the engine mints the new token, updates what depends on it
(the Vault secret that publishes it, the coderd provider), and only then revokes the old one. A
run killed in between leaves two valid tokens, never none. Token names are unique per user, so
each minted token's name carries a suffix (``minted_name``: ``<token_name>-<minute, base 36>``).

Like every dynamic provider it is pickled into state: it holds no client, logger or clock; each
method builds its ``CoderClient`` through ``client_factory`` (tests inject the in-process double).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
import pulumi.dynamic as dyn

from coder_platform.clock import Now, utc_now
from coder_platform.coder_api import (
    CoderApiError,
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
    is_known,
    logout_quietly,
    open_client,
    raise_on_failures,
)

LOGGER_NAME = "coder_platform.coder_token"
SECONDS_PER_HOUR = 3600
# The minted name adds "-" and the minute it was minted in base 36 (5 digits until 2084).
MINTED_SUFFIX_LENGTH = 6
TOKEN_NAME_MAX = 64 - MINTED_SUFFIX_LENGTH
REPLACING_INPUTS = ("url", "username", "token_name", "lifetime_hours")
UPDATING_INPUTS = ("email", "password", "rotation_window_hours")


def whole_hours(value: Any) -> int | None:
    """An hour count as an int; the engine sends numbers as floats (168.0). None if not whole."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


def token_failures(props: dict[str, Any]) -> list[dyn.CheckFailure]:
    """C1: the identity's fields plus the token's own; messages name the field, never a value."""
    failures = identity_failures(props)
    name = props.get("token_name")
    if is_known(name) and not (isinstance(name, str) and 0 < len(name) <= TOKEN_NAME_MAX):
        failures.append(
            dyn.CheckFailure("token_name", f"token_name: must be 1-{TOKEN_NAME_MAX} characters")
        )
    lifetime_raw, window_raw = props.get("lifetime_hours"), props.get("rotation_window_hours")
    lifetime, window = whole_hours(lifetime_raw), whole_hours(window_raw)
    if is_known(lifetime_raw) and (lifetime is None or lifetime < 1):
        failures.append(
            dyn.CheckFailure("lifetime_hours", "lifetime_hours: must be a whole number >= 1")
        )
    if is_known(window_raw) and (
        window is None or window <= 0 or (lifetime is not None and window >= lifetime)
    ):
        failures.append(
            dyn.CheckFailure(
                "rotation_window_hours",
                "rotation_window_hours: must be a whole number > 0 and < lifetime_hours",
            )
        )
    return failures


def minted_name(token_name: str, now: datetime) -> str:
    """The name a token is minted under: unique per minute, so the next one can coexist."""
    minute = int(now.timestamp()) // 60
    digits = ""
    while minute:
        minute, digit = divmod(minute, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + digits
    return f"{token_name}-{digits or '0'}"


def name_in_coder(props: dict[str, Any]) -> str:
    """What Coder calls this token: ``minted_name``, or ``token_name`` for state written before
    rotation became make-before-break."""
    minted = props.get("minted_name")
    return minted if isinstance(minted, str) and minted else str(props["token_name"])


def expires_at_of(props: dict[str, Any]) -> datetime | None:
    value = props.get("expires_at")
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class CoderApiTokenArgs:
    url: pulumi.Input[str]
    email: pulumi.Input[str]
    password: pulumi.Input[str]
    username: pulumi.Input[str]
    token_name: pulumi.Input[str]
    lifetime_hours: pulumi.Input[int]
    rotation_window_hours: pulumi.Input[int]


class CoderApiTokenProvider(CoderResourceProvider):
    """CRUD for one named API token of the automation identity; see the module docstring."""

    def __init__(
        self, client_factory: ClientFactory | None = None, clock: Now | None = None
    ) -> None:
        super().__init__()
        self._client_factory = client_factory
        self._clock = clock

    def _client(self, url: str) -> CoderClient:
        return open_client(self._client_factory, url)

    def _now(self) -> datetime:
        return (self._clock or utc_now)()

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        return dyn.CheckResult(news, token_failures(news))

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        props = inputs_of(props)
        raise_on_failures("CoderApiToken", token_failures(props))
        username = props["username"]
        token_name = minted_name(props["token_name"], self._now())
        lifetime = timedelta(hours=whole_hours(props["lifetime_hours"]) or 0)
        with self._client(props["url"]) as client:
            client.authenticate(client.login(props["email"], props["password"]))
            try:
                self._require_within_cap(client, username, lifetime)
                token = self._mint(client, username, token_name, lifetime)
                key = client.get_token(username, token_name)
            finally:
                logout_quietly(client)
        if key is None:
            raise CoderCheckError(
                "GET", "/users/{user}/keys/tokens/{name}", "the token just minted is not listed"
            )
        logging.getLogger(LOGGER_NAME).info(
            "minted token %s for %s, expires %s", token_name, username, key.expires_at.isoformat()
        )
        outs = {
            **props,
            "token": token,
            "minted_name": token_name,
            "key_id": key.id,
            "expires_at": key.expires_at.astimezone(UTC).isoformat(),
        }
        return dyn.CreateResult(key.id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        """Zero writes: the token reads its own record. A dead token (401/403), an unknown user,
        or a record with another id (re-minted out of band) all mean this token is gone."""
        props = inputs_of(props)
        token = props.get("token")
        if not isinstance(token, str) or not token:
            return gone()
        with self._client(props["url"]) as client:
            client.authenticate(token)
            try:
                key = client.get_token(props["username"], name_in_coder(props))
            except CoderAuthError:
                key = None
            except CoderApiError as error:
                if error.status != 400 or "existing uuid or username" not in error.message:
                    raise
                key = None
        if key is None or key.id != id_:
            logging.getLogger(LOGGER_NAME).warning(
                "token %s is gone from Coder (revoked, expired or reset); it will be minted again",
                props.get("token_name"),
            )
            return gone()
        return dyn.ReadResult(
            id_, {**props, "expires_at": key.expires_at.astimezone(UTC).isoformat()}
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        """Replace on a new server, identity, name or lifetime, and once the token is inside its
        rotation window. The new token is minted first and the old one deleted last (see the
        module docstring)."""
        olds, news = inputs_of(olds), inputs_of(news)
        replaces = [key for key in REPLACING_INPUTS if olds.get(key) != news.get(key)]
        expires_at = expires_at_of(olds)
        window = whole_hours(news.get("rotation_window_hours"))
        if expires_at is None or (
            window is not None and expires_at - self._now() < timedelta(hours=window)
        ):
            replaces.append("expires_at")
        updates = [key for key in UPDATING_INPUTS if olds.get(key) != news.get(key)]
        return dyn.DiffResult(
            changes=bool(replaces or updates), replaces=replaces, delete_before_replace=False
        )

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        """Only inputs that do not touch the token changed: record them, write nothing."""
        olds, news = inputs_of(olds), inputs_of(news)
        raise_on_failures("CoderApiToken", token_failures(news))
        kept = {key: olds.get(key) for key in ("token", "minted_name", "key_id", "expires_at")}
        return dyn.UpdateResult({**news, **kept})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete with the token itself; if it is dead, log in to remove its record. If neither
        works (the database was reset), there is nothing left to delete (C2)."""
        props = inputs_of(props)
        username = props["username"]
        with self._client(props["url"]) as client:
            token = props.get("token")
            if isinstance(token, str) and token:
                client.authenticate(token)
                try:
                    client.delete_token(username, id_)
                    return
                except CoderAuthError:
                    pass
            try:
                client.authenticate(client.login(props["email"], props["password"]))
            except CoderAuthError:
                logging.getLogger(LOGGER_NAME).warning(
                    "token %s: neither it nor the automation identity can log in; "
                    "treating it as already gone",
                    props.get("token_name"),
                )
                return
            try:
                client.delete_token(username, id_)
            finally:
                logout_quietly(client)

    def _require_within_cap(self, client: CoderClient, username: str, lifetime: timedelta) -> None:
        cap = client.token_config(username)
        if lifetime > cap:
            hours = cap.total_seconds() / SECONDS_PER_HOUR
            raise CoderCheckError(
                "GET",
                "/users/{user}/keys/tokens/tokenconfig",
                f"lifetime_hours ({lifetime.total_seconds() / SECONDS_PER_HOUR:g}) exceeds the "
                f"server's token cap for {username!r} ({hours:g}h; for an Owner that is "
                "CODER_MAX_ADMIN_TOKEN_LIFETIME): raise the cap or lower lifetime_hours",
            )

    def _mint(self, client: CoderClient, username: str, token_name: str, life: timedelta) -> str:
        """Mint the token; a 409 means a stale one holds the name: delete it, mint again once."""
        seconds = int(life.total_seconds())
        try:
            return client.create_token(username, token_name, seconds)
        except CoderConflictError:
            stale = client.get_token(username, token_name)
            if stale is not None:
                client.delete_token(username, stale.id)
            logging.getLogger(LOGGER_NAME).info("replaced stale token %s", token_name)
            return client.create_token(username, token_name, seconds)


class CoderApiToken(dyn.Resource, module="coder", name="CoderApiToken"):
    """Type token ``pulumi-python:dynamic/coder:CoderApiToken``; outputs ``token`` (secret),
    ``minted_name`` (its name in Coder), ``key_id`` and ``expires_at`` (ISO 8601, UTC)."""

    token: pulumi.Output[str]
    minted_name: pulumi.Output[str]
    key_id: pulumi.Output[str]
    expires_at: pulumi.Output[str]

    def __init__(
        self, name: str, args: CoderApiTokenArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props: dict[str, Any] = {
            "url": args.url,
            "email": args.email,
            "password": pulumi.Output.secret(args.password),
            "username": args.username,
            "token_name": args.token_name,
            "lifetime_hours": args.lifetime_hours,
            "rotation_window_hours": args.rotation_window_hours,
            "token": None,
            "minted_name": None,
            "key_id": None,
            "expires_at": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["token", "password"])
        super().__init__(
            CoderApiTokenProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret)
        )
