"""What the runner asks Coder, and the post-conditions a converged stack must meet (C3).

The runner only reads Coder: readiness, whether a first user exists (the reset signal), the
templates and their active versions, and whether the published automation token works. Every
client it opens counts writes (``write_count``), so the report proves a no-op run wrote nothing.
The ``CoderReader`` protocol is the part of ``coder_platform.coder_api.CoderClient`` the runner
uses; tests substitute the in-process Coder double behind the real client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from automation.engine.state_edits import resources_of
from coder_platform.coder_api import (
    CoderApiError,
    CoderAuthError,
    CoderClient,
    CoderUnreachableError,
)
from coder_platform.contracts import CODER_API_TOKEN_TYPE, CODER_TEMPLATE_TYPE

UNREACHABLE_CHECK = "reachable"


class TemplateInfo(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def active_version_id(self) -> str: ...


class CoderReader(Protocol):
    write_count: int
    readiness_probes: int

    def wait_until_ready(self, deadline_seconds: float) -> object: ...

    def has_first_user(self) -> bool: ...

    def list_templates(self) -> Sequence[TemplateInfo]: ...

    def me(self) -> object: ...

    def close(self) -> None: ...


class CoderSite(Protocol):
    """One Coder deployment: clients on demand, and the token the stack publishes to Vault."""

    @property
    def url(self) -> str: ...

    @property
    def token_source(self) -> str | None:
        """Where the automation token is published (e.g. ``vault:platform/coder/...``), or
        ``None`` when this stack publishes none the runner can read."""
        ...

    def client(self, token: str | None) -> CoderReader: ...

    def published_token(self) -> str | None: ...


@dataclass(frozen=True)
class ExpectedTemplate:
    name: str
    active_version_id: str | None


@dataclass(frozen=True)
class CoderCheck:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class CoderVerification:
    checks: tuple[CoderCheck, ...]
    writes: int

    @property
    def failures(self) -> list[CoderCheck]:
        return [check for check in self.checks if not check.ok]


class ClientCoderSite:
    """The real site: ``CoderClient`` per call, the token from a reader (Vault KV in-cluster)."""

    def __init__(
        self,
        url: str,
        token_reader: Callable[[], str | None] | None,
        token_source: str | None,
        client_factory: Callable[[str, str | None], CoderReader] | None = None,
    ) -> None:
        self._url = url.rstrip("/")
        self._token_reader = token_reader
        self._token_source = token_source if token_reader else None
        self._factory = client_factory or _default_client

    def __repr__(self) -> str:
        return f"ClientCoderSite(url={self._url!r})"

    @property
    def url(self) -> str:
        return self._url

    @property
    def token_source(self) -> str | None:
        return self._token_source

    def client(self, token: str | None) -> CoderReader:
        return self._factory(self._url, token)

    def published_token(self) -> str | None:
        return self._token_reader() if self._token_reader else None


def _default_client(url: str, token: str | None) -> CoderReader:
    return CoderClient(url, token, max_attempts=3)


def expected_templates(state: Mapping[str, Any]) -> list[ExpectedTemplate]:
    """Templates the state says exist, with the active version it recorded (when it did)."""
    expected: list[ExpectedTemplate] = []
    for resource in resources_of(state):
        kind = resource.get("type")
        outputs = resource.get("outputs") or {}
        name = outputs.get("name")
        if kind != CODER_TEMPLATE_TYPE or not isinstance(name, str):
            continue
        # CoderTemplate records the version it built as ``version_id``.
        version = outputs.get("version_id")
        expected.append(ExpectedTemplate(name, version if isinstance(version, str) else None))
    return expected


def token_expiry(state: Mapping[str, Any]) -> datetime | None:
    """When the automation token recorded in state expires (its ``expires_at`` output)."""
    for resource in resources_of(state):
        if resource.get("type") != CODER_API_TOKEN_TYPE:
            continue
        value = (resource.get("outputs") or {}).get("expires_at")
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                return None
    return None


def verify_coder(
    site: CoderSite, expected: Sequence[ExpectedTemplate], deadline_seconds: float
) -> CoderVerification:
    """Post-conditions: first user exists, every template is present at its active version,
    and the published token authenticates. Reads only."""
    checks: list[CoderCheck] = []
    anonymous = site.client(None)
    clients = [anonymous]
    try:
        anonymous.wait_until_ready(deadline_seconds)
        first = anonymous.has_first_user()
        checks.append(CoderCheck("first-user", first, "exists" if first else "missing"))
        if site.token_source is None:
            checks.append(CoderCheck("token", True, "skipped: this stack publishes no token"))
            return CoderVerification(tuple(checks), anonymous.write_count)
        token = site.published_token()
        if token is None:
            detail = f"no automation token is published at {site.token_source}"
            checks.append(CoderCheck("token", False, detail))
            return CoderVerification(tuple(checks), anonymous.write_count)
        authed = site.client(token)
        clients.append(authed)
        try:
            authed.me()
        except CoderAuthError as error:
            checks.append(CoderCheck("token", False, f"the published token is rejected: {error}"))
            return CoderVerification(tuple(checks), sum(c.write_count for c in clients))
        checks.append(CoderCheck("token", True, "the published token authenticates"))
        checks.extend(_template_checks(authed.list_templates(), expected))
    except CoderUnreachableError as error:
        checks.append(CoderCheck(UNREACHABLE_CHECK, False, str(error)))
    except CoderApiError as error:
        checks.append(CoderCheck("coder-api", False, str(error)))
    finally:
        for client in clients:
            client.close()
    return CoderVerification(tuple(checks), sum(c.write_count for c in clients))


def _template_checks(
    found: Sequence[TemplateInfo], expected: Sequence[ExpectedTemplate]
) -> list[CoderCheck]:
    by_name = {template.name: template for template in found}
    checks: list[CoderCheck] = []
    for template in expected:
        actual = by_name.get(template.name)
        name = f"template:{template.name}"
        if actual is None:
            checks.append(CoderCheck(name, False, "missing in Coder"))
        elif not actual.active_version_id:
            checks.append(CoderCheck(name, False, "has no active version"))
        elif template.active_version_id and actual.active_version_id != template.active_version_id:
            checks.append(CoderCheck(name, False, "active version differs from the one in state"))
        else:
            checks.append(CoderCheck(name, True, "present at its active version"))
    return checks
