"""A run report for humans: the ``report`` command and the end of an interactive run."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from automation.reporting.report import ResourceReport, RunReport

OK_OUTCOMES = frozenset({"converged", "planned", "applied", "healed"})


def render(report: RunReport, console: Console) -> None:
    style = "green" if report.outcome.value in OK_OUTCOMES else "red"
    header = Text.assemble(
        (f"{report.command} {report.stack}: ", "bold"),
        (report.outcome.value, f"bold {style}"),
        f" (exit {report.exit_code}) in {report.duration_seconds:.1f}s  run {report.run_id}",
    )
    parts: list[Table | Text] = [header, *_tables(report), *_lines(report)]
    console.print(Group(*parts))


def _tables(report: RunReport) -> list[Table]:
    tables: list[Table] = []
    if report.phases:
        phases = Table("phase", "status", "seconds", "detail", box=None, pad_edge=False)
        for phase in report.phases:
            phases.add_row(phase.name, phase.status, f"{phase.duration_seconds:.1f}", phase.detail)
        tables.append(phases)
    if report.probes:
        probes = Table("dependency", "status", "endpoint", "detail", box=None, pad_edge=False)
        for probe in report.probes:
            probes.add_row(probe.name, probe.status, probe.endpoint or "-", probe.detail)
        tables.append(probes)
    for title, resources in (
        ("drifted", report.drifted),
        ("healed", report.healed),
        ("planned", report.planned),
    ):
        if resources:
            tables.append(_resources(title, resources))
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
    lines += [Text(f"note: {note}", style="dim") for note in report.notes]
    if report.error:
        lines.append(Text(f"error: {report.error.message}. {report.error.action}", style="red"))
    return lines


def _resources(title: str, resources: list[ResourceReport]) -> Table:
    table = Table(title, "type", "op", "properties", box=None, pad_edge=False)
    for resource in resources:
        name = resource.urn.rsplit("::", 1)[-1]
        props = ", ".join(resource.properties) or ("(deleted)" if resource.deleted else "")
        table.add_row(name, resource.type, resource.op or "", props)
    return table
