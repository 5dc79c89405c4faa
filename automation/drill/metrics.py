"""The drill's result as Prometheus metrics, pushed next to the runner's (or a textfile).

Numbers and the ``stack`` label only. Like the runner's, families a failed drill does not know
(the last success, RTO, RPO, the row counts) keep their last known value: the push is a POST,
the textfile carries them over. ``coder_platform.observability.alerts`` reads ``success`` and
``last_success_timestamp_seconds``; the dashboard draws RTO and RPO.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from automation.drill.run import RestoreDrillResult
from automation.reporting.metrics import replace_textfile
from coder_platform.contracts import DRILL_JOB, DrillMetric

LAST_KNOWN = (
    DrillMetric.LAST_SUCCESS,
    DrillMetric.RTO,
    DrillMetric.RPO,
    DrillMetric.RESTORED_USERS,
    DrillMetric.RESTORED_TEMPLATES,
)


def render(result: RestoreDrillResult) -> str:
    finished = result.finished_at or result.started_at
    families: list[tuple[DrillMetric, float | None, str]] = [
        (DrillMetric.LAST_RUN, finished.timestamp(), "When the last drill finished."),
        (
            DrillMetric.SUCCESS,
            int(result.success),
            "1 if the last drill restored, queried and cleaned up.",
        ),
        (DrillMetric.DURATION, result.duration_seconds, "How long the last drill took."),
        (
            DrillMetric.CLEANUP_OK,
            int(result.cleanup_ok),
            "1 if the last drill removed its scratch cluster.",
        ),
        (
            DrillMetric.WORKLOAD_IDENTITY_OK,
            None if result.identity_ok is None else int(result.identity_ok),
            "1 if the backup sidecar had AZURE_FEDERATED_TOKEN_FILE.",
        ),
        (
            DrillMetric.LAST_SUCCESS,
            finished.timestamp() if result.success else None,
            "When a drill last succeeded.",
        ),
        (DrillMetric.RTO, result.rto_seconds, "Scratch cluster created to restored DB answering."),
        (DrillMetric.RPO, result.rpo_seconds, "Drill start minus the newest restored row."),
        (DrillMetric.RESTORED_USERS, result.users, "Coder users in the restored database."),
        (
            DrillMetric.RESTORED_TEMPLATES,
            result.templates,
            "Coder templates in the restored database.",
        ),
    ]
    labels = f'{{stack="{result.stack}"}}'
    lines: list[str] = []
    for name, value, help_text in families:
        if value is None:
            continue
        lines += [
            f"# HELP {name} {help_text}",
            f"# TYPE {name} gauge",
            f"{name}{labels} {round(value, 3)}",
        ]
    return "\n".join(lines) + "\n"


def write_textfile(target: Path, result: RestoreDrillResult) -> Path:
    """Atomically write ``<dir>/coder_platform_<stack>_restore_drill.prom`` (or the file)."""
    path = (
        target / f"coder_platform_{result.stack}_restore_drill.prom" if target.is_dir() else target
    )
    replace_textfile(path, render(result), LAST_KNOWN)
    return path


def push(
    gateway: str, result: RestoreDrillResult, transport: httpx.BaseTransport | None = None
) -> None:
    url = f"{gateway.rstrip('/')}/metrics/job/{DRILL_JOB}/stack/{result.stack}"
    with httpx.Client(timeout=10.0, transport=transport) as client:
        client.post(url, content=render(result)).raise_for_status()
