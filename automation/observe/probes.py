"""Dependency probes for the observe phase: bounded retry, then a clear verdict (contract P1).

Each probe answers ok, failed or skipped (a section the stack does not use, such as Vault on a
local stack) with the endpoint, attempts and time taken, so the report shows what was checked.
Reachability is all a probe asserts: an answer such as 401 from the Kubernetes API still proves
the API is up (the engine checks credentials next, with a precise error).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import httpx

from automation.observe.coder_checks import CoderReader, CoderSite
from coder_platform.clock import Clock, SystemClock
from coder_platform.coder_api import CoderApiError, CoderUnreachableError

MAX_BACKOFF_SECONDS = 10.0


class ProbeStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ProbeResult:
    name: str
    status: ProbeStatus
    endpoint: str | None
    attempts: int
    detail: str
    seconds: float = 0.0
    action: str | None = None  # what fixes it, when the probe knows better than "the network"


class Probe(Protocol):
    @property
    def name(self) -> str: ...

    def check(self, deadline_seconds: float) -> ProbeResult: ...


@dataclass(frozen=True)
class SkippedProbe:
    name: str
    reason: str

    def check(self, deadline_seconds: float) -> ProbeResult:
        return ProbeResult(self.name, ProbeStatus.SKIPPED, None, 0, self.reason)


@dataclass(frozen=True)
class FailedProbe:
    """A dependency the stack needs but the runner cannot even address (no endpoint found)."""

    name: str
    reason: str

    def check(self, deadline_seconds: float) -> ProbeResult:
        return ProbeResult(self.name, ProbeStatus.FAILED, None, 0, self.reason)


# A status -> failure reason (None when the answer means "reachable").
Verdict = Callable[[int], str | None]


class HttpProbe:
    """GET one URL until the verdict accepts an answer or the deadline passes."""

    def __init__(
        self,
        name: str,
        url: str,
        verdict: Verdict,
        *,
        verify: ssl.SSLContext | bool = True,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 5.0,
        backoff_seconds: float = 1.0,
    ) -> None:
        self.name = name
        self.url = url
        self._verdict = verdict
        self._clock = clock or SystemClock()
        self._backoff = backoff_seconds
        self._client_options: dict[str, Any] = {
            "verify": verify,
            "timeout": timeout,
            "transport": transport,
        }

    def check(self, deadline_seconds: float) -> ProbeResult:
        start = self._clock.monotonic()
        attempts, delay, reason = 0, self._backoff, "no answer"
        while True:
            attempts += 1
            try:
                with httpx.Client(**self._client_options) as http:
                    status = http.get(self.url).status_code
            except httpx.HTTPError as error:
                reason = f"no answer ({type(error).__name__})"
            else:
                failure = self._verdict(status)
                if failure is None:
                    return self._result(ProbeStatus.OK, attempts, f"HTTP {status}", start)
                reason = failure
            remaining = deadline_seconds - (self._clock.monotonic() - start)
            if remaining <= 0:
                detail = f"{reason} after {attempts} attempts in {deadline_seconds:g}s"
                return self._result(ProbeStatus.FAILED, attempts, detail, start)
            self._clock.sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    def _result(self, status: ProbeStatus, attempts: int, detail: str, start: float) -> ProbeResult:
        seconds = round(self._clock.monotonic() - start, 3)
        return ProbeResult(self.name, status, self.url, attempts, detail, seconds)


def kubernetes_verdict(status: int) -> str | None:
    """/version answers 200, or 401/403 without credentials: both prove the API serves."""
    return None if status in (200, 401, 403) else f"HTTP {status}"


def vault_verdict(status: int) -> str | None:
    """/v1/sys/health: 200 active, 429 standby, 473 performance standby; others are not ready."""
    reasons = {501: "Vault is not initialized", 503: "Vault is sealed", 472: "DR secondary"}
    return None if status in (200, 429, 473) else reasons.get(status, f"HTTP {status}")


class CoderProbe:
    """Coder answers, and so does its database.

    ``/buildinfo`` (and ``/healthz``) answer from coderd's memory, with its database down too;
    ``/api/v2/debug/health`` reads the database but needs an Owner's token, which a database
    reset makes dead. ``GET /users/first`` needs no token and reads the database
    (coderd ``firstUser``: ``GetUserCount``, 500 "Internal error fetching user count." when
    that fails; 200 or 404 otherwise), so it is the probe's second question, asked until the
    same deadline. A Coder that answers but cannot reach its database fails the probe naming
    that, so an existing Coder (a hard dependency) stops the run with exit 13 before anything
    is written.
    """

    name = "coder"

    def __init__(self, site: CoderSite, clock: Clock | None = None) -> None:
        self._site = site
        self._clock = clock or SystemClock()

    def check(self, deadline_seconds: float) -> ProbeResult:
        start = self._clock.monotonic()
        client = self._site.client(None)
        attempts, action = 0, None
        try:
            client.wait_until_ready(deadline_seconds)
            attempts = client.readiness_probes
            attempts += self._database_answers(client, start, deadline_seconds)
        except CoderDatabaseError as error:
            status, detail = ProbeStatus.FAILED, str(error)
            attempts += error.attempts
            action = (
                "Check Coder's database (the server in CODER_PG_CONNECTION_URL is up and takes "
                "Coder's connections), then rerun"
            )
        except CoderApiError as error:
            status, detail = ProbeStatus.FAILED, str(error)
            attempts = attempts or client.readiness_probes
        else:
            status, detail = ProbeStatus.OK, "buildinfo answers; its database answers (users/first)"
        finally:
            client.close()
        seconds = round(self._clock.monotonic() - start, 3)
        return ProbeResult(self.name, status, self._site.url, attempts, detail, seconds, action)

    def _database_answers(self, client: CoderReader, start: float, deadline: float) -> int:
        """Ask ``GET /users/first`` until it answers 200/404 or the deadline passes; the number
        of questions asked. A 5xx is Coder's database failing; a 4xx other than 404 is an
        answer this probe cannot judge, raised as it is."""
        attempts, delay = 0, 1.0
        while True:
            attempts += 1
            try:
                client.has_first_user()
            except CoderApiError as error:
                if isinstance(error, CoderUnreachableError) or (error.status or 0) < 500:
                    raise
                last = error
            else:
                return attempts
            remaining = deadline - (self._clock.monotonic() - start)
            if remaining <= 0:
                raise CoderDatabaseError(last, attempts, deadline)
            self._clock.sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)


class CoderDatabaseError(Exception):
    """Coder answers, but what it must read from its database fails (HTTP 5xx)."""

    def __init__(self, last: CoderApiError, attempts: int, deadline: float) -> None:
        self.attempts = attempts
        said = f"HTTP {last.status} {last.message}"
        if last.detail:
            said += f" ({last.detail})"
        super().__init__(
            f"Coder answers but cannot reach its database: GET /api/v2/users/first answered "
            f"{said} after {attempts} attempts in {deadline:g}s"
        )
