"""The platform's alerts, as data: one definition renders the PrometheusRule the program deploys
and the rule file ``promtool test rules`` checks (tests/alerts/).

Each alert says one thing an operator must know before users do, with a runbook anchor in
``docs/runbook.md``. The series they read:

- ``coder_platform_run_*``: the runner's own metrics (``automation/reporting/metrics.py``),
  pushed to a Pushgateway or written for node-exporter, labelled ``stack`` and ``command``.
- ``coder_platform_restore_drill_*``: the weekly restore drill's (``automation/drill/``).
- ``cnpg_collector_up`` and ``cnpg_pg_stat_archiver_*``: CloudNativePG's instance exporter (port
  ``metrics``, scraped through the PodMonitor the program creates). The archiver series exist on
  the primary only; ``seconds_since_last_archival`` is -1 before the first archived WAL.
- ``barman_cloud_cloudnative_pg_io_last_available_backup_timestamp``: the Barman Cloud plugin's,
  on the same exporter (the in-core ``cnpg_collector_*backup*`` series are not updated for
  plugin backups since CNPG 1.26.1).

Series from Kubernetes carry ``namespace`` and ``pod`` (from the PodMonitor), so the database
selectors pin both: the scratch cluster of the restore drill never matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import yaml

from coder_platform.config.observability import AlertThresholds
from coder_platform.contracts import PROJECT, DrillMetric, RunMetric

Severity = Literal["critical", "warning", "info"]
BACKUP_TIMESTAMP = "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp"
GROUP = PROJECT


@dataclass(frozen=True)
class AlertInputs:
    """What the rules need to know about one stack; ``None`` leaves that alert group out."""

    stack: str
    database_namespace: str
    cluster_name: str
    instances: int
    backup_period: timedelta
    reconcile_interval_minutes: int | None
    token_rotation_window_hours: int | None
    drill_period: timedelta | None
    thresholds: AlertThresholds = field(default_factory=AlertThresholds)
    runbook_url: str = "docs/runbook.md"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: Severity
    summary: str
    description: str
    anchor: str

    def rule(self, inputs: AlertInputs) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, "stack": inputs.stack},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": f"{inputs.runbook_url}#{self.anchor}",
            },
        }


def duration(seconds: float) -> str:
    """A Prometheus duration in whole minutes (``90m``), or seconds below one minute."""
    whole = int(seconds)
    return f"{whole // 60}m" if whole % 60 == 0 and whole >= 60 else f"{whole}s"


def _runner(inputs: AlertInputs) -> list[Alert]:
    if inputs.reconcile_interval_minutes is None:
        return []
    interval = inputs.reconcile_interval_minutes * 60
    run = f'{{stack="{inputs.stack}",command="reconcile"}}'
    return [*_runner_silent(inputs, run, interval), *_runner_stuck(inputs, run, interval)]


def _runner_silent(inputs: AlertInputs, run: str, interval: int) -> list[Alert]:
    """The scheduled reconcile does not succeed, or does not report at all."""
    t = inputs.thresholds
    stale = t.reconcile_missed_intervals * interval
    return [
        Alert(
            "CoderPlatformReconcileFailing",
            f"time() - max by (stack) ({RunMetric.LAST_SUCCESS}{run}) > {stale}",
            "5m",
            "critical",
            f"No successful reconcile of {inputs.stack} for {t.reconcile_missed_intervals} "
            "intervals",
            "The scheduled reconcile has not converged or healed the stack for "
            "{{ $value | humanizeDuration }}: drift and a Coder reset are not being healed.",
            "coderplatformreconcilefailing",
        ),
        Alert(
            "CoderPlatformReconcileMetricsAbsent",
            f"absent({RunMetric.LAST_TIMESTAMP}{run})",
            duration(stale),
            "warning",
            f"No reconcile of {inputs.stack} has reported metrics",
            "Prometheus has no run metrics for this stack: the CronJob is not running or its "
            "Pushgateway/textfile path is broken, so the other reconcile alerts are blind.",
            "coderplatformreconcilemetricsabsent",
        ),
    ]


def _runner_stuck(inputs: AlertInputs, run: str, interval: int) -> list[Alert]:
    """It runs, but cannot get the lock, keeps finding drift, or had to re-seed a reset Coder."""
    t = inputs.thresholds
    return [
        Alert(
            "CoderPlatformReconcileLocked",
            f'max by (stack) ({RunMetric.OUTCOME}{{stack="{inputs.stack}",command="reconcile",'
            'outcome="locked"}) == 1',
            f"{t.reconcile_locked_minutes}m",
            "warning",
            f"Reconcile of {inputs.stack} has been locked out for "
            f"{t.reconcile_locked_minutes} minutes",
            "Every reconcile finds the stack locked by another update (exit 14): a CI run is "
            "stuck or a dead run left a stale lock.",
            "coderplatformreconcilelocked",
        ),
        Alert(
            "CoderPlatformDriftPersists",
            f"min by (stack) ({RunMetric.DRIFTED}{run}) > 0",
            duration(t.drift_persistent_runs * interval),
            "warning",
            f"{inputs.stack} drifts again after every heal",
            "{{ $value }} resources were found drifted in every reconcile for "
            f"{t.drift_persistent_runs} runs: something outside the program keeps changing "
            "them.",
            "coderplatformdriftpersists",
        ),
        Alert(
            "CoderPlatformCoderResetHealed",
            f"max by (stack) ({RunMetric.RESETS}{run}) > 0 and on (stack) "
            f'max by (stack) ({RunMetric.OUTCOME}{{stack="{inputs.stack}",command="reconcile",'
            'outcome="healed"}) == 1',
            "0m",
            "info",
            f"Coder's database of {inputs.stack} was reset and the reconcile re-seeded it",
            "The last reconcile found Coder without its first user while the state held seeded "
            "resources, dropped them from state and re-created them. Find out why the database "
            "was reset.",
            "coderplatformcoderresethealed",
        ),
    ]


def _token(inputs: AlertInputs) -> list[Alert]:
    if inputs.token_rotation_window_hours is None or inputs.reconcile_interval_minutes is None:
        return []
    window = inputs.token_rotation_window_hours * 3600
    return [
        Alert(
            "CoderPlatformTokenInsideRotationWindow",
            f"min by (stack) ({RunMetric.TOKEN_EXPIRY}"
            f'{{stack="{inputs.stack}"}}) - time() < {window}',
            # A working rotation replaces the token at the first run inside the window.
            duration(2 * inputs.reconcile_interval_minutes * 60),
            "critical",
            f"The automation token of {inputs.stack} is inside its rotation window",
            "The token expires in {{ $value | humanizeDuration }} and two reconciles have not "
            "rotated it: rotation is broken. When it expires, nothing can republish templates "
            "(the incident).",
            "coderplatformtokeninsiderotationwindow",
        ),
    ]


def _database(inputs: AlertInputs) -> list[Alert]:
    t = inputs.thresholds
    pods = f'{{namespace="{inputs.database_namespace}",pod=~"{inputs.cluster_name}-[0-9]+"}}'
    namespace = f'{{namespace="{inputs.database_namespace}"}}'
    archiver = "cnpg_pg_stat_archiver"
    backup_stale = inputs.backup_period.total_seconds() + t.base_backup_margin_hours * 3600
    return [
        Alert(
            "CoderDatabaseWalArchivingFailing",
            f"{archiver}_last_failed_time{pods} > {archiver}_last_archived_time{pods}",
            f"{t.wal_archive_failing_minutes}m",
            "critical",
            f"WAL archiving of {inputs.cluster_name} ({inputs.stack}) is failing",
            "The newest WAL archive attempt on {{ $labels.pod }} failed and none has succeeded "
            "since: nothing new reaches the backup store.",
            "coderdatabasewalarchivingfailing",
        ),
        Alert(
            "CoderDatabaseWalArchiveStale",
            f"max by (namespace) ({archiver}_seconds_since_last_archival{pods}) > "
            f"{t.wal_archive_max_age_minutes * 60}",
            "1m",
            "critical",
            f"The newest archived WAL of {inputs.cluster_name} ({inputs.stack}) is older than "
            f"{t.wal_archive_max_age_minutes} minutes",
            "No WAL has been archived for {{ $value | humanizeDuration }}; the promised RPO "
            "(5 minutes) is not met.",
            "coderdatabasewalarchivestale",
        ),
        Alert(
            "CoderDatabaseBaseBackupStale",
            f"(time() - max by (namespace) ({BACKUP_TIMESTAMP}{pods}) > {int(backup_stale)}) "
            f"or (absent({BACKUP_TIMESTAMP}{namespace}) and on () "
            f"sum(cnpg_collector_up{pods}) > 0)",
            "1h",
            "critical",
            f"The newest base backup of {inputs.cluster_name} ({inputs.stack}) is older than "
            "its schedule allows",
            "The newest base backup is older than the backup schedule's longest gap plus "
            f"{t.base_backup_margin_hours}h (or the database reports none at all): recovery "
            "would replay more WAL than planned, or fail.",
            "coderdatabasebasebackupstale",
        ),
        Alert(
            "CoderDatabaseNotReady",
            # One value per pod first: a second scrape of the same pod must not hide a down one.
            f"(sum by (namespace) (max by (namespace, pod) (cnpg_collector_up{pods})) "
            f"< {inputs.instances}) "
            f"or absent(cnpg_collector_up{namespace})",
            f"{t.cluster_not_ready_minutes}m",
            "critical",
            f"CNPG cluster {inputs.cluster_name} ({inputs.stack}) is not ready",
            f"Fewer than {inputs.instances} PostgreSQL instances answer their exporter (or none "
            "is scraped at all).",
            "coderdatabasenotready",
        ),
    ]


def _drill(inputs: AlertInputs) -> list[Alert]:
    if inputs.drill_period is None:
        return []
    t = inputs.thresholds
    selector = f'{{stack="{inputs.stack}"}}'
    stale = inputs.drill_period.total_seconds() + t.restore_drill_margin_hours * 3600
    return [
        Alert(
            "CoderPlatformRestoreDrillFailed",
            f"max by (stack) ({DrillMetric.SUCCESS}{selector}) == 0",
            "0m",
            "critical",
            f"The last restore drill of {inputs.stack} failed",
            "The backups did not restore into a working Coder database (or the backup "
            "sidecar lacks its workload identity): read the drill Job's log.",
            "coderplatformrestoredrillfailed",
        ),
        Alert(
            "CoderPlatformRestoreDrillStale",
            f"time() - max by (stack) ({DrillMetric.LAST_SUCCESS}{selector}) > {int(stale)}",
            "10m",
            "warning",
            f"No successful restore drill of {inputs.stack} within its schedule",
            "The last successful drill is older than the drill schedule's longest gap plus "
            f"{t.restore_drill_margin_hours}h: the backups are unproven.",
            "coderplatformrestoredrillstale",
        ),
        Alert(
            "CoderPlatformRestoreDrillMissing",
            f"absent({DrillMetric.LAST_RUN}{selector})",
            duration(stale),
            "warning",
            f"No restore drill of {inputs.stack} has ever reported",
            "Prometheus has no drill metrics: the drill CronJob never ran or cannot reach the "
            "Pushgateway.",
            "coderplatformrestoredrillmissing",
        ),
    ]


def alerts(inputs: AlertInputs) -> list[Alert]:
    """Every alert for this stack, in runbook order."""
    return [*_runner(inputs), *_token(inputs), *_database(inputs), *_drill(inputs)]


def rule_groups(inputs: AlertInputs) -> list[dict[str, Any]]:
    """The ``spec.groups`` of the PrometheusRule (and of a promtool rule file)."""
    return [
        {
            "name": f"{GROUP}-{inputs.stack}",
            "interval": "1m",
            "rules": [alert.rule(inputs) for alert in alerts(inputs)],
        }
    ]


def rule_file(inputs: AlertInputs) -> str:
    """The same groups as a Prometheus rule file, for ``promtool check|test rules``."""
    return yaml.safe_dump({"groups": rule_groups(inputs)}, sort_keys=False, width=1000)


def anchors(inputs: AlertInputs) -> Mapping[str, str]:
    """Alert name -> runbook anchor, for the docs test."""
    return {alert.name: alert.anchor for alert in alerts(inputs)}
