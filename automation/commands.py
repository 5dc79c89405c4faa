"""The one-shot commands: preview, up, drift and the guarded destroy.

Each validates the stack config first (C1: one clear line instead of a program traceback), runs
one engine operation through ``operations.run_operation`` and fills the report.
"""

from __future__ import annotations

from collections.abc import Callable

from automation.engine.protocol import PolicySettings
from automation.errors import RefusedError
from automation.operations import (
    preview_and_record,
    record_drift,
    resource_reports,
    run_operation,
    up_and_record,
)
from automation.outcome import Outcome
from automation.reporting.collector import EventCollector
from automation.scope import refuse_operator_uninstall
from automation.session import Session, phase, validate_config
from coder_platform.contracts import PROJECT

PROTECTED_KEY = f"{PROJECT}:protected"
Prompt = Callable[[str], str]


def preview(session: Session, policy: PolicySettings | None) -> Outcome:
    with phase(session, "preview") as detail:
        validate_config(session)
        result = preview_and_record(session, policy)
        planned = result.changes
        session.report.changes = result.counts
        detail.append(f"{len(planned)} changes planned" if planned else "no changes")
        if policy is None:
            session.report.notes.append("policy pack disabled for this preview (--no-policy)")
    return Outcome.PLANNED if planned else Outcome.CONVERGED


def up(session: Session, policy: PolicySettings | None) -> Outcome:
    with phase(session, "up") as detail:
        config = validate_config(session)
        refuse_operator_uninstall(session.stack, config, session.engine.export_state())
        result = up_and_record(session, policy)
        applied = result.changes
        session.report.changes = result.counts
        detail.append(f"{len(applied)} resources changed" if applied else "no changes")
    return Outcome.APPLIED if applied else Outcome.CONVERGED


def drift(session: Session) -> Outcome:
    """A refresh preview with the program run: lists each drifted resource and property (exit
    11), and apart from drift the changes the code or config wants (``pending``, exit 0)."""
    with phase(session, "drift") as detail:
        validate_config(session)
        collector = EventCollector("refresh")
        run_operation(
            session, collector, lambda sink: session.engine.preview_refresh(on_event=sink)
        )
        drifted = collector.drifted
        record_drift(session, drifted)
        pending = collector.pending
        session.report.pending = resource_reports(pending)
        session.report.planned = resource_reports(collector.changes(applied=False))
        session.report.changes = collector.counts(applied=False)
        detail.append(f"{len(drifted)} resources drifted" if drifted else "no drift")
        if pending:
            detail.append(f"{len(pending)} code or config changes pending")
    if drifted:
        return Outcome.DRIFT
    return Outcome.PENDING if pending else Outcome.CONVERGED


def destroy(session: Session, confirmation: str | None, prompt: Prompt | None) -> Outcome:
    """Refused for protected stacks (``coder-platform:protected``, true unless set false) and
    without the stack's name typed back: the data layer is what the incident lost."""
    with phase(session, "guard") as detail:
        entry = session.engine.config().get(PROTECTED_KEY)
        if entry is None or entry.value.strip().lower() != "false":
            raise RefusedError(
                f"stack {session.stack} is protected ({PROTECTED_KEY} is "
                f"{'unset, which means true' if entry is None else entry.value})",
                f"Destroy only after a reviewed change sets {PROTECTED_KEY}: false in "
                f"stacks/Pulumi.{session.stack}.yaml",
            )
        typed = confirmation
        if typed is None and prompt is not None:
            typed = prompt(f"Type the stack name ({session.stack}) to destroy every resource")
        if typed != session.stack:
            raise RefusedError(
                f"destroy of stack {session.stack} was not confirmed",
                f"Rerun with --confirm {session.stack} (or type the name at the prompt)",
            )
        detail.append("not protected; confirmed by name")
    with phase(session, "destroy") as detail:
        collector = EventCollector("update")
        run_operation(session, collector, lambda sink: session.engine.destroy(on_event=sink))
        session.report.healed = resource_reports(collector.changes(applied=True))
        session.report.changes = collector.counts(applied=True)
        detail.append(", ".join(f"{op} {n}" for op, n in session.report.changes.items()))
    return Outcome.APPLIED
