"""The core of CoderDouble: users, sessions, API keys, routing, faults and request counting.

Not Coder: an in-memory model of ``/api/v2`` served through ``httpx.MockTransport``, faithful to
the status codes and body shapes of ``reference/coder.md`` §1 (201 on create, 404/409 messages,
the role-aware token-lifetime cap and its 400, 204 on key delete). It counts every request so tests
can prove idempotence (one POST /users/first, ever), and it can wipe itself (a DB reset, the
incident this project exists for), drop connections, or answer 5xx on demand.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

NS = 1_000_000_000
FIXED_NOW = datetime(2026, 1, 21, 12, 0, tzinfo=UTC)
BASE_URL = "http://coder.double.test"
ORG_ID = "00000000-0000-4000-8000-00000000000a"
PLATFORM_PINS = Path(__file__).resolve().parents[2] / "tools" / "platform-versions.env"


def pinned_coder_version() -> str:
    """The version the double reports, the pinned Coder's (``CODER_VERSION`` in
    tools/platform-versions.env), as coderd's ``buildinfo.Version()`` spells a tagged build."""
    for line in PLATFORM_PINS.read_text().splitlines():
        key, _, value = line.strip().partition("=")
        if key == "CODER_VERSION" and value:
            return f"v{value.strip()}"
    raise RuntimeError(f"{PLATFORM_PINS} sets no CODER_VERSION")


CODER_VERSION = pinned_coder_version()

Handler = Callable[..., httpx.Response]


@dataclass
class DoubleUser:
    id: str
    username: str
    email: str
    name: str
    password: str
    roles: list[str]
    status: str = "active"  # active, dormant or suspended
    login_type: str = "password"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "name": self.name,
            "status": self.status,
            "login_type": self.login_type,
            "organization_ids": [ORG_ID],
            "roles": [{"name": role, "display_name": role.title()} for role in self.roles],
        }


@dataclass
class DoubleKey:
    id: str
    secret: str
    user_id: str
    token_name: str
    expires_at: datetime
    lifetime_seconds: int

    @property
    def token(self) -> str:
        return f"{self.id}-{self.secret}"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "token_name": self.token_name,
            "expires_at": self.expires_at.isoformat().replace("+00:00", "Z"),
            "lifetime_seconds": self.lifetime_seconds,
            "login_type": "token",
            "scope": "all",
        }


def go_duration(delta: timedelta) -> str:
    """Format like Go's time.Duration String() for whole seconds (e.g. ``168h0m0s``)."""
    total = int(delta.total_seconds())
    return f"{total // 3600}h{total % 3600 // 60}m{total % 60}s"


def reply(status: int, body: Any = None) -> httpx.Response:
    if body is None:
        return httpx.Response(status)
    return httpx.Response(status, json=body)


def invalid(field: str, tag: str, value: Any) -> httpx.Response:
    """coderd's answer to a body its validator rejects (``httpapi.Read``): 400 "Validation
    failed." with one ``validations[]`` entry naming the field, the tag and the value."""
    detail = f'Validation failed for tag "{tag}" with value: "{value}"'
    return reply(
        400, {"message": "Validation failed.", "validations": [{"field": field, "detail": detail}]}
    )


def message(status: int, text: str, detail: str = "") -> httpx.Response:
    body = {"message": text}
    if detail:
        body["detail"] = detail
    return reply(status, body)


@dataclass
class FakeClock:
    """Monotonic time that only moves when the code under test sleeps; records each sleep."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class CoderDoubleCore:
    """In-memory Coder core; endpoint groups extend it (``extra_routes``, ``wipe_extra``)."""

    now: datetime = FIXED_NOW
    max_admin_token_lifetime: timedelta = timedelta(hours=168)
    max_token_lifetime: timedelta = timedelta(hours=876600)
    users: dict[str, DoubleUser] = field(default_factory=dict)
    # Deleted users: Coder keeps the row (``deleted = true``) and still answers it by id, never
    # by username or in a list (coderd ``ExtractUserContext``, ``GetUsers``).
    tombstones: dict[str, DoubleUser] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    keys: dict[str, DoubleKey] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    tokens_sent: list[str | None] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    # Coder up with its database stopped: what reads the database answers 500 as coderd does
    # (GET /users/first: "Internal error fetching user count."); /buildinfo still answers.
    database_down: bool = False
    _faults: deque[int | None] = field(default_factory=deque)
    _lose_answers: int = 0

    # -- test controls ------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def count(self, method: str, path: str) -> int:
        return Counter(self.requests)[(method, path)]

    def writes(self) -> int:
        return sum(1 for method, _ in self.requests if method != "GET")

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` requests with this status (e.g. 503 from a gateway)."""
        self._faults.extend([status] * times)

    def drop_next(self, times: int = 1) -> None:
        """Refuse the next ``times`` connections (coderd down)."""
        self._faults.extend([None] * times)

    def lose_next_answer(self) -> None:
        """Process the next request, then lose its answer (a read timeout): the request landed
        but the caller cannot know."""
        self._lose_answers += 1

    def wipe(self) -> None:
        """A Coder database reset: every user, session and key is gone (and, through
        ``wipe_extra``, whatever each endpoint group holds)."""
        self.users.clear()
        self.tombstones.clear()
        self.sessions.clear()
        self.keys.clear()
        self.wipe_extra()

    def wipe_extra(self) -> None:
        """What an endpoint group adds to a reset; each extension clears its own state."""

    def allows(self, feature: str) -> bool:
        """Whether a Premium feature is entitled (the people endpoints hold the licenses)."""
        return False

    def extra_routes(self) -> list[tuple[str, str, Handler]]:
        """Routes an endpoint group adds; each extension prepends its own to ``super()``'s."""
        return []

    def key_named(self, token_name: str) -> DoubleKey | None:
        return next((k for k in self.keys.values() if k.token_name == token_name), None)

    def secrets_seen(self) -> list[str]:
        """Every password, session token and API key this double has handed out or accepted."""
        return [*self.issued, *(u.password for u in self.users.values() if u.password)]

    # -- routing --------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v2")
        self.requests.append((request.method, path))
        self.tokens_sent.append(request.headers.get("Coder-Session-Token"))
        if self._faults:
            fault = self._faults.popleft()
            if fault is None:
                raise httpx.ConnectError("connection refused", request=request)
            return message(fault, "injected fault")
        is_json = "json" in request.headers.get("Content-Type", "application/json")
        body = json.loads(request.content) if request.content and is_json else {}
        for method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match and request.method == method:
                response = handler(request, body, *match.groups())
                if self._lose_answers:
                    self._lose_answers -= 1
                    raise httpx.ReadTimeout("the answer was lost", request=request)
                return response
        return message(404, "Route not found.")

    def _routes(self) -> list[tuple[str, str, Handler]]:
        user = r"/users/([^/]+)"
        return [
            ("GET", r"/buildinfo", self._buildinfo),
            ("GET", r"/users/first", self._get_first),
            ("POST", r"/users/first", self._post_first),
            ("POST", r"/users/login", self._login),
            ("POST", r"/users/logout", self._logout),
            ("GET", rf"{user}/keys/tokens/tokenconfig", self._token_config),
            ("GET", rf"{user}/keys/tokens/([^/]+)", self._get_token),
            ("POST", rf"{user}/keys/tokens", self._post_token),
            ("DELETE", rf"{user}/keys/([^/]+)", self._delete_key),
            ("GET", rf"{user}", self._get_user),
            *self.extra_routes(),
        ]

    # -- auth -----------------------------------------------------------------------------------

    def _caller(self, request: httpx.Request) -> DoubleUser | None:
        token = request.headers.get("Coder-Session-Token", "")
        if token in self.sessions:
            return self.users.get(self.sessions[token])
        key_id, _, secret = token.partition("-")
        key = self.keys.get(key_id)
        if key and key.secret == secret and key.expires_at > self.now:
            return self.users.get(key.user_id)
        return None

    def _target(
        self, request: httpx.Request, ref: str
    ) -> tuple[DoubleUser | None, httpx.Response | None]:
        """The caller and the addressed user, or the error Coder would answer."""
        caller = self._caller(request)
        if caller is None:
            return None, message(401, "You must be logged in to access this resource.")
        if ref == "me":
            return caller, None
        found = next((u for u in self.users.values() if ref in (u.id, u.username)), None)
        found = found or self.tombstones.get(ref)
        if found is None:
            return None, message(400, f'"user" must be an existing uuid or username: {ref!r}.')
        if found.id != caller.id and "owner" not in caller.roles:
            return None, message(403, "Forbidden.")
        return found, None

    # -- handlers -------------------------------------------------------------------------------

    def _buildinfo(self, request: httpx.Request, body: Any) -> httpx.Response:
        info = {"version": CODER_VERSION, "external_url": BASE_URL, "deployment_id": "d"}
        return reply(200, info)

    def _get_first(self, request: httpx.Request, body: Any) -> httpx.Response:
        if self.database_down:
            return message(
                500,
                "Internal error fetching user count.",
                "failed to connect to `user=coder database=coder`: connection refused",
            )
        if self.users:
            return message(200, "The initial user has already been created!")
        return message(404, "The initial user has not been created!")

    def _post_first(self, request: httpx.Request, body: Any) -> httpx.Response:
        if self.users:
            return message(409, "The initial user has already been created.")
        if len(body.get("password", "")) < 8:
            return message(400, "Password not strong enough!")
        user = DoubleUser(
            id=str(uuid.uuid4()),
            username=body["username"],
            email=body["email"],
            name=body.get("name", ""),
            password=body["password"],
            roles=["owner"],
        )
        self.users[user.id] = user
        return reply(201, {"user_id": user.id, "organization_id": ORG_ID})

    def _login(self, request: httpx.Request, body: Any) -> httpx.Response:
        user = next((u for u in self.users.values() if u.email == body.get("email")), None)
        if user is None or not user.password or user.password != body.get("password"):
            return message(401, "Incorrect email or password.")  # OIDC users have no password
        token = f"{secrets.token_hex(5)}-{secrets.token_hex(11)}"
        self.sessions[token] = user.id
        self.issued.append(token)
        return reply(201, {"session_token": token})

    def _logout(self, request: httpx.Request, body: Any) -> httpx.Response:
        self.sessions.pop(request.headers.get("Coder-Session-Token", ""), None)
        return message(200, "Logged out!")

    def _get_user(self, request: httpx.Request, body: Any, ref: str) -> httpx.Response:
        user, error = self._target(request, ref)
        return error or reply(200, user.as_json() if user else None)

    def _token_config(self, request: httpx.Request, body: Any, ref: str) -> httpx.Response:
        user, error = self._target(request, ref)
        if error or user is None:
            return error or message(500, "unreachable")
        return reply(200, {"max_token_lifetime": int(self._cap(user).total_seconds()) * NS})

    def _cap(self, user: DoubleUser) -> timedelta:
        if "owner" in user.roles:
            return self.max_admin_token_lifetime
        return self.max_token_lifetime

    def _post_token(self, request: httpx.Request, body: Any, ref: str) -> httpx.Response:
        user, error = self._target(request, ref)
        if error or user is None:
            return error or message(500, "unreachable")
        lifetime = timedelta(seconds=body.get("lifetime", 0) / NS)
        if lifetime > self._cap(user):
            return message(
                400,
                "Failed to validate create API key request.",
                f"lifetime must be less than {go_duration(self._cap(user))}",
            )
        name = body["token_name"]
        if any(k.token_name == name and k.user_id == user.id for k in self.keys.values()):
            return message(409, f"A token with name {name!r} already exists.")
        key = DoubleKey(
            id=secrets.token_hex(5),
            secret=secrets.token_hex(11),
            user_id=user.id,
            token_name=name,
            expires_at=self.now + lifetime,
            lifetime_seconds=int(lifetime.total_seconds()),
        )
        self.keys[key.id] = key
        self.issued.append(key.token)
        return reply(201, {"key": key.token})

    def _get_token(self, request: httpx.Request, body: Any, ref: str, name: str) -> httpx.Response:
        user, error = self._target(request, ref)
        if error or user is None:
            return error or message(500, "unreachable")
        key = next(
            (k for k in self.keys.values() if k.user_id == user.id and k.token_name == name),
            None,
        )
        if key is None:
            return message(404, "Resource not found or you do not have access to this resource")
        return reply(200, key.as_json())

    def _delete_key(
        self, request: httpx.Request, body: Any, ref: str, key_id: str
    ) -> httpx.Response:
        user, error = self._target(request, ref)
        if error or user is None:
            return error or message(500, "unreachable")
        key = self.keys.get(key_id)
        if key is None or key.user_id != user.id:
            return message(404, "Resource not found or you do not have access to this resource")
        del self.keys[key_id]
        return reply(204)
