"""The run report: one JSON document per run, the evidence contract C4 asks for.

Written to ``<report-dir>/<stack>/<run-id>.json`` and ``latest.json`` (and to stdout), it says
what was observed, what changed and how long each phase took, why a run failed, and which exit
code it ended with. It holds URNs, types, operation names and property *names* only; the whole
document passes through the redactor before it is written (C2).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from automation.errors import RunnerError, failure_reason
from automation.outcome import Outcome, exit_code
from automation.reporting.collector import EventCollector
from coder_platform.redaction import Redactor

SCHEMA = "coder-platform.run-report/v1"
LATEST = "latest.json"
# Engine messages are bounded: a provider can return a whole manifest in one error.
MAX_MESSAGE = 2000
MAX_DIAGNOSTICS = 50


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PhaseReport(_Model):
    name: str
    status: Literal["ok", "failed", "skipped"]
    duration_seconds: float
    detail: str = ""


class ProbeReport(_Model):
    name: str
    status: Literal["ok", "failed", "skipped"]
    endpoint: str | None = None
    attempts: int = 0
    duration_seconds: float = 0.0
    detail: str = ""


class ResourceReport(_Model):
    urn: str
    type: str
    op: str | None = None
    properties: list[str] = Field(default_factory=list)
    deleted: bool = False


class FailedResourceReport(_Model):
    """A resource the engine failed to change, and what the engine said about it."""

    urn: str
    type: str
    op: str | None = None
    messages: list[str] = Field(default_factory=list)


class DiagnosticReport(_Model):
    severity: str
    urn: str | None = None
    message: str


class PolicyViolationReport(_Model):
    policy_pack: str
    policy: str
    enforcement: str
    urn: str | None = None
    message: str


class StateEditReport(_Model):
    reason: str
    removed: list[str]
    kept: list[str] = Field(default_factory=list)
    pruned_references: dict[str, list[str]] = Field(default_factory=dict)


class CoderCheckReport(_Model):
    name: str
    ok: bool
    detail: str


class CoderReport(_Model):
    url: str
    first_user: bool | None = None
    reset_detected: bool = False
    checks: list[CoderCheckReport] = Field(default_factory=list)
    writes_by_runner: int = 0
    # When the automation token in state expires (the alert on rotation reads it as a metric).
    token_expires_at: datetime | None = None


class CoderWritesReport(_Model):
    """Coder writes the run's seeded resources made, for one kind and operation (C2, C4): the
    resources whose operation wrote, and the write requests they sent. A run that wrote nothing
    to Coder has none."""

    kind: str
    op: str
    resources: int
    requests: int


class ErrorReport(_Model):
    kind: str
    message: str
    action: str


class RunReport(_Model):
    schema_id: str = Field(SCHEMA, alias="schema")
    run_id: str
    command: str
    stack: str
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    outcome: Outcome
    exit_code: int
    phases: list[PhaseReport] = Field(default_factory=list)
    probes: list[ProbeReport] = Field(default_factory=list)
    changes: dict[str, int] = Field(default_factory=dict)
    drifted: list[ResourceReport] = Field(default_factory=list)
    pending: list[ResourceReport] = Field(default_factory=list)
    terminating: list[ResourceReport] = Field(default_factory=list)
    healed: list[ResourceReport] = Field(default_factory=list)
    planned: list[ResourceReport] = Field(default_factory=list)
    failed: list[FailedResourceReport] = Field(default_factory=list)
    diagnostics: list[DiagnosticReport] = Field(default_factory=list)
    policy_violations: list[PolicyViolationReport] = Field(default_factory=list)
    state_edit: StateEditReport | None = None
    coder: CoderReport | None = None
    coder_writes: list[CoderWritesReport] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    error: ErrorReport | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @property
    def coder_write_requests(self) -> int:
        """Every write request the run's seeded resources sent to Coder (0: Coder untouched)."""
        return sum(w.requests for w in self.coder_writes)

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.model_dump(mode="json", by_alias=True), indent=indent)


def new_run_id(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(4)}"


class ReportBuilder:
    """Collects a run's facts as the phases go, then freezes them into a ``RunReport``."""

    def __init__(self, command: str, stack: str, run_id: str | None = None) -> None:
        self.command = command
        self.stack = stack
        self.started_at = datetime.now(UTC)
        self.run_id = run_id or new_run_id(self.started_at)
        self._start = time.monotonic()
        self.phases: list[PhaseReport] = []
        self.probes: list[ProbeReport] = []
        self.changes: dict[str, int] = {}
        self.drifted: dict[str, ResourceReport] = {}
        self.pending: list[ResourceReport] = []
        self.terminating: list[ResourceReport] = []
        self.healed: list[ResourceReport] = []
        self.planned: list[ResourceReport] = []
        self.failed: list[FailedResourceReport] = []
        self.diagnostics: list[DiagnosticReport] = []
        self.policy_violations: list[PolicyViolationReport] = []
        self.state_edit: StateEditReport | None = None
        self.coder: CoderReport | None = None
        self.coder_writes: list[CoderWritesReport] = []
        self.notes: list[str] = []

    @contextmanager
    def phase(self, name: str) -> Iterator[list[str]]:
        """Time a named phase; the yielded list collects its detail; failure is recorded."""
        start = time.monotonic()
        detail: list[str] = []
        try:
            yield detail
        except BaseException as error:
            if not detail:
                detail.append(failure_reason(error))
            self._close_phase(name, "failed", start, detail)
            raise
        self._close_phase(name, "ok", start, detail)

    def record_operation(self, collector: EventCollector) -> None:
        """What every engine operation leaves in the report, also when it failed: the objects
        being deleted as it last saw them, the resources it failed to change with the engine's
        messages, and its error and warning diagnostics (deduplicated, bounded)."""
        self.terminating = [
            ResourceReport(urn=t.urn, type=t.type, properties=["metadata.deletionTimestamp"])
            for t in collector.terminating
        ]
        known = {f.urn for f in self.failed}
        for failure in collector.failures:
            if failure.urn in known:
                continue
            known.add(failure.urn)
            self.failed.append(
                FailedResourceReport(
                    urn=failure.urn,
                    type=failure.type,
                    op=failure.op or None,
                    messages=[m[:MAX_MESSAGE] for m in failure.messages],
                )
            )
        seen = {(d.severity, d.urn, d.message) for d in self.diagnostics}
        for diagnostic in collector.diagnostics:
            entry = DiagnosticReport(
                severity=diagnostic.severity,
                urn=diagnostic.urn,
                message=diagnostic.message[:MAX_MESSAGE],
            )
            key = (entry.severity, entry.urn, entry.message)
            if key not in seen and len(self.diagnostics) < MAX_DIAGNOSTICS:
                seen.add(key)
                self.diagnostics.append(entry)

    def skip_phase(self, name: str, reason: str) -> None:
        self.phases.append(
            PhaseReport(name=name, status="skipped", duration_seconds=0.0, detail=reason)
        )

    def _close_phase(
        self, name: str, status: Literal["ok", "failed"], start: float, detail: list[str]
    ) -> None:
        seconds = round(time.monotonic() - start, 3)
        self.phases.append(
            PhaseReport(
                name=name, status=status, duration_seconds=seconds, detail="; ".join(detail)
            )
        )

    def finish(self, outcome: Outcome, error: RunnerError | None = None) -> RunReport:
        finished = datetime.now(UTC)
        return RunReport(
            run_id=self.run_id,
            command=self.command,
            stack=self.stack,
            started_at=self.started_at,
            finished_at=finished,
            duration_seconds=round(time.monotonic() - self._start, 3),
            outcome=outcome,
            exit_code=int(exit_code(outcome)),
            phases=self.phases,
            probes=self.probes,
            changes=self.changes,
            drifted=list(self.drifted.values()),
            pending=self.pending,
            terminating=self.terminating,
            healed=self.healed,
            planned=self.planned,
            failed=self.failed,
            diagnostics=self.diagnostics,
            policy_violations=self.policy_violations,
            state_edit=self.state_edit,
            coder=self.coder,
            coder_writes=self.coder_writes,
            notes=self.notes,
            error=(
                ErrorReport(kind=type(error).__name__, message=error.what, action=error.action)
                if error
                else None
            ),
        )


def redacted(report: RunReport, redactor: Redactor) -> RunReport:
    """The same report with every string passed through the redactor."""
    data = redactor.data(report.model_dump(mode="json", by_alias=True))
    return RunReport.model_validate(data)


def write_report(report: RunReport, report_dir: Path) -> Path:
    """``<dir>/<stack>/<run-id>.json`` plus ``latest.json``, each replaced atomically."""
    directory = report_dir / report.stack
    directory.mkdir(parents=True, exist_ok=True)
    text = report.to_json(indent=2) + "\n"
    path = directory / f"{report.run_id}.json"
    for target in (path, directory / LATEST):
        temporary = target.with_suffix(".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    return path


def read_latest(report_dir: Path, stack: str) -> RunReport | None:
    path = report_dir / stack / LATEST
    if not path.exists():
        return None
    return RunReport.model_validate_json(path.read_text(encoding="utf-8"))
