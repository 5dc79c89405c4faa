"""A run report for humans: the ``report`` command and the end of an interactive run.

Off a terminal (a CronJob log, a pipe) ``rich`` would assume 80 columns and cut long cells with
an ellipsis; ``console_for`` widens such consoles and every column folds instead of cutting,
so a URN or an engine message is always printed whole. Its consoles survive a reader that goes
away (``| head``) without changing the exit code.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from automation.outcome import Outcome
from automation.reporting.known_warnings import compact, summary_line
from automation.reporting.report import ResourceReport, RunReport
from automation.reporting.streams import silence

OK_OUTCOMES = frozenset(
    {"converged", "planned", "applied", "pending", "created", "healed", "updated"}
)
# What the run's changed resources (the report's ``healed`` list) are called, by outcome.
CHANGED_TITLES = {
    Outcome.CREATED: "created",
    Outcome.UPDATED: "updated",
    Outcome.APPLIED: "applied",
    Outcome.HEALED: "healed",
}
WIDE = 240


class PipeSafeConsole(Console):
    """A console whose reader may go away: rich's default answer to a broken pipe is
    ``SystemExit(1)``, which would replace the run's own exit code."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        silence(self.file)


def console_for(stream: TextIO) -> Console:
    """A pipe-safe console that never cuts at 80 columns when ``stream`` is not a terminal."""
    console = PipeSafeConsole(file=stream)
    if not console.is_terminal:
        console = PipeSafeConsole(file=stream, width=WIDE)
    return console


def render(report: RunReport, console: Console) -> None:
    style = "green" if report.outcome.value in OK_OUTCOMES else "red"
    header = Text.assemble(
        (f"{report.command} {report.stack}: ", "bold"),
        (report.outcome.value, f"bold {style}"),
        f" (exit {report.exit_code}) in {report.duration_seconds:.1f}s  run {report.run_id}",
    )
    parts: list[Table | Text] = [header, *_tables(report), *_lines(report)]
    console.print(Group(*parts))


def _table(*columns: str) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _tables(report: RunReport) -> list[Table]:
    tables: list[Table] = []
    if report.phases:
        phases = _table("phase", "status", "seconds", "detail")
        for phase in report.phases:
            phases.add_row(phase.name, phase.status, f"{phase.duration_seconds:.1f}", phase.detail)
        tables.append(phases)
    if report.probes:
        probes = _table("dependency", "status", "endpoint", "detail")
        for probe in report.probes:
            probes.add_row(probe.name, probe.status, probe.endpoint or "-", probe.detail)
        tables.append(probes)
    for title, resources in (
        ("drifted", report.drifted),
        ("pending", report.pending),
        ("terminating", report.terminating),
        (CHANGED_TITLES.get(report.outcome, "changed"), report.healed),
        ("planned", report.planned),
    ):
        if resources:
            tables.append(_resources(title, resources))
    if report.failed:
        failed = _table("failed", "type", "op", "engine message")
        for failure in report.failed:
            failed.add_row(
                failure.urn.rsplit("::", 1)[-1],
                failure.type,
                failure.op or "",
                "\n".join(failure.messages) or "(no message; see the report's diagnostics)",
            )
        tables.append(failed)
    return tables


def _lines(report: RunReport) -> list[Text]:
    lines: list[Text] = []
    if report.changes:
        counts = ", ".join(f"{op} {n}" for op, n in sorted(report.changes.items()))
        lines.append(Text(f"changes: {counts}"))
    if report.state_edit:
        edit = report.state_edit
        lines.append(
            Text(
                f"state edit ({edit.reason}): removed {len(edit.removed)} resources, kept "
                f"{len(edit.kept)}"
            )
        )
    lines += [
        Text(
            f"policy {v.enforcement}: {v.policy_pack}/{v.policy} {v.urn or ''}: {v.message}",
            style="yellow",
        )
        for v in report.policy_violations
    ]
    if report.coder:
        lines += [
            Text(f"coder {'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}")
            for c in report.coder.checks
        ]
    if report.coder or report.coder_writes:
        lines.append(Text(f"coder writes by the run's resources: {_writes(report)}"))
    lines += _warning_lines(report)
    lines += [Text(f"note: {note}", style="dim") for note in report.notes]
    if report.error:
        lines.append(Text(f"error: {report.error.message}. {report.error.action}", style="red"))
    return lines


def _writes(report: RunReport) -> str:
    if not report.coder_writes:
        return "none"
    each = ", ".join(
        f"{w.kind} {w.op} {w.resources} ({w.requests} requests)" for w in report.coder_writes
    )
    return f"{report.coder_write_requests} requests: {each}"


def _warning_lines(report: RunReport) -> list[Text]:
    """Known toolchain warnings as one line; other engine warnings counted, not repeated."""
    warnings = [d.message for d in report.diagnostics if d.severity == "warning"]
    lines: list[Text] = []
    toolchain = summary_line(warnings)
    if toolchain:
        lines.append(Text(toolchain, style="dim"))
    others = sum(compact(message) is None for message in warnings)
    if others:
        lines.append(
            Text(f"{others} engine warning(s): see the report's diagnostics", style="yellow")
        )
    return lines


def _resources(title: str, resources: list[ResourceReport]) -> Table:
    table = _table(title, "type", "op", "properties")
    for resource in resources:
        name = resource.urn.rsplit("::", 1)[-1]
        props = ", ".join(resource.properties) or ("(deleted)" if resource.deleted else "")
        table.add_row(name, resource.type, resource.op or "", props)
    return table
