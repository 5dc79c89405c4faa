"""Stack config for knowing before users do: ``observability.*`` and ``restoreDrill.*``.

The incident was found by people who could not log in, a day late, and its backups had never
been restored. These sections turn on the alerts (a ``PrometheusRule``), the dashboard and the
weekly restore drill, and carry every threshold the alerts use, so a stack tunes them in config
rather than in code. Same conventions as ``schema.py``: camelCase keys, no unknown keys, and a
description on every field that errors quote.
"""

from __future__ import annotations

import re

from pydantic import Field, HttpUrl, field_validator

from coder_platform.config.base import QUANTITY, UUID, ConfigModel
from coder_platform.contracts import DNS_LABEL, is_pinned_image
from coder_platform.observability.cron_gaps import ScheduleError, max_interval

_LABEL_KEY = r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"


class AlertThresholds(ConfigModel):
    """When each alert fires. Defaults follow the platform's promises: RPO <= 5 min (CNPG's
    archive_timeout), reconcile healing within two intervals, a drill at least weekly."""

    reconcile_missed_intervals: int = Field(
        2, ge=1, le=48, description="reconcile intervals without a success before alerting"
    )
    reconcile_locked_minutes: int = Field(
        60, ge=5, le=1440, description="minutes the last reconcile may report 'locked'"
    )
    drift_persistent_runs: int = Field(
        3, ge=2, le=48, description="consecutive reconcile runs that find drift before alerting"
    )
    wal_archive_max_age_minutes: int = Field(
        10,
        ge=6,
        le=1440,
        description="minutes since the newest archived WAL (archive_timeout "
        "is 5 minutes, so from 6)",
    )
    wal_archive_failing_minutes: int = Field(
        5, ge=1, le=120, description="minutes the newest WAL archive attempt may stay failed"
    )
    base_backup_margin_hours: int = Field(
        6,
        ge=1,
        le=168,
        description="hours past the backup schedule's period before the "
        "newest base backup counts as stale",
    )
    cluster_not_ready_minutes: int = Field(
        10, ge=1, le=240, description="minutes with fewer instances up than configured"
    )
    restore_drill_margin_hours: int = Field(
        24,
        ge=1,
        le=336,
        description="hours past the drill schedule's period before the last "
        "successful drill counts as stale",
    )


class ObservabilityConfig(ConfigModel):
    """The PrometheusRule, the PodMonitor and the Grafana dashboard ConfigMap (C4)."""

    enabled: bool = Field(False, description="deploy alerts, scraping and the dashboard")
    rule_labels: dict[str, str] = Field(
        default_factory=dict,
        description="labels the Prometheus operator's rule and pod-monitor selectors match, "
        "e.g. release: kube-prometheus-stack",
    )
    pod_monitor: bool = Field(
        True,
        description="create the PodMonitor that scrapes the database (CNPG's own is deprecated)",
    )
    dashboard_folder: str = Field(
        "Coder Platform", min_length=1, max_length=100, description="the Grafana folder"
    )
    runbook_url: str = Field(
        "docs/runbook.md",
        min_length=1,
        pattern=r"^(https://\S+|docs/runbook\.md)$",
        description="where docs/runbook.md is rendered (an https URL), or the repo path",
    )
    pushgateway_url: HttpUrl | None = Field(
        None,
        description="the Pushgateway the in-cluster runner and the restore drill push their "
        "metrics to (scraped by Prometheus with honor_labels)",
    )
    alerts: AlertThresholds = AlertThresholds()

    @field_validator("rule_labels")
    @classmethod
    def _label_keys(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(key for key in value if not _label_key_ok(key))
        if bad:
            raise ValueError(f"not Kubernetes label keys: {', '.join(bad)}")
        return value


def _label_key_ok(key: str) -> bool:
    return bool(re.fullmatch(_LABEL_KEY, key)) and len(key) <= 316


class RestoreDrillConfig(ConfigModel):
    """The scheduled proof that the backups restore (C3): a scratch cluster from the archive."""

    enabled: bool = Field(False, description="schedule the restore drill for this stack")
    schedule: str = Field(
        "17 4 * * 1",
        description="a five-field Kubernetes cron in UTC, e.g. '17 4 * * 1' (Monday 04:17)",
    )
    namespace: str = Field(
        "coder-db-drill",
        pattern=DNS_LABEL,
        max_length=63,
        description="a scratch namespace of its own: the drill deletes what it creates there",
    )
    cluster_name: str = Field(
        "coder-db-drill",
        pattern=DNS_LABEL,
        max_length=50,
        description="the scratch Cluster",
    )
    image: str | None = Field(
        None,
        pattern=r"^[^\s@]+(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$",
        description="the runner image, pinned (default: reconciler.image)",
    )
    deadline_minutes: int = Field(
        60, ge=5, le=720, description="minutes the scratch cluster may take to become Ready"
    )
    storage_class_name: str | None = Field(
        None,
        pattern=DNS_LABEL,
        description="the scratch cluster's StorageClass (default: the cluster default; a "
        "Delete class, so scratch disks do not pile up)",
    )
    storage_size: str | None = Field(
        None, pattern=QUANTITY, description="the scratch volume (default: database.storageSize)"
    )
    workload_identity_client_id: str | None = Field(
        None,
        pattern=UUID,
        description="client id of the scratch cluster's read-only identity, created outside this "
        "stack (only when azure.enabled is false; otherwise the stack creates it)",
    )
    min_users: int = Field(1, ge=0, description="Coder users the restored database must hold")
    min_templates: int = Field(
        1, ge=0, description="Coder templates the restored database must hold"
    )

    @field_validator("schedule")
    @classmethod
    def _five_field_cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(
                "a Kubernetes CronJob schedule has five fields (minute first), e.g. '17 4 * * 1'"
            )
        try:
            max_interval(value)
        except ScheduleError as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("image")
    @classmethod
    def _pinned_image(cls, value: str | None) -> str | None:
        if value is not None and not is_pinned_image(value):
            raise ValueError("the image must be pinned by a version tag or digest, not latest")
        return value
