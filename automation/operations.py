"""Running one engine operation: events to the report and the view, locks, policy verdicts.

Shared by every command so that lock handling and policy promotion are decided once:

- a ``StackLockedError`` is re-raised with each lock's holder and age and the command that
  clears it; only ``--break-stale-lock-after`` clears locks, only when every lock is known to be
  older than that, through ``pulumi cancel`` (Pulumi's documented way), logging what it removed;
- a failed operation that saw a mandatory policy finding is a policy violation (its own exit
  code), and so is a successful one that saw one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from automation.engine.errors import TRACEBACK_HEADER, last_meaningful_line
from automation.engine.locks import age_text, all_stale, locked_error
from automation.engine.protocol import EventSink, OperationSummary, PolicySettings
from automation.errors import LockHolder, PolicyViolationError, StackLockedError, UpdateFailedError
from automation.reporting.collector import DriftedResource, EventCollector, ResourceChange
from automation.reporting.events import RunEvent, redacted
from automation.reporting.report import PolicyViolationReport, ResourceReport
from automation.session import Session

T = TypeVar("T")


def sink_for(session: Session, collector: EventCollector) -> EventSink:
    def sink(event: RunEvent) -> None:
        clean = redacted(event, session.redactor)
        collector(clean)
        session.progress.event(clean)

    return sink


def break_locks(session: Session, locks: tuple[LockHolder, ...], stale_after: timedelta) -> None:
    """Clear locks every one of which is older than ``stale_after``; the report says which,
    whose, how old, and the bound that made it safe (the CronJob derives it from its deadline)."""
    now = session.now()
    bound = int(stale_after.total_seconds())
    for lock in locks:
        note = (
            f"removing stale lock {lock.path} held by {lock.holder}"
            + (f" pid {lock.pid}" if lock.pid else "")
            + f" ({age_text(lock, now)}, older than --break-stale-lock-after {bound}s: no live "
            "run holds it) with `pulumi cancel`"
        )
        session.report.notes.append(note)
        session.progress.note(note)
    session.engine.cancel()


def check_visible_locks(session: Session, stale_after: timedelta | None) -> None:
    """Fail fast on a lock the backend shows without an update (file backends)."""
    held = tuple(session.engine.locks())
    if not held:
        return
    if stale_after is not None and all_stale(held, stale_after, session.now()):
        break_locks(session, held, stale_after)
        return
    raise locked_error(session.stack, held, session.now())


def with_lock_policy(session: Session, stale_after: timedelta | None, call: Callable[[], T]) -> T:
    try:
        return call()
    except StackLockedError as error:
        if stale_after is None or not all_stale(error.locks, stale_after, session.now()):
            raise locked_error(session.stack, error.locks, session.now()) from None
        break_locks(session, error.locks, stale_after)
        return call()


def run_operation(
    session: Session,
    collector: EventCollector,
    call: Callable[[EventSink], OperationSummary],
    stale_after: timedelta | None = None,
) -> OperationSummary:
    sink = sink_for(session, collector)
    try:
        summary = with_lock_policy(session, stale_after, lambda: call(sink))
    except UpdateFailedError as error:
        record_policy(session, collector)
        if collector.mandatory_violations:
            raise policy_error(collector) from None
        raise naming_the_failure(error, collector) from None
    finally:
        session.report.record_operation(collector)
    record_policy(session, collector)
    if collector.mandatory_violations:
        raise policy_error(collector)
    if collector.summary is None:
        collector.summary = dict(summary.changes)
    return summary


def naming_the_failure(error: UpdateFailedError, collector: EventCollector) -> UpdateFailedError:
    """The engine's failure, naming the failing URN and the last meaningful line the engine said
    about it (a provider's exception, not its traceback header), when the events named one."""
    failures = [f for f in collector.failures if f.messages] or collector.failures
    if not failures:
        return error
    failure = failures[0]
    where, _, cli_said = error.what.partition(": ")
    telling = [m for m in failure.messages if TRACEBACK_HEADER in m] or list(failure.messages)
    said = last_meaningful_line(telling[-1]) if telling else cli_said
    what = f"{where} at {failure.urn}" + (f": {said}" if said else "")
    return UpdateFailedError(what, error.action, error.cli_exit_code)


def policy_error(collector: EventCollector) -> PolicyViolationError:
    violations = collector.mandatory_violations
    named = ", ".join(
        sorted({f"{v.policy} on {(v.urn or 'the stack').rsplit('::', 1)[-1]}" for v in violations})
    )
    return PolicyViolationError(
        f"{len(violations)} mandatory policy violation(s): {named}",
        "Change what each violation message names (see the report's policy_violations); "
        "the engine stopped before applying the violating resource",
    )


def record_policy(session: Session, collector: EventCollector) -> None:
    seen = {(v.policy, v.urn, v.message) for v in session.report.policy_violations}
    for finding in collector.policy_findings:
        if (finding.policy, finding.urn, finding.message) in seen:
            continue
        seen.add((finding.policy, finding.urn, finding.message))
        session.report.policy_violations.append(
            PolicyViolationReport(
                policy_pack=finding.pack,
                policy=finding.policy,
                enforcement=finding.enforcement,
                urn=finding.urn,
                message=finding.message,
            )
        )


def record_drift(session: Session, drifted: list[DriftedResource]) -> None:
    for resource in drifted:
        session.report.drifted[resource.urn] = ResourceReport(
            urn=resource.urn,
            type=resource.type,
            properties=list(resource.properties),
            deleted=resource.deleted,
        )


def resource_reports(changes: list[ResourceChange]) -> list[ResourceReport]:
    return [
        ResourceReport(urn=c.urn, type=c.type, op=c.op, properties=list(c.properties))
        for c in changes
    ]


@dataclass(frozen=True)
class OperationResult:
    """What one preview or up changed (or plans to), and the counts by operation."""

    changes: list[ResourceChange]
    counts: dict[str, int]


def preview_and_record(
    session: Session,
    policy: PolicySettings | None,
    stale_after: timedelta | None = None,
) -> OperationResult:
    """The one preview body (``preview`` and reconcile's decide): refresh, program and pack;
    the planned changes and any drift go into the report."""
    collector = EventCollector("update")
    run_operation(
        session,
        collector,
        lambda sink: session.engine.preview(policy=policy, expect_no_changes=False, on_event=sink),
        stale_after,
    )
    planned = collector.changes(applied=False)
    session.report.planned = resource_reports(planned)
    record_drift(session, collector.drifted)
    return OperationResult(planned, collector.counts(applied=False))


def up_and_record(
    session: Session,
    policy: PolicySettings | None,
    stale_after: timedelta | None = None,
    exclude: Sequence[str] = (),
) -> OperationResult:
    """The one update body (``up`` and reconcile's act): what changed goes into the report,
    added to what an earlier update of the same run changed."""
    collector = EventCollector("update")
    summary = run_operation(
        session,
        collector,
        lambda sink: session.engine.up(policy=policy, on_event=sink, exclude=exclude),
        stale_after,
    )
    applied = collector.changes(applied=True)
    session.report.healed += resource_reports(applied)
    record_drift(session, collector.drifted)
    counts = {
        op: count
        for op, count in (collector.counts(applied=True) or summary.changes).items()
        if op != "same" and count
    }
    return OperationResult(applied, counts)
