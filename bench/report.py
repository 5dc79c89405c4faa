"""One run's results: the compact table a human reads and the JSON a script keeps."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console, JustifyMethod
from rich.table import Table

from bench.machine import Machine
from bench.measure import Measurement


@dataclass
class Section:
    """A group of measurements and the one they are divided by (``baseline``), if any."""

    title: str
    measurements: list[Measurement] = field(default_factory=list)
    baseline: Measurement | None = None
    not_run: str | None = None


@dataclass
class BenchRun:
    machine: Machine
    repeat: int
    sections: list[Section]
    notes: list[str]
    total_seconds: float

    def failed(self) -> bool:
        return any(m.error for s in self.sections for m in s.measurements)

    def not_run(self) -> bool:
        return any(s.not_run for s in self.sections)


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def print_table(run: BenchRun, console: Console) -> None:
    for line in run.machine.lines():
        console.print(line, highlight=False)
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("benchmark", "left"),
        ("n", "right"),
        ("median s", "right"),
        ("min s", "right"),
        ("ratio", "right"),
        ("in runner s", "right"),
        ("note", "left"),
    )
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for section in run.sections:
        table.add_row(f"[bold]{section.title}[/]", end_section=False)
        if section.not_run:
            table.add_row("  NOT RUN", "", "", "", "", "", section.not_run)
        for m in section.measurements:
            if m.error:
                table.add_row(f"  {m.name}", str(len(m.samples)), "ERROR", "", "", "", m.error)
                continue
            table.add_row(
                f"  {m.name}",
                str(len(m.samples)),
                _seconds(m.median),
                _seconds(m.minimum),
                _ratio(m.ratio_to(section.baseline)),
                _seconds(m.runner_median),
                m.note,
            )
    console.print(table, highlight=False)
    for note in run.notes:
        console.print(note, highlight=False)
    console.print(f"total bench time: {run.total_seconds:.1f} s", highlight=False)


def as_json(run: BenchRun) -> str:
    document: dict[str, Any] = {
        "machine": asdict(run.machine),
        "repeat": run.repeat,
        "sections": [
            {
                "title": s.title,
                "baseline": s.baseline.name if s.baseline else None,
                "not_run": s.not_run,
                "measurements": [
                    {
                        **asdict(m),
                        "median": m.median,
                        "min": m.minimum,
                        "ratio": m.ratio_to(s.baseline),
                        "runner_median": m.runner_median,
                    }
                    for m in s.measurements
                ],
            }
            for s in run.sections
        ],
        "notes": run.notes,
        "total_seconds": run.total_seconds,
    }
    return json.dumps(document, indent=2)
