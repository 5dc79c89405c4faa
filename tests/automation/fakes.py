"""In-process doubles for the runner: a fake stack engine over a simulated world, and Coder.

``FakeEngine`` implements ``automation.engine.protocol.StackEngine`` against a tiny model of the
platform: the exported state (a realistic deployment), out-of-band drift, and a Coder double
reached through the real ``CoderClient``. Its ``up`` seeds Coder the way the program's dynamic
providers do (first user, login, token, templates: real HTTP writes the double counts) and
publishes the token to an in-memory Vault. Like the real engine after a Coder reset, any
operation that touches a seeded state whose Coder has no first user fails with a 401.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from automation.engine.protocol import (
    ConfigEntry,
    EventSink,
    OperationSummary,
    PolicySettings,
)
from automation.engine.state_edits import resources_of, seeded_urns
from automation.errors import LockHolder, NotConvergedError, RunnerError, UpdateFailedError
from automation.observe.coder_checks import CoderReader
from automation.observe.dependencies import Dependencies
from automation.observe.probes import ProbeResult, ProbeStatus
from automation.reporting.events import Diagnostic, PolicyFinding, Stage, StepEvent, Summary
from automation.session import Session
from coder_platform.coder_api import CoderClient
from coder_platform.config import PlatformConfig
from testbed.coder_double import BASE_URL, CoderDouble, FakeClock
from testbed.harness import FAKE_ADMIN_PASSWORD, as_pulumi_config, load_stack_file
from tests.automation import state_fixture as fx

TOKEN_PATH = "platform/coder/coder-cli-session-token"
ADMIN_EMAIL = "coder-automation@corp.internal"
ADMIN_USERNAME = "coder-automation"
SECRET_CONFIG_VALUE = "mock-secret-Config-77b1e4a09c"


def dev_config(**overrides: Any) -> dict[str, ConfigEntry]:
    raw = load_stack_file("dev")
    raw.update(overrides)
    entries = {key: ConfigEntry(value) for key, value in as_pulumi_config(raw).items()}
    # A secret config value of another namespace: the runner must never print it.
    entries["kubernetes:kubeconfig"] = ConfigEntry(SECRET_CONFIG_VALUE, secret=True)
    return entries


@dataclass
class FakeEngine:
    coder: CoderDouble
    vault: dict[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=fx.unseeded_state)
    config_entries: dict[str, ConfigEntry] = field(default_factory=dev_config)
    drift: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Deleted in the cluster (urn -> type), being deleted (urn -> type), and what the code or
    # config changed (urn -> properties): each shows in a preview the way the real engine says it.
    deleted: dict[str, str] = field(default_factory=dict)
    terminating: dict[str, str] = field(default_factory=dict)
    pending: dict[str, tuple[str, ...]] = field(default_factory=dict)
    perpetual: list[str] = field(default_factory=list)
    # A resource the engine fails to change in the next up: (urn, type, engine message).
    failing: tuple[str, str, str] | None = None
    policy_findings: list[PolicyFinding] = field(default_factory=list)
    fail_up: RunnerError | None = None
    lock_on_up: RunnerError | None = None
    visible_locks: list[LockHolder] = field(default_factory=list)
    extra_diagnostics: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    imported: list[dict[str, Any]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cancelled: int = 0

    # -- StackEngine --------------------------------------------------------------------------

    @property
    def stack_name(self) -> str:
        return fx.STACK

    def config(self) -> Mapping[str, ConfigEntry]:
        self.calls.append("config")
        return dict(self.config_entries)

    def locks(self) -> Sequence[LockHolder]:
        return list(self.visible_locks)

    def export_state(self) -> dict[str, Any]:
        self.calls.append("export")
        return copy.deepcopy(self.state)

    def import_state(self, state: Mapping[str, Any]) -> None:
        self.calls.append("import")
        self.imported.append(copy.deepcopy(dict(state)))
        self.state = copy.deepcopy(dict(state))

    def preview(
        self, *, policy: PolicySettings | None, expect_no_changes: bool, on_event: EventSink
    ) -> OperationSummary:
        self.calls.append("preview")
        self._fail_if_credentials_dead("preview")
        changes = self._plan(on_event, stage="started")
        self._emit_policy(on_event)
        self._emit_diagnostics(on_event)
        on_event(Summary(changes))
        if expect_no_changes and changes:
            raise NotConvergedError("pulumi preview expected no changes but found some", "-")
        return OperationSummary(changes)

    def up(
        self,
        *,
        policy: PolicySettings | None,
        on_event: EventSink,
        exclude: Sequence[str] = (),
    ) -> OperationSummary:
        """With ``exclude`` (the seed roots), like the CLI's ``--exclude`` with dependents: the
        seeded resources are neither read nor changed, so a dead Coder cannot fail it."""
        self.calls.append("up excluding the seed" if exclude else "up")
        if self.lock_on_up is not None:
            error, self.lock_on_up = self.lock_on_up, None
            raise error
        if self.fail_up is not None:
            raise self.fail_up
        if exclude:
            assert set(exclude) == {fx.SEED}, exclude
            return self._up_without_seed(on_event)
        self._fail_if_credentials_dead("up")
        self._emit_policy(on_event)
        if any(f.mandatory for f in self.policy_findings):
            raise UpdateFailedError("pulumi up failed (CLI exit 1): policy violation", "-", 1)
        if self.failing is not None:
            self._fail_resource(on_event, *self.failing)
        changes = self._plan(on_event, stage="done")
        self.drift.clear()
        self.deleted.clear()
        self.pending.clear()
        if self._needs_seed():
            self.seed()
        on_event(Summary(changes))
        return OperationSummary(changes)

    def _up_without_seed(self, on_event: EventSink) -> OperationSummary:
        seed = _seed_urns()
        drift = {u: p for u, p in self.drift.items() if u in seed}
        deleted = {u: k for u, k in self.deleted.items() if u in seed}
        pending = {u: p for u, p in self.pending.items() if u in seed}
        self.drift = {u: p for u, p in self.drift.items() if u not in seed}
        self.deleted = {u: k for u, k in self.deleted.items() if u not in seed}
        self.pending = {u: p for u, p in self.pending.items() if u not in seed}
        changes = self._plan(on_event, stage="done", seed=False)
        self.drift, self.deleted, self.pending = drift, deleted, pending
        on_event(Summary(changes))
        return OperationSummary(changes)

    def preview_refresh(self, *, on_event: EventSink) -> OperationSummary:
        self.calls.append("preview_refresh")
        changes = self._plan(on_event, stage="started")
        on_event(Summary(changes))
        return OperationSummary(changes)

    def destroy(self, *, on_event: EventSink) -> OperationSummary:
        self.calls.append("destroy")
        count = len(resources_of(self.state))
        self.state = fx.deployment([])
        on_event(Summary({"delete": count}))
        return OperationSummary({"delete": count})

    def cancel(self) -> None:
        self.calls.append("cancel")
        self.cancelled += 1
        self.visible_locks.clear()

    def set_env(self, name: str, value: str) -> None:
        self.env[name] = value

    # -- the simulated world ------------------------------------------------------------------

    def seed(self) -> None:
        """What the program's seeding does against Coder, then the state ``up`` records."""
        client = CoderClient(BASE_URL, transport=self.coder.transport(), clock=FakeClock())
        client.create_first_user(ADMIN_EMAIL, ADMIN_USERNAME, "Automation", FAKE_ADMIN_PASSWORD)
        client.authenticate(client.login(ADMIN_EMAIL, FAKE_ADMIN_PASSWORD))
        self.vault[TOKEN_PATH] = client.create_token(ADMIN_USERNAME, "reconciler", 3600 * 24)
        versions = {}
        for name in fx.TEMPLATE_NAMES.values():
            template_id = self.coder.add_template(name, ["v1", "v2"])
            versions[name] = self.coder.versions[template_id][-1]["id"]
        client.close()
        resources = [dict(r) for r in resources_of(self.state) if r["urn"] not in _seed_urns()]
        self.state = fx.deployment([*resources, *fx.seed_resources(versions)])

    def _needs_seed(self) -> bool:
        present = {r["urn"] for r in resources_of(self.state)}
        return fx.FIRST_USER not in present

    def _fail_if_credentials_dead(self, operation: str) -> None:
        if seeded_urns(self.state) and not self.coder.users:
            raise UpdateFailedError(
                f"pulumi {operation} failed (CLI exit 4): coderd: GET /api/v2/users/me: "
                "401 Unauthorized",
                "-",
                4,
            )

    def _plan(self, on_event: EventSink, stage: Stage, *, seed: bool = True) -> dict[str, int]:
        changes: dict[str, int] = {}
        for urn, properties in self.drift.items():
            kind = _type_of(self.state, urn)
            on_event(StepEvent("done", urn, kind, "refresh", properties))
            on_event(StepEvent(stage, urn, kind, "update", properties))
            changes["update"] = changes.get("update", 0) + 1
        for urn, kind in self.deleted.items():
            on_event(StepEvent("done", urn, kind, "refresh", gone=True))
            on_event(StepEvent(stage, urn, kind, "create"))
            changes["create"] = changes.get("create", 0) + 1
        for urn, kind in self.terminating.items():
            on_event(StepEvent("done", urn, kind, "refresh", terminating=True))
            on_event(StepEvent("done", urn, kind, "same", terminating=True))
        for urn, properties in self.pending.items():
            on_event(StepEvent(stage, urn, _type_of(self.state, urn), "update", properties))
            changes["update"] = changes.get("update", 0) + 1
        for urn in self.perpetual:
            on_event(StepEvent(stage, urn, _type_of(self.state, urn), "update", ("spec",)))
            changes["update"] = changes.get("update", 0) + 1
        if seed and self._needs_seed():
            present = {r["urn"] for r in resources_of(self.state)}
            for resource in fx.seed_resources({}):
                kept = resource["urn"] in present
                if kept and resource["urn"] != fx.PUBLISHED_TOKEN:
                    continue  # the kept CoderSeed component: unchanged
                op = "update" if kept else "create"  # the kept secret gets the new token
                on_event(StepEvent(stage, resource["urn"], resource["type"], op))
                changes[op] = changes.get(op, 0) + 1
        return changes

    def _fail_resource(self, on_event: EventSink, urn: str, kind: str, message: str) -> None:
        """What the real engine sends when the API server refuses a create, then its error."""
        on_event(StepEvent("started", urn, kind, "create"))
        on_event(Diagnostic("error", message, urn))
        on_event(StepEvent("failed", urn, kind, "create"))
        on_event(Diagnostic("error", "update failed"))
        raise UpdateFailedError(
            f"pulumi up failed (CLI exit 1): {message}",
            "Read the report's failed list for the failing resource, fix it, then rerun",
            1,
        )

    def _emit_policy(self, on_event: EventSink) -> None:
        for finding in self.policy_findings:
            on_event(finding)

    def _emit_diagnostics(self, on_event: EventSink) -> None:
        for message in self.extra_diagnostics:
            on_event(Diagnostic("warning", message))


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def _seed_urns() -> set[str]:
    return {r["urn"] for r in fx.seed_resources({})}


def _type_of(state: Mapping[str, Any], urn: str) -> str:
    return next((r["type"] for r in resources_of(state) if r["urn"] == urn), "unknown")


@dataclass
class DoubleSite:
    """``CoderSite`` over the Coder double; the token comes from the fake engine's Vault."""

    coder: CoderDouble
    vault: dict[str, str]
    url: str = BASE_URL
    token_source: str | None = f"vault:{TOKEN_PATH}"
    down_for_clients: int = 0
    clients: list[CoderClient] = field(default_factory=list)

    def client(self, token: str | None) -> CoderReader:
        """A client of the double; the first ``down_for_clients`` find Coder not answering."""
        transport = self.coder.transport()
        if len(self.clients) < self.down_for_clients:
            transport = httpx.MockTransport(_refuse)
        client = CoderClient(
            self.url,
            token,
            transport=transport,
            clock=FakeClock(),
            max_attempts=2,
            backoff_seconds=0.01,
        )
        self.clients.append(client)
        return client

    def published_token(self) -> str | None:
        return self.vault.get(TOKEN_PATH)


@dataclass(frozen=True)
class StaticProbe:
    name: str
    status: ProbeStatus = ProbeStatus.OK
    detail: str = "HTTP 200"

    def check(self, deadline_seconds: float) -> ProbeResult:
        return ProbeResult(self.name, self.status, f"https://{self.name}.test", 1, self.detail)


@dataclass
class FakeDependencies:
    site: DoubleSite | None
    probes: list[StaticProbe] = field(
        default_factory=lambda: [StaticProbe("kubernetes"), StaticProbe("vault")]
    )
    calls: int = 0

    def __call__(self, session: Session, config: PlatformConfig) -> Dependencies:
        self.calls += 1
        return Dependencies(probes=list(self.probes), coder=self.site)


def converged_world() -> tuple[FakeEngine, DoubleSite]:
    """A stack right after a successful reconcile: seeded, Coder in sync, no writes counted."""
    coder = CoderDouble()
    engine = FakeEngine(coder=coder)
    engine.seed()
    coder.requests.clear()
    return engine, DoubleSite(coder, engine.vault)
