"""Optional Prometheus metrics for a run: a node-exporter textfile or a Pushgateway push.

Numbers and labels only (stack, outcome, operation): nothing a report redacts can appear here.
A metrics failure never changes a run's outcome; it becomes a note in the report.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from automation.outcome import Outcome
from automation.reporting.report import RunReport

PREFIX = "coder_platform_run"
JOB = "coder_platform_runner"


def render(report: RunReport) -> str:
    labels = f'stack="{report.stack}",command="{report.command}"'
    lines = [
        f"# HELP {PREFIX}_last_timestamp_seconds When the last run finished.",
        f"# TYPE {PREFIX}_last_timestamp_seconds gauge",
        f"{PREFIX}_last_timestamp_seconds{{{labels}}} {report.finished_at.timestamp():.3f}",
        f"# HELP {PREFIX}_exit_code The last run's exit code (docs/runner.md).",
        f"# TYPE {PREFIX}_exit_code gauge",
        f"{PREFIX}_exit_code{{{labels}}} {report.exit_code}",
        f"# HELP {PREFIX}_duration_seconds How long the last run took.",
        f"# TYPE {PREFIX}_duration_seconds gauge",
        f"{PREFIX}_duration_seconds{{{labels}}} {report.duration_seconds}",
        f"# HELP {PREFIX}_outcome 1 for the last run's outcome, 0 for the others.",
        f"# TYPE {PREFIX}_outcome gauge",
    ]
    lines += [
        f'{PREFIX}_outcome{{{labels},outcome="{o.value}"}} {int(o == report.outcome)}'
        for o in Outcome
    ]
    lines += [
        f"# HELP {PREFIX}_resource_changes Resource changes of the last run, by operation.",
        f"# TYPE {PREFIX}_resource_changes gauge",
    ]
    lines += [
        f'{PREFIX}_resource_changes{{{labels},operation="{op}"}} {count}'
        for op, count in sorted(report.changes.items())
    ]
    for name, value, help_text in (
        ("drifted_resources", len(report.drifted), "Resources found drifted."),
        ("healed_resources", len(report.healed), "Resources changed to heal drift or a reset."),
        ("policy_violations", len(report.policy_violations), "Policy findings."),
    ):
        lines += [
            f"# HELP {PREFIX}_{name} {help_text}",
            f"# TYPE {PREFIX}_{name} gauge",
            f"{PREFIX}_{name}{{{labels}}} {value}",
        ]
    return "\n".join(lines) + "\n"


def write_textfile(target: Path, report: RunReport) -> Path:
    """Atomically write ``<dir>/coder_platform_<stack>_<command>.prom`` (or the file given)."""
    path = (
        target / f"coder_platform_{report.stack}_{report.command}.prom"
        if target.is_dir()
        else target
    )
    temporary = path.with_suffix(".tmp")
    temporary.write_text(render(report), encoding="utf-8")
    os.replace(temporary, path)
    return path


def push(gateway: str, report: RunReport, transport: httpx.BaseTransport | None = None) -> None:
    url = f"{gateway.rstrip('/')}/metrics/job/{JOB}/stack/{report.stack}/command/{report.command}"
    with httpx.Client(timeout=10.0, transport=transport) as client:
        client.put(url, content=render(report)).raise_for_status()
