"""What every Coder dynamic provider shares: client construction, the "gone" answer, input checks.

Dynamic providers are pickled into state and run in the engine's provider host, so each one
holds no client or logger of its own; they build a ``CoderClient`` per call through a
``ClientFactory`` (tests inject one bound to the in-process Coder double).
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

import pulumi
import pulumi.dynamic as dyn
from pulumi.output import Unknown

from coder_platform import coder_writes
from coder_platform.coder_api import CoderApiError, CoderAuthError, CoderClient
from coder_platform.contracts import CURRENT_CODER_TOKEN_ENV, PROJECT
from components.providers.sdk_internals import PROVIDER_KEY, UNKNOWN, unwrap_rpc_secret

LOGGER_NAME = "coder_platform.providers"
# Where a stack declares its license: every Premium refusal names it as the fix.
LICENSE_CONFIG_KEY = f"{PROJECT}:seeding.license"
USERNAME_PATTERN = re.compile(r"[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*")
USERNAME_MAX = 32
PASSWORD_MIN = 8

ClientFactory = Callable[[str], CoderClient]
T = TypeVar("T")
# An output that says ``read`` could not look (the token in state was refused and the runner
# handed over no other): ``diff`` then shows a change, and ``update`` re-checks with the
# current token, writing to Coder only what really drifted.
UNVERIFIED = "unverified"


def gone() -> dyn.ReadResult:
    """What ``read`` returns for a resource that no longer exists: an empty id (the engine then
    drops it from state on refresh, and the next ``up`` creates it again). Outs stay a dict: the
    dynamic provider host adds its ``__provider`` key to them."""
    return dyn.ReadResult("", {})


def default_client(url: str) -> CoderClient:
    return CoderClient(url)


# The clients one provider operation opened (per thread: the host serves calls concurrently).
_OPENED: ContextVar[list[CoderClient] | None] = ContextVar("coder_clients_opened", default=None)
# The provider operations whose Coder writes are recorded (read and diff must write nothing; if
# one ever did, the report would show it).
RECORDED_OPERATIONS = ("create", "read", "diff", "update", "delete")


def open_client(factory: ClientFactory | None, url: str) -> CoderClient:
    """A client for one operation, counted towards that operation's recorded writes."""
    client = (factory or default_client)(url)
    opened = _OPENED.get()
    if opened is not None:
        opened.append(client)
    return client


def _recording_writes(kind: str, op: str, method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def operation(self: Any, *args: Any, **kwargs: Any) -> T:
        opened: list[CoderClient] = []
        token = _OPENED.set(opened)
        try:
            return method(self, *args, **kwargs)
        finally:  # a failed operation's writes landed all the same
            _OPENED.reset(token)
            coder_writes.record(kind, op, sum(client.write_count for client in opened))

    return operation


class CoderResourceProvider(dyn.ResourceProvider):
    """A provider of a seeded Coder resource: the Coder writes each of its operations makes are
    recorded for the run's report (``coder_platform.coder_writes``), under the resource kind
    (the class name without ``Provider``: ``CoderUserProvider`` writes as ``CoderUser``).

    Pickled into state by module path like any provider here: the recording lives in the class,
    so state written before it existed loads and records the same.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__name__.removesuffix("Provider")
        for op in RECORDED_OPERATIONS:
            if op in cls.__dict__:
                setattr(cls, op, _recording_writes(kind, op, cls.__dict__[op]))


def is_known(value: Any) -> bool:
    """False for a value the engine does not know yet (preview); it is checked once known.

    The real engine sends an unknown that depends on another resource (the automation token at
    the first preview) as an output value, which the SDK hands over as ``pulumi.output.Unknown``
    (or an ``Output``), not the ``UNKNOWN`` string: all count as not known.
    """
    if isinstance(value, pulumi.Output | Unknown):
        return False
    return not (isinstance(value, str) and value == UNKNOWN)


def is_http_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def whole_number(value: Any) -> int | None:
    """An int from an int or an integral float (the engine sends numbers as floats: 168.0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


def declared_changes(olds: dict[str, Any], news: dict[str, Any], keys: Iterable[str]) -> list[str]:
    """The keys among ``keys`` whose value changed; a value unknown at preview counts as changed.

    Only the keys a caller names are compared, so what a resource merely carries (credentials,
    where a file is read from) never shows as a diff: a token rotation changes nothing else.
    """
    return [key for key in keys if not is_known(news.get(key)) or olds.get(key) != news.get(key)]


def identity_failures(props: dict[str, Any]) -> list[dyn.CheckFailure]:
    """C1 checks of the automation identity's inputs; messages name the field, never the value."""
    failures: list[dyn.CheckFailure] = []

    def fail(field: str, reason: str) -> None:
        failures.append(dyn.CheckFailure(field, f"{field}: {reason}"))

    url, email = props.get("url"), props.get("email")
    username, password = props.get("username"), props.get("password")
    if is_known(url) and not is_http_url(url):
        fail("url", "must be the Coder access URL, starting with http:// or https://")
    if is_known(email) and not (isinstance(email, str) and "@" in email.strip("@")):
        fail("email", "must be an email address")
    if is_known(username) and not (
        isinstance(username, str)
        and len(username) <= USERNAME_MAX
        and USERNAME_PATTERN.fullmatch(username)
    ):
        fail("username", f"must be 1-{USERNAME_MAX} letters, digits or inner hyphens")
    if is_known(password) and not (isinstance(password, str) and len(password) >= PASSWORD_MIN):
        fail(
            "password", f"is required (at least {PASSWORD_MIN} characters, from the secrets store)"
        )
    return failures


def not_entitled_message(subject: str, refusal: str, feature: str, remedy: str) -> str:
    """Why a Premium setting stops a run, as every provider says it: ``subject`` (the resource),
    Coder's ``refusal`` (what it will not do without the feature), the feature, where that was
    read, and both fixes (a license, or ``remedy``: the config without the setting)."""
    return (
        f"{subject}: {refusal} the Premium {feature!r} entitlement, which this deployment does "
        f"not have (GET /api/v2/entitlements). Configure a license that grants it "
        f"({LICENSE_CONFIG_KEY}), or {remedy}. Nothing was changed."
    )


def require_entitlements(
    client: CoderClient, features: Iterable[str], refused: Callable[[str], Exception]
) -> None:
    """Premium features asked of ``GET /entitlements`` once, before any write, so a missing
    license changes nothing (coderd refuses some without the feature and silently ignores
    others); ``refused(feature)`` is raised for the first one not granted. None asked: no call.
    """
    wanted = sorted(set(features))
    if not wanted:
        return
    entitlements = client.entitlements()
    for feature in wanted:
        if not entitlements.allows(feature):
            raise refused(feature)


def raise_on_failures(kind: str, failures: list[dyn.CheckFailure]) -> None:
    if failures:
        reasons = "; ".join(failure.reason for failure in failures)
        raise ValueError(f"invalid {kind} inputs: {reasons}")


def logout_quietly(client: CoderClient) -> None:
    """End the login session; a failure here must not fail the step that already succeeded."""
    try:
        client.logout()
    except CoderApiError as error:
        logging.getLogger(LOGGER_NAME).warning("logout failed: %s", error)


def inputs_of(props: dict[str, Any]) -> dict[str, Any]:
    """The plain property values, without the engine's pickled ``__provider``. The host is
    configured not to accept secrets, so values arrive unwrapped; unwrap anyway to be sure."""
    return {key: unwrap_rpc_secret(value) for key, value in props.items() if key != PROVIDER_KEY}


def current_token(stored: object) -> str | None:
    """This run's automation token, when the runner handed over one that differs from the token
    a resource stored: after a rotation the stored one is revoked, and ``read`` sees only state.
    """
    value = os.environ.get(CURRENT_CODER_TOKEN_ENV)
    return value if value and value != stored else None


def connection_failures(props: Mapping[str, Any]) -> list[dyn.CheckFailure]:
    """C1 checks of how a seeded resource reaches Coder: the access URL and the automation token
    (named, never echoed)."""
    failures: list[dyn.CheckFailure] = []
    url, token = props.get("url"), props.get("token")
    if is_known(url) and not is_http_url(url):
        failures.append(
            dyn.CheckFailure(
                "url", "url: must be the Coder access URL, starting with http:// or https://"
            )
        )
    if is_known(token) and not (isinstance(token, str) and token):
        failures.append(
            dyn.CheckFailure("token", "token: is required (the automation identity's API token)")
        )
    return failures


class TokenAuthenticatedProvider(CoderResourceProvider):
    """A provider whose resource carries the Coder URL and the automation token. Pickled into
    state, so it holds only the optional ``client_factory`` (tests bind one to the double)."""

    def __init__(self, client_factory: ClientFactory | None = None) -> None:
        super().__init__()
        self._client_factory = client_factory

    def _client(self, props: Mapping[str, Any]) -> CoderClient:
        client = open_client(self._client_factory, props["url"])
        client.authenticate(props["token"])
        return client


def read_with_current_token(
    client: CoderClient, props: dict[str, Any], look: Callable[[CoderClient], T]
) -> tuple[T, dict[str, Any]] | None:
    """``look`` with the token in state; when Coder refuses it (a rotation revoked it), once more
    with the runner's current token, which the returned props then keep for later reads. None
    when neither works: the caller reports the resource ``UNVERIFIED`` instead of failing."""
    try:
        return look(client), props
    except CoderAuthError:
        fresh = current_token(props.get("token"))
        if fresh is None:
            return None
        client.authenticate(fresh)
        return look(client), {**props, "token": fresh}
