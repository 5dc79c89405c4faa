"""Aggregate one engine operation's events into what the report says (contract C4).

Classification, per the engine's event model (reference/pulumi.md §1, §5), for every operation
(a preview or update with refresh, which is also what ``drift`` runs):

- *drift* is what the world changed: a refresh step (``op: refresh``) with changed properties,
  one that finds the resource gone (``deleted``), or one whose live object is being deleted
  (``metadata.deletionTimestamp``); a later step of the same resource (the ``create`` that would
  bring a deleted one back) never rewrites it;
- every other non-``same`` step is a *change* (planned in a preview, applied once its outputs
  event arrives in an update); provider steps are not, as the engine's own summary counts none;
- a *pending* change is a planned change the drift does not explain: what the code or config
  wants changed (a merged PR waiting for its run), reported apart from drift;
- a failed step and the engine's error diagnostics name what failed and why;
- mandatory policy findings fail the operation; advisory ones are reported.

Events arrive on the SDK's event thread, so updates take a lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Literal

from automation.reporting.events import Diagnostic, PolicyFinding, RunEvent, StepEvent, Summary

Operation = Literal["refresh", "update"]
UNCHANGED_OPS = frozenset({"same", "read", "refresh"})
PROVIDER_TYPE_PREFIX = "pulumi:providers:"
DELETION_TIMESTAMP = "metadata.deletionTimestamp"
# Diagnostics kept for the report: what the engine said went wrong, and its warnings.
KEPT_SEVERITIES = frozenset({"error", "warning"})


@dataclass(frozen=True)
class ResourceChange:
    urn: str
    type: str
    op: str
    properties: tuple[str, ...] = ()


@dataclass(frozen=True)
class DriftedResource:
    urn: str
    type: str
    properties: tuple[str, ...] = ()
    deleted: bool = False


@dataclass(frozen=True)
class FailedResource:
    """A resource whose step failed, with the engine's (redacted) messages about it."""

    urn: str
    type: str
    op: str
    messages: tuple[str, ...] = ()


class EventCollector:
    def __init__(self, operation: Operation) -> None:
        # The operation the events come from; classification is the same for both, because
        # every runner operation refreshes inside a preview or an update.
        self.operation = operation
        self._lock = threading.Lock()
        self._changes: dict[str, ResourceChange] = {}
        self._done: set[str] = set()
        self._failed: dict[str, ResourceChange] = {}
        self._drifted: dict[str, DriftedResource] = {}
        self._terminating: dict[str, ResourceChange] = {}
        self.policy_findings: list[PolicyFinding] = []
        self.errors: list[Diagnostic] = []
        self.diagnostics: list[Diagnostic] = []
        self.summary: dict[str, int] | None = None

    def __call__(self, event: RunEvent) -> None:
        with self._lock:
            if isinstance(event, StepEvent):
                self._step(event)
            elif isinstance(event, PolicyFinding):
                self.policy_findings.append(event)
            elif isinstance(event, Diagnostic):
                self._diagnostic(event)
            elif isinstance(event, Summary):
                self.summary = dict(event.changes)

    def _diagnostic(self, event: Diagnostic) -> None:
        if event.severity == "error":
            self.errors.append(event)
        if event.severity in KEPT_SEVERITIES and event not in self.diagnostics:
            self.diagnostics.append(event)

    def _step(self, event: StepEvent) -> None:
        if event.stage == "done":
            self._track_terminating(event)
        if event.op == "refresh":
            if event.properties or event.gone or event.terminating:
                self._record_drift(event)
            return
        if event.op in UNCHANGED_OPS or event.type.startswith(PROVIDER_TYPE_PREFIX):
            return
        change = ResourceChange(event.urn, event.type, event.op, event.properties)
        if event.stage == "failed":
            self._failed[event.urn] = change
            return
        self._changes[event.urn] = change
        if event.stage == "done":
            self._done.add(event.urn)

    def _record_drift(self, event: StepEvent) -> None:
        properties = event.properties
        if event.terminating and DELETION_TIMESTAMP not in properties:
            properties = (*properties, DELETION_TIMESTAMP)
        self._drifted[event.urn] = DriftedResource(
            event.urn, event.type, properties, deleted=event.gone
        )

    def _track_terminating(self, event: StepEvent) -> None:
        """The latest live view of each object wins: a replacement is not terminating."""
        if event.terminating:
            self._terminating[event.urn] = ResourceChange(event.urn, event.type, event.op)
        else:
            self._terminating.pop(event.urn, None)

    def changes(self, *, applied: bool) -> list[ResourceChange]:
        """Planned changes (a preview), or only those whose step completed (an update)."""
        with self._lock:
            return [c for urn, c in self._changes.items() if not applied or urn in self._done]

    @property
    def pending(self) -> list[ResourceChange]:
        """Planned changes the world did not cause: the code or config wants them. A change
        that only brings back what drifted (re-create a deleted object, restore a drifted
        property) is not pending; a drifted resource's other changed properties are."""
        pending: list[ResourceChange] = []
        for change in self.changes(applied=False):
            drifted = self._drifted.get(change.urn)
            if drifted is None:
                pending.append(change)
                continue
            if drifted.deleted:
                continue
            extra = tuple(p for p in change.properties if p not in drifted.properties)
            if extra:
                pending.append(replace(change, properties=extra))
        return pending

    @property
    def drifted(self) -> list[DriftedResource]:
        with self._lock:
            return list(self._drifted.values())

    @property
    def terminating(self) -> list[ResourceChange]:
        """Objects the stack owns whose live state is being deleted (as last seen)."""
        with self._lock:
            return list(self._terminating.values())

    @property
    def failed(self) -> list[ResourceChange]:
        with self._lock:
            return list(self._failed.values())

    @property
    def failures(self) -> list[FailedResource]:
        """Each failed resource with the engine's error messages about it; a resource the
        engine only complained about (no failed step) is listed too."""
        with self._lock:
            failed = dict(self._failed)
            errors = list(self.errors)
        for error in errors:
            if error.urn and error.urn not in failed:
                failed[error.urn] = ResourceChange(error.urn, _type_of(error.urn), "")
        return [
            FailedResource(c.urn, c.type, c.op, tuple(e.message for e in errors if e.urn == c.urn))
            for c in failed.values()
        ]

    @property
    def mandatory_violations(self) -> list[PolicyFinding]:
        return [f for f in self.policy_findings if f.mandatory]

    def counts(self, *, applied: bool) -> dict[str, int]:
        """Changes by operation: the engine's summary when it sent one, else counted steps."""
        if self.summary is not None:
            return {op: n for op, n in self.summary.items() if op not in UNCHANGED_OPS and n}
        counts: dict[str, int] = {}
        for change in self.changes(applied=applied):
            counts[change.op] = counts.get(change.op, 0) + 1
        return counts


def _type_of(urn: str) -> str:
    """The resource type a URN names (``urn:pulumi:<stack>::<project>::<parent$type>::<name>``)."""
    parts = urn.split("::")
    return parts[2].rsplit("$", 1)[-1] if len(parts) >= 4 else "unknown"
