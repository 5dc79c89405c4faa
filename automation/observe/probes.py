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

from automation.observe.coder_checks import CoderSite
from coder_platform.clock import Clock, SystemClock
from coder_platform.coder_api import CoderApiError

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
    name = "coder"

    def __init__(self, site: CoderSite, clock: Clock | None = None) -> None:
        self._site = site
        self._clock = clock or SystemClock()

    def check(self, deadline_seconds: float) -> ProbeResult:
        start = self._clock.monotonic()
        client = self._site.client(None)
        try:
            client.wait_until_ready(deadline_seconds)
        except CoderApiError as error:
            status, detail = ProbeStatus.FAILED, str(error)
        else:
            status, detail = ProbeStatus.OK, "buildinfo answers"
        finally:
            client.close()
        seconds = round(self._clock.monotonic() - start, 3)
        attempts = client.readiness_probes
        return ProbeResult(self.name, status, self._site.url, attempts, detail, seconds)
