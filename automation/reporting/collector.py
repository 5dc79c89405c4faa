"""Aggregate one engine operation's events into what the report says (contract C4).

Classification, per the engine's event model (reference/pulumi.md §1, §5):

- a refresh step (``op: refresh``) with changed properties, or one that finds the resource gone,
  is *drift*; in a refresh-only operation (``drift``) any non-``same`` step is drift too, because
  the engine rewrites a drifted refresh step to ``update``/``delete``;
- in a preview/update, every other non-``same`` step is a *change* (planned in a preview,
  applied once its outputs event arrives in an update);
- mandatory policy findings fail the operation; advisory ones are reported.

Events arrive on the SDK's event thread, so updates take a lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from automation.reporting.events import Diagnostic, PolicyFinding, RunEvent, StepEvent, Summary

Operation = Literal["refresh", "update"]
UNCHANGED_OPS = frozenset({"same", "read", "refresh"})


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


class EventCollector:
    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        self._lock = threading.Lock()
        self._changes: dict[str, ResourceChange] = {}
        self._done: set[str] = set()
        self._failed: dict[str, ResourceChange] = {}
        self._drifted: dict[str, DriftedResource] = {}
        self.policy_findings: list[PolicyFinding] = []
        self.errors: list[Diagnostic] = []
        self.summary: dict[str, int] | None = None

    def __call__(self, event: RunEvent) -> None:
        with self._lock:
            if isinstance(event, StepEvent):
                self._step(event)
            elif isinstance(event, PolicyFinding):
                self.policy_findings.append(event)
            elif isinstance(event, Diagnostic) and event.severity == "error":
                self.errors.append(event)
            elif isinstance(event, Summary):
                self.summary = dict(event.changes)

    def _step(self, event: StepEvent) -> None:
        if self._is_drift(event):
            self._drifted[event.urn] = DriftedResource(
                event.urn, event.type, event.properties, deleted=event.gone or event.op == "delete"
            )
            return
        if event.op in UNCHANGED_OPS:
            return
        change = ResourceChange(event.urn, event.type, event.op, event.properties)
        if event.stage == "failed":
            self._failed[event.urn] = change
            return
        self._changes[event.urn] = change
        if event.stage == "done":
            self._done.add(event.urn)

    def _is_drift(self, event: StepEvent) -> bool:
        if event.op == "refresh":
            return bool(event.properties) or event.gone
        return self.operation == "refresh" and event.op not in UNCHANGED_OPS

    def changes(self, *, applied: bool) -> list[ResourceChange]:
        """Planned changes (a preview), or only those whose step completed (an update)."""
        with self._lock:
            return [c for urn, c in self._changes.items() if not applied or urn in self._done]

    @property
    def drifted(self) -> list[DriftedResource]:
        with self._lock:
            return list(self._drifted.values())

    @property
    def failed(self) -> list[ResourceChange]:
        with self._lock:
            return list(self._failed.values())

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
        if self.operation == "refresh":
            for drifted in self.drifted:
                op = "delete" if drifted.deleted else "update"
                counts[op] = counts.get(op, 0) + 1
        return counts
