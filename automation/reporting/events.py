"""The runner's own engine events, translated from ``pulumi.automation`` events.

Everything downstream (the report collector, the progress view, tests) speaks these small typed
events instead of the SDK's classes. Translation keeps what a report needs: URN, type, operation
and the *names* of changed properties, never their values (contract C2). Messages are redacted
before any sink sees them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from pulumi.automation import EngineEvent, StepEventMetadata

from coder_platform.redaction import Redactor

Stage = Literal["started", "done", "failed"]


@dataclass(frozen=True)
class StepEvent:
    """A resource step; ``gone`` means a refresh found the resource deleted out of band, and
    ``terminating`` that its live outputs carry ``metadata.deletionTimestamp`` (a Kubernetes
    object being deleted, held by a finalizer: the engine sees no diff, so nothing else says it).
    """

    stage: Stage
    urn: str
    type: str
    op: str
    properties: tuple[str, ...] = ()
    gone: bool = False
    terminating: bool = False


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    message: str
    urn: str | None = None


@dataclass(frozen=True)
class PolicyFinding:
    pack: str
    policy: str
    enforcement: str
    message: str
    urn: str | None = None

    @property
    def mandatory(self) -> bool:
        return self.enforcement.lower() == "mandatory"


@dataclass(frozen=True)
class Summary:
    changes: Mapping[str, int] = field(default_factory=dict)


RunEvent = StepEvent | Diagnostic | PolicyFinding | Summary


def translate(event: EngineEvent) -> RunEvent | None:
    """One SDK event to one runner event; ``None`` for events a report does not need."""
    for stage, wrapper in (
        ("started", event.resource_pre_event),
        ("done", event.res_outputs_event),
        ("failed", event.res_op_failed_event),
    ):
        if wrapper is not None:
            return _step(cast(Stage, stage), wrapper.metadata)
    diagnostic = event.diagnostic_event
    if diagnostic is not None:
        if diagnostic.ephemeral:
            return None
        return Diagnostic(
            str(diagnostic.severity), str(diagnostic.message).strip(), diagnostic.urn or None
        )
    policy = event.policy_event
    if policy is not None:
        return PolicyFinding(
            pack=str(policy.policy_pack_name),
            policy=str(policy.policy_name),
            enforcement=str(policy.enforcement_level),
            message=str(policy.message).strip(),
            urn=policy.resource_urn or None,
        )
    if event.summary_event is not None:
        return Summary(op_counts(event.summary_event.resource_changes))
    return None


def op_counts(changes: Mapping[Any, int] | None) -> dict[str, int]:
    """``OpMap`` (enum or string keys, as the SDK hands them) to plain ``op -> count``."""
    counts: dict[str, int] = {}
    for op, count in (changes or {}).items():
        name = str(getattr(op, "value", op))
        counts[name] = counts.get(name, 0) + int(count)
    return counts


def redacted(event: RunEvent, redactor: Redactor) -> RunEvent:
    if isinstance(event, Diagnostic | PolicyFinding):
        return replace(event, message=redactor(event.message))
    return event


def _step(stage: Stage, metadata: StepEventMetadata) -> StepEvent:
    op = str(getattr(metadata.op, "value", metadata.op))
    properties = tuple(sorted((metadata.detailed_diff or {}).keys())) or tuple(
        sorted(metadata.diffs or ())
    )
    gone = op == "refresh" and metadata.old is not None and metadata.new is None
    return StepEvent(
        stage, metadata.urn, metadata.type, op, properties, gone, _terminating(metadata)
    )


def _terminating(metadata: StepEventMetadata) -> bool:
    """``metadata.deletionTimestamp`` in the live outputs: the API server is deleting the object
    (Kubernetes API conventions: set once deletion is requested, the object stays until its
    finalizers are removed). Only a timestamp's presence is read, never a value."""
    outputs = getattr(metadata.new, "outputs", None) if metadata.new is not None else None
    object_meta = outputs.get("metadata") if isinstance(outputs, Mapping) else None
    return isinstance(object_meta, Mapping) and bool(object_meta.get("deletionTimestamp"))
