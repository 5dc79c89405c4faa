"""The platform's Grafana dashboard, built in code with grafana-foundation-sdk (typed builders
for Grafana 11.6's dashboard model), not hand-written JSON.

One dashboard per stack answers "can it come back?" at a glance: runs and outcomes over time,
drift and heals, WAL and base-backup freshness, the automation token's remaining life, and the
restore drill's RTO and RPO. It reads the same series as the alerts (``alerts.py`` here) and
draws their thresholds, so a red panel and a firing alert mean the same thing.
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model

from coder_platform.contracts import PROJECT, DrillMetric, RunMetric
from coder_platform.observability.alerts import BACKUP_TIMESTAMP, AlertInputs

DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
GREEN, ORANGE, RED = "green", "orange", "red"


def _query(expr: str, legend: str) -> prometheus.Dataquery:
    query = prometheus.Dataquery().expr(expr).legend_format(legend).datasource(DATASOURCE)
    # Grafana needs a refId per query of a panel; the legend is unique within each panel here.
    return query.ref_id(legend)


def _steps(*steps: tuple[float | None, str]) -> gd.ThresholdsConfig:
    return (
        gd.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=value, color=color) for value, color in steps])
    )


def _series(
    title: str, description: str, queries: list[prometheus.Dataquery], unit: str = "short"
) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).description(description).unit(unit).height(8)
    panel = panel.datasource(DATASOURCE).span(12)
    for query in queries:
        panel = panel.with_target(query)
    return panel


def _stat(
    title: str, description: str, query: prometheus.Dataquery, unit: str, steps: gd.ThresholdsConfig
) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .height(8)
        .span(6)
        .datasource(DATASOURCE)
        .with_target(query)
        .thresholds(steps)
    )


def _runner_panels(inputs: AlertInputs) -> list[timeseries.Panel | stat.Panel]:
    run = f'{{stack="{inputs.stack}",command="reconcile"}}'
    panels: list[timeseries.Panel | stat.Panel] = [
        _series(
            "Reconcile outcome",
            "1 while the last reconcile ended with this outcome (exit codes in docs/runner.md).",
            [_query(f"max by (outcome) ({RunMetric.OUTCOME}{run}) == 1", "{{outcome}}")],
        ),
        _series(
            "Drift and heals",
            "Resources the last reconcile found drifted and changed, and Coder resets healed.",
            [
                _query(f"max({RunMetric.DRIFTED}{run})", "drifted"),
                _query(f"max({RunMetric.HEALED}{run})", "healed"),
                _query(f"max({RunMetric.RESETS}{run})", "resets"),
            ],
        ),
        _series(
            "Reconcile duration",
            "How long the last reconcile took.",
            [_query(f"max({RunMetric.DURATION}{run})", "duration")],
            unit="s",
        ),
    ]
    if inputs.reconcile_interval_minutes is not None:
        limit = inputs.thresholds.reconcile_missed_intervals * inputs.reconcile_interval_minutes
        panels.append(
            _stat(
                "Since the last successful reconcile",
                f"Red after {inputs.thresholds.reconcile_missed_intervals} intervals "
                "(CoderPlatformReconcileFailing).",
                _query(f"time() - max({RunMetric.LAST_SUCCESS}{run})", "age"),
                "s",
                _steps((None, GREEN), (limit * 60, RED)),
            )
        )
    return panels


def _backup_panels(inputs: AlertInputs) -> list[timeseries.Panel | stat.Panel]:
    pods = f'{{namespace="{inputs.database_namespace}",pod=~"{inputs.cluster_name}-[0-9]+"}}'
    t = inputs.thresholds
    backup_limit = inputs.backup_period.total_seconds() + t.base_backup_margin_hours * 3600
    return [
        _stat(
            "Newest archived WAL",
            f"Seconds since the primary archived a WAL; red past {t.wal_archive_max_age_minutes} "
            "minutes (CoderDatabaseWalArchiveStale).",
            _query(f"max(cnpg_pg_stat_archiver_seconds_since_last_archival{pods})", "age"),
            "s",
            _steps((None, GREEN), (t.wal_archive_max_age_minutes * 60, RED)),
        ),
        _stat(
            "Newest base backup",
            "Age of the newest base backup the Barman Cloud plugin reports; red past the "
            "schedule's longest gap plus the margin (CoderDatabaseBaseBackupStale).",
            _query(f"time() - max({BACKUP_TIMESTAMP}{pods})", "age"),
            "s",
            _steps((None, GREEN), (backup_limit, RED)),
        ),
        _stat(
            "Database instances up",
            f"Instances answering their exporter, of {inputs.instances} configured.",
            _query(f"sum(max by (pod) (cnpg_collector_up{pods}))", "up"),
            "short",
            _steps((None, RED), (inputs.instances, GREEN)),
        ),
        _series(
            "WAL archive failures",
            "Failed WAL archive attempts per hour (CoderDatabaseWalArchivingFailing).",
            [_query(f"sum(increase(cnpg_pg_stat_archiver_failed_count{pods}[1h]))", "failures")],
        ),
    ]


def _token_panels(inputs: AlertInputs) -> list[timeseries.Panel | stat.Panel]:
    if inputs.token_rotation_window_hours is None:
        return []
    window = inputs.token_rotation_window_hours * 3600
    return [
        _stat(
            "Automation token expires in",
            "Red inside the rotation window: rotation should have replaced it "
            "(CoderPlatformTokenInsideRotationWindow).",
            _query(
                f'min({RunMetric.TOKEN_EXPIRY}{{stack="{inputs.stack}"}}) - time()',
                "expires in",
            ),
            "s",
            _steps((None, RED), (window, GREEN)),
        )
    ]


def _drill_panels(inputs: AlertInputs) -> list[timeseries.Panel | stat.Panel]:
    if inputs.drill_period is None:
        return []
    selector = f'{{stack="{inputs.stack}"}}'
    limit = (
        inputs.drill_period.total_seconds() + inputs.thresholds.restore_drill_margin_hours * 3600
    )
    return [
        _series(
            "Restore drill RTO and RPO",
            "RTO: scratch cluster created to restored database answering. RPO: drill start "
            "minus the newest row in Coder's tables (an upper bound on the data a loss costs).",
            [
                _query(f"max({DrillMetric.RTO}{selector})", "RTO"),
                _query(f"max({DrillMetric.RPO}{selector})", "RPO"),
            ],
            unit="s",
        ),
        _stat(
            "Last restore drill",
            "1: restored, queried and cleaned up; 0: failed (CoderPlatformRestoreDrillFailed).",
            _query(f"max({DrillMetric.SUCCESS}{selector})", "success"),
            "short",
            _steps((None, RED), (1, GREEN)),
        ),
        _stat(
            "Since the last successful drill",
            "Red past the drill schedule's longest gap plus the margin "
            "(CoderPlatformRestoreDrillStale).",
            _query(f"time() - max({DrillMetric.LAST_SUCCESS}{selector})", "age"),
            "s",
            _steps((None, GREEN), (limit, RED)),
        ),
    ]


def build_dashboard(inputs: AlertInputs) -> dict[str, Any]:
    """The dashboard's JSON model, ready for a Grafana sidecar ConfigMap."""
    board = (
        gd.Dashboard(f"Coder platform ({inputs.stack})")
        .uid(f"{PROJECT}-{inputs.stack}"[:40])
        .description("Runs, drift, backups, the automation token and the restore drill.")
        .tags([PROJECT, inputs.stack])
        .time("now-7d", "now")
        .refresh("1m")
        .timezone("utc")
        .readonly()
        .with_variable(gd.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    )
    rows = (
        ("Reconcile runs", _runner_panels(inputs)),
        ("Backups and WAL", _backup_panels(inputs)),
        ("Automation token", _token_panels(inputs)),
        ("Restore drill", _drill_panels(inputs)),
    )
    for title, panels in rows:
        if not panels:
            continue
        board = board.with_row(gd.Row(title))
        for panel in panels:
            board = board.with_panel(panel)
    document: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return document
