"""Optional Prometheus metrics for a run: a node-exporter textfile or a Pushgateway push.

Numbers and labels only (stack, outcome, operation): nothing a report redacts can appear here.
A metrics failure never changes a run's outcome; it becomes a note in the report.

Some families only some runs know (the last success, the token's expiry, what verify found in
Coder). A run that does not know them leaves the last known value in place: the push is a POST
(the Pushgateway replaces only the families pushed) and the textfile carries them over from the
file it replaces. The alerts in ``coder_platform.observability.alerts`` read them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import httpx

from automation.outcome import Outcome
from automation.reporting.report import RunReport
from coder_platform.contracts import RUN_JOB, RunMetric

# A run ending in one of these leaves the stack verified (or, for preview/up, done).
SUCCESSES = frozenset(
    {
        Outcome.CONVERGED,
        Outcome.PENDING,
        Outcome.CREATED,
        Outcome.HEALED,
        Outcome.UPDATED,
        Outcome.APPLIED,
        Outcome.PLANNED,
    }
)
LAST_KNOWN = (
    RunMetric.LAST_SUCCESS,
    RunMetric.TOKEN_EXPIRY,
    RunMetric.TEMPLATES_FOUND,
    RunMetric.USERS_FOUND,
)
# Always pushed (zero when unused), so a POST never leaves an old run's count behind.
OPERATIONS = ("create", "update", "replace", "delete")


def render(report: RunReport) -> str:
    labels = f'stack="{report.stack}",command="{report.command}"'
    lines = [
        f"# HELP {RunMetric.LAST_TIMESTAMP} When the last run finished.",
        f"# TYPE {RunMetric.LAST_TIMESTAMP} gauge",
        f"{RunMetric.LAST_TIMESTAMP}{{{labels}}} {report.finished_at.timestamp():.3f}",
        f"# HELP {RunMetric.EXIT_CODE} The last run's exit code (docs/runner.md).",
        f"# TYPE {RunMetric.EXIT_CODE} gauge",
        f"{RunMetric.EXIT_CODE}{{{labels}}} {report.exit_code}",
        f"# HELP {RunMetric.DURATION} How long the last run took.",
        f"# TYPE {RunMetric.DURATION} gauge",
        f"{RunMetric.DURATION}{{{labels}}} {report.duration_seconds}",
        f"# HELP {RunMetric.OUTCOME} 1 for the last run's outcome, 0 for the others.",
        f"# TYPE {RunMetric.OUTCOME} gauge",
    ]
    lines += [
        f'{RunMetric.OUTCOME}{{{labels},outcome="{o.value}"}} {int(o == report.outcome)}'
        for o in Outcome
    ]
    lines += [
        f"# HELP {RunMetric.RESOURCE_CHANGES} Resource changes of the last run, by operation.",
        f"# TYPE {RunMetric.RESOURCE_CHANGES} gauge",
    ]
    lines += [
        f'{RunMetric.RESOURCE_CHANGES}{{{labels},operation="{op}"}} {count}'
        for op, count in sorted({**dict.fromkeys(OPERATIONS, 0), **report.changes}.items())
    ]
    lines += [
        f"# HELP {RunMetric.CODER_WRITES_BY_KIND} Coder write requests of the last run's seeded "
        "resources, by resource kind and operation.",
        f"# TYPE {RunMetric.CODER_WRITES_BY_KIND} gauge",
    ]
    lines += [
        f'{RunMetric.CODER_WRITES_BY_KIND}{{{labels},kind="{w.kind}",operation="{w.op}"}} '
        f"{w.requests}"
        for w in report.coder_writes
    ]
    resets = int(report.coder is not None and report.coder.reset_detected)
    for name, value, help_text in (
        (RunMetric.DRIFTED, len(report.drifted), "Resources found drifted."),
        (RunMetric.PENDING, len(report.pending), "Code or config changes waiting for a run."),
        (RunMetric.HEALED, len(report.healed), "Resources changed to heal drift or a reset."),
        (RunMetric.POLICY_VIOLATIONS, len(report.policy_violations), "Policy findings."),
        (RunMetric.RESETS, resets, "Coder database resets the run detected (and healed)."),
        (
            RunMetric.CODER_WRITES,
            report.coder_write_requests,
            "Coder write requests of the run's seeded resources (0: Coder untouched).",
        ),
        *_last_known(report),
    ):
        lines += [
            f"# HELP {name} {help_text}",
            f"# TYPE {name} gauge",
            f"{name}{{{labels}}} {value}",
        ]
    return "\n".join(lines) + "\n"


def _last_known(report: RunReport) -> list[tuple[RunMetric, float, str]]:
    known: list[tuple[RunMetric, float, str]] = []
    if report.outcome in SUCCESSES:
        known.append(
            (LAST_KNOWN[0], round(report.finished_at.timestamp(), 3), "When a run last succeeded.")
        )
    coder = report.coder
    if coder is not None and coder.token_expires_at is not None:
        expiry = round(coder.token_expires_at.timestamp(), 3)
        known.append((LAST_KNOWN[1], expiry, "When the automation token in state expires."))
    if coder is not None and coder.checks:
        found = [c.name for c in coder.checks if c.ok]
        templates = sum(name.startswith("template:") for name in found)
        users = sum(name == "first-user" or name.startswith("user:") for name in found)
        known.append((LAST_KNOWN[2], templates, "Seeded templates verify found in Coder."))
        known.append((LAST_KNOWN[3], users, "Seeded users verify found in Coder."))
    return known


def replace_textfile(path: Path, text: str, last_known: Iterable[str]) -> None:
    """Atomically replace ``path`` with ``text``, keeping the ``last_known`` families of the old
    file that ``text`` does not have (a node-exporter textfile is read whole, any time)."""
    try:
        old = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        old = []
    kept: list[str] = []
    for family in last_known:
        if f"\n{family}{{" in f"\n{text}":
            continue
        kept += [
            line
            for line in old
            if line.startswith((f"# HELP {family} ", f"# TYPE {family} ", f"{family}{{"))
        ]
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text + "".join(f"{line}\n" for line in kept), encoding="utf-8")
    os.replace(temporary, path)


def write_textfile(target: Path, report: RunReport) -> Path:
    """Atomically write ``<dir>/coder_platform_<stack>_<command>.prom`` (or the file given)."""
    path = (
        target / f"coder_platform_{report.stack}_{report.command}.prom"
        if target.is_dir()
        else target
    )
    replace_textfile(path, render(report), LAST_KNOWN)
    return path


def push(gateway: str, report: RunReport, transport: httpx.BaseTransport | None = None) -> None:
    url = (
        f"{gateway.rstrip('/')}/metrics/job/{RUN_JOB}/stack/{report.stack}/command/{report.command}"
    )
    with httpx.Client(timeout=10.0, transport=transport) as client:
        client.post(url, content=render(report)).raise_for_status()
