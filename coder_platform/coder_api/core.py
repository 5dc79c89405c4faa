"""The core of the one Coder API client: transport, retries, typed errors, redaction, and the
endpoints every caller needs (build info, the first user, tokens, template listing).

Endpoint groups with a seam of their own extend ``CoderClientCore`` in sibling modules, and
``client.CoderClient`` composes them.

Shared by the dynamic providers and the runner so that retries, error typing and redaction are
decided once. Why each rule:

- Bounded retry with exponential backoff, only for connection errors and 502/503/504 (contract
  P1: bounded internal retry for dependency readiness); a 4xx is an answer, never retried.
- A POST is not idempotent (RFC 9110 9.2.2): sent twice, it can create two template versions or
  mint two tokens. It is retried only when Coder provably did not process it (no connection was
  made, or 503), or when its caller declares it safe to replay (``replayable=True``: a
  content-addressed upload, a login). Any other failure after the request left (a read timeout,
  a dropped connection, 502/504 from a gateway that forwarded it) raises
  ``CoderUnreachableError`` with ``maybe_applied`` set, and the caller checks before sending it
  again (``create_template_version`` does).
- Typed errors (``errors.py``) so callers branch on meaning: 404 "gone", 409 "already exists is
  success" (C2), 401/403 "credentials dead" (a DB reset).
- Redaction (C2, C4): the token travels only in the ``Coder-Session-Token`` header of each
  request; logs carry method, path, status and attempt; errors carry Coder's ``message`` with any
  known secret masked; ``repr`` says whether the client is authenticated, never with what.
- ``write_count`` counts every non-GET request attempted (retries included), so the runner can
  prove that a no-op reconcile made zero writes to Coder (C2: "already correct" is silent).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from coder_platform.clock import Clock, SystemClock
from coder_platform.coder_api.errors import (
    CoderApiError,
    CoderAuthError,
    CoderConflictError,
    CoderNotFoundError,
    CoderUnreachableError,
)
from coder_platform.coder_api.models import (
    ApiKey,
    BuildInfo,
    Template,
    TemplateVersion,
    User,
)
from coder_platform.redaction import Redactor

LOGGER_NAME = "coder_platform.coder_api"
SESSION_HEADER = "Coder-Session-Token"
RETRYABLE_STATUSES = frozenset({502, 503, 504})
# Failures that prove the server never processed the request: no connection, or 503 (RFC 9110
# 15.6.4: "currently unable to handle the request").
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout)
NOT_PROCESSED_STATUSES = frozenset({503})
NANOSECONDS_PER_SECOND = 1_000_000_000
MAX_READY_POLL_SECONDS = 5.0
MIN_READY_POLL_SECONDS = 0.05
VALIDATIONS_MAX = 600  # room for a few field: detail pairs in an error message

_log = logging.getLogger(LOGGER_NAME)
ModelT = TypeVar("ModelT", bound=BaseModel)


def segment(value: str) -> str:
    """Quote a user-supplied path segment (username, token name) so it cannot change the route."""
    return quote(value, safe="")


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """The project's one redaction: the known secrets, then credential-shaped text."""
    return Redactor(secrets)(text)


class CoderClientCore:
    """A small, synchronous Coder API client; see the module docstring for the rules it keeps."""

    def __init__(
        self,
        base_url: str,
        session_token: str | None = None,
        *,
        timeout: float = 10.0,
        max_attempts: int = 5,
        backoff_seconds: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.write_count = 0
        self.readiness_probes = 0  # how many /buildinfo probes the last readiness wait made
        self._token = session_token
        self._clock: Clock = clock or SystemClock()
        self._http = httpx.Client(
            base_url=f"{self.base_url}/api/v2", timeout=timeout, transport=transport
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, authenticated={self.authenticated})"
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def authenticated(self) -> bool:
        return self._token is not None

    def authenticate(self, session_token: str) -> None:
        """Use this session or API token for every later authenticated call."""
        self._token = session_token

    # -- deployment ---------------------------------------------------------------------------

    def build_info(self) -> BuildInfo:
        """GET /buildinfo (no auth): the version, and proof that coderd answers."""
        return self._model(BuildInfo, "GET", "/buildinfo", auth=False)

    def wait_until_ready(self, deadline_seconds: float) -> BuildInfo:
        """Poll /buildinfo until it answers or the deadline passes (P1: bounded readiness wait)."""
        deadline = self._clock.monotonic() + deadline_seconds
        delay = max(self.backoff_seconds, MIN_READY_POLL_SECONDS)
        probes = 0
        while True:
            probes += 1
            self.readiness_probes = probes
            try:
                response = self._send("GET", "/buildinfo", auth=False, attempts=1)
                return self._parse(BuildInfo, "GET", "/buildinfo", self._check(response, "GET"))
            except CoderApiError as error:
                if not isinstance(error, CoderUnreachableError) and (error.status or 0) < 500:
                    raise
                last = error
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                raise CoderUnreachableError(
                    "GET",
                    "/buildinfo",
                    last.status,
                    f"Coder was not ready within {deadline_seconds:g}s ({probes} probes; "
                    f"last: {last.message})",
                )
            self._clock.sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_READY_POLL_SECONDS)

    # -- first user and sessions ----------------------------------------------------------------

    def has_first_user(self) -> bool:
        """GET /users/first (no auth): 200 means a first user exists, 404 means none (a fresh or
        reset database); anything else is an error, never a guess."""
        response = self._send("GET", "/users/first", auth=False)
        if response.status_code == 404:
            return False
        self._check(response, "GET")
        return True

    def create_first_user(self, email: str, username: str, name: str, password: str) -> str:
        """POST /users/first; returns the new Owner's user id. 409 raises CoderConflictError."""
        body = {
            "email": email,
            "username": username,
            "name": name,
            "password": password,
            "trial": False,
        }
        response = self._send("POST", "/users/first", json=body, auth=False, secrets=[password])
        data = self._check(response, "POST", secrets=[password])
        return self._field(data, "user_id", "POST", "/users/first")

    def login(self, email: str, password: str) -> str:
        """POST /users/login; returns a session token (the caller decides to ``authenticate``)."""
        body = {"email": email, "password": password}
        response = self._send(
            "POST", "/users/login", json=body, auth=False, secrets=[password], replayable=True
        )  # a repeat only opens a second session
        data = self._check(response, "POST", secrets=[password])
        return self._field(data, "session_token", "POST", "/users/login")

    def logout(self) -> None:
        """POST /users/logout: end the session this client holds, so none lingers in Coder."""
        self._check(self._send("POST", "/users/logout", replayable=True), "POST")
        self._token = None

    # -- users ----------------------------------------------------------------------------------

    def me(self) -> User:
        return self._model(User, "GET", "/users/me")

    def get_user(self, user: str) -> User | None:
        """GET /users/{user}; None when Coder has no such user (404, or 400 for an unknown name)
        or only its tombstone: Coder's lookup by id still finds a deleted user (coderd
        ``ExtractUserContext`` reads ``GetUserByID``, which keeps ``deleted = true`` rows, and
        codersdk's ``User`` has no ``deleted`` field), while a lookup by username never does.
        So an id lookup is confirmed by the username it answered (a second GET): the same id
        there means alive."""
        found = self._get_user(user)
        if found is None or not _is_uuid(user) or found.username == user:
            return found
        alive = self._get_user(found.username)
        return found if alive is not None and alive.id == found.id else None

    def _get_user(self, user: str) -> User | None:
        path = f"/users/{segment(user)}"
        response = self._send("GET", path)
        if response.status_code == 404 or (
            response.status_code == 400 and "existing uuid or username" in response.text
        ):
            return None
        return self._parse(User, "GET", path, self._check(response, "GET"))

    def list_users(self) -> list[User]:
        """GET /users: every user the caller may see (Coder wraps the list as ``{"users": []}``)."""
        data = self._check(self._send("GET", "/users"), "GET")
        users = data.get("users") if isinstance(data, dict) else None
        try:
            return TypeAdapter(list[User]).validate_python(users)
        except ValidationError:
            raise CoderApiError("GET", "/users", 200, "response has no list of users") from None

    # -- API tokens -----------------------------------------------------------------------------

    def create_token(self, user: str, token_name: str, lifetime_seconds: int) -> str:
        """POST /users/{user}/keys/tokens; returns the token (Coder shows it only this once).

        409 raises CoderConflictError (names are unique per user). A 400 "lifetime must be less
        than" means the server cap is lower than asked: for an Owner that cap is
        CODER_MAX_ADMIN_TOKEN_LIFETIME (default 168h), so the error says so.
        """
        path = f"/users/{segment(user)}/keys/tokens"
        body = {"token_name": token_name, "lifetime": lifetime_seconds * NANOSECONDS_PER_SECOND}
        response = self._send("POST", path, json=body)
        if response.status_code == 400:
            message, detail = _error_text(response)
            if "lifetime must be less than" in f"{message} {detail}":
                raise CoderApiError(
                    "POST",
                    path,
                    400,
                    f"the requested token lifetime ({lifetime_seconds}s) exceeds the server's "
                    f"cap ({detail or message}); for an Owner the cap is "
                    "CODER_MAX_ADMIN_TOKEN_LIFETIME: raise it or request a shorter lifetime",
                    detail=detail,
                )
        data = self._check(response, "POST")
        return self._field(data, "key", "POST", path)

    def get_token(self, user: str, token_name: str) -> ApiKey | None:
        """GET /users/{user}/keys/tokens/{name}; None when no token has that name (404)."""
        path = f"/users/{segment(user)}/keys/tokens/{segment(token_name)}"
        response = self._send("GET", path)
        if response.status_code == 404:
            return None
        return self._parse(ApiKey, "GET", path, self._check(response, "GET"))

    def delete_token(self, user: str, key_id: str) -> None:
        """DELETE /users/{user}/keys/{id}; a 404 is success: the key is already gone (C2)."""
        path = f"/users/{segment(user)}/keys/{segment(key_id)}"
        response = self._send("DELETE", path)
        if response.status_code != 404:
            self._check(response, "DELETE")

    def token_config(self, user: str) -> timedelta:
        """GET /users/{user}/keys/tokens/tokenconfig: the role-aware maximum token lifetime."""
        path = f"/users/{segment(user)}/keys/tokens/tokenconfig"
        data = self._check(self._send("GET", path), "GET")
        nanoseconds = data.get("max_token_lifetime") if isinstance(data, dict) else None
        if not isinstance(nanoseconds, int):
            raise CoderApiError("GET", path, 200, "response has no integer max_token_lifetime")
        return timedelta(microseconds=nanoseconds // 1000)

    # -- templates ------------------------------------------------------------------------------

    def list_templates(self) -> list[Template]:
        return self._models(Template, "/templates")

    def list_template_versions(self, template_id: str) -> list[TemplateVersion]:
        return self._models(TemplateVersion, f"/templates/{segment(template_id)}/versions")

    # -- transport ------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        content: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        auth: bool = True,
        secrets: Iterable[str] = (),
        attempts: int | None = None,
        replayable: bool | None = None,
    ) -> httpx.Response:
        """One request with the retry rules above. ``content`` sends raw bytes (an archive) with
        the ``Content-Type`` given in ``extra_headers``; ``params`` is the query string;
        ``replayable`` (default: every method but POST) says a repeat cannot do harm."""
        replay = method != "POST" if replayable is None else replayable
        headers = {"Accept": "application/json", **(extra_headers or {})}
        if auth:
            if self._token is None:
                raise CoderAuthError(method, path, None, "no session token: log in first")
            headers[SESSION_HEADER] = self._token
        budget = attempts or self.max_attempts
        status: int | None = None
        last = ""
        for attempt in range(1, budget + 1):
            if method != "GET":
                self.write_count += 1
            try:
                response = self._http.request(
                    method, path, json=json, content=content, params=params, headers=headers
                )
            except httpx.TransportError as error:
                status, last = None, type(error).__name__
                _log.warning("%s %s -> %s (attempt %d/%d)", method, path, last, attempt, budget)
                if not replay and not isinstance(error, NOT_SENT_ERRORS):
                    raise self._maybe_applied(method, path, status, last, secrets) from None
            else:
                status = response.status_code
                if status not in RETRYABLE_STATUSES:
                    _log.debug("%s %s -> %d (attempt %d/%d)", method, path, status, attempt, budget)
                    return response
                last = f"HTTP {status}"
                _log.warning("%s %s -> %d (attempt %d/%d)", method, path, status, attempt, budget)
                if not replay and status not in NOT_PROCESSED_STATUSES:
                    raise self._maybe_applied(method, path, status, last, secrets)
            if attempt < budget:
                self._clock.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        message = redact(
            f"Coder did not answer after {budget} attempts (last: {last}); "
            "check that coderd is running and reachable",
            [self._token, *secrets],
        )
        raise CoderUnreachableError(method, path, status, message)

    def _maybe_applied(
        self, method: str, path: str, status: int | None, last: str, secrets: Iterable[str]
    ) -> CoderUnreachableError:
        message = redact(
            f"the request left but no answer came back ({last}); it may have been applied, so "
            "it is not sent again blindly: the next run finds what it did",
            [self._token, *secrets],
        )
        return CoderUnreachableError(method, path, status, message, maybe_applied=True)

    def _check(self, response: httpx.Response, method: str, secrets: Iterable[str] = ()) -> Any:
        """Return the decoded JSON body of a 2xx response, or raise the typed error."""
        path = _api_path(response)
        if response.is_success:
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise CoderApiError(
                    method, path, response.status_code, "response is not JSON"
                ) from None
        message, detail = _error_text(response)
        hidden = [self._token, *secrets]
        message, detail = redact(message, hidden), redact(detail, hidden)
        status = response.status_code
        error_type: type[CoderApiError] = {
            401: CoderAuthError,
            403: CoderAuthError,
            404: CoderNotFoundError,
            409: CoderConflictError,
        }.get(status, CoderApiError)
        raise error_type(method, path, status, message, detail=detail)

    def _parse(self, model: type[ModelT], method: str, path: str, data: Any) -> ModelT:
        try:
            return model.model_validate(data)
        except ValidationError:
            raise CoderApiError(
                method, path, 200, f"response is not a valid {model.__name__}"
            ) from None

    def _model(self, model: type[ModelT], method: str, path: str, *, auth: bool = True) -> ModelT:
        data = self._check(self._send(method, path, auth=auth), method)
        return self._parse(model, method, path, data)

    def _models(self, model: type[ModelT], path: str) -> list[ModelT]:
        data = self._check(self._send("GET", path), "GET")
        try:
            return TypeAdapter(list[model]).validate_python(data)  # type: ignore[valid-type]
        except ValidationError:
            raise CoderApiError(
                "GET", path, 200, f"response is not a list of {model.__name__}"
            ) from None

    @staticmethod
    def _field(data: Any, name: str, method: str, path: str) -> str:
        """One string field of a response, read without ever echoing the body (it may hold a
        secret such as a session token or an API key)."""
        value = data.get(name) if isinstance(data, dict) else None
        if not isinstance(value, str) or not value:
            raise CoderApiError(method, path, 200, f"response has no {name}")
        return value


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _api_path(response: httpx.Response) -> str:
    """The request path below /api/v2, without its query string (which may carry secrets)."""
    path = response.request.url.path
    prefix = "/api/v2"
    return path[path.index(prefix) + len(prefix) :] if prefix in path else path


def _error_text(response: httpx.Response) -> tuple[str, str]:
    """Coder's ``message`` and ``detail`` fields, or the reason phrase for a non-JSON body."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        message = str(data.get("message") or response.reason_phrase)
        detail = str(data.get("detail") or "")
        fields = _validations(data.get("validations"))
        if fields:
            message = f"{message[:300]} ({fields})"
        return message[: 300 + VALIDATIONS_MAX], detail[:300]
    return response.reason_phrase, ""


def _validations(value: Any) -> str:
    """Coder's ``validations[]`` (``field`` and ``detail`` of each rejected input, codersdk
    ``ValidationError``) as one line, so "Validation failed." names the field. The caller
    redacts the message as a whole, so a secret echoed in a detail never leaves."""
    if not isinstance(value, list):
        return ""
    parts = [
        f"{item.get('field') or '?'}: {item.get('detail') or 'invalid'}"
        for item in value
        if isinstance(item, dict)
    ]
    return "; ".join(parts)[:VALIDATIONS_MAX]
