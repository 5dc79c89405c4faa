"""Engine events to report facts: drift, changes, policy (reference/pulumi.md §1, §5)."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.automation import EngineEvent

from automation.reporting.collector import (
    DriftedResource,
    EventCollector,
    FailedResource,
    Operation,
)
from automation.reporting.events import Diagnostic, PolicyFinding, StepEvent, Summary, translate
from tests.automation import state_fixture as fx


def step_json(kind: str, op: str, urn: str, type_: str, **metadata: Any) -> dict[str, Any]:
    return {
        "sequence": 3,
        "timestamp": 1769000000,
        kind: {"metadata": {"op": op, "urn": urn, "type": type_, "provider": "", **metadata}},
    }


def test_step_carries_property_names_when_a_refresh_finds_a_detailed_diff() -> None:
    event = EngineEvent.from_json(
        step_json(
            "resOutputsEvent",
            "refresh",
            fx.DB_CLUSTER,
            "kubernetes:postgresql.cnpg.io/v1:Cluster",
            detailedDiff={"spec.instances": {"diffKind": "update", "inputDiff": False}},
            old={
                "type": "x",
                "urn": fx.DB_CLUSTER,
                "id": "i",
                "parent": "",
                "provider": "",
                "outputs": {"spec": {"instances": 1}},
            },
            new={
                "type": "x",
                "urn": fx.DB_CLUSTER,
                "id": "i",
                "parent": "",
                "provider": "",
                "outputs": {"spec": {"instances": 3}},
            },
        )
    )
    translated = translate(event)
    assert translated == StepEvent(
        "done",
        fx.DB_CLUSTER,
        "kubernetes:postgresql.cnpg.io/v1:Cluster",
        "refresh",
        ("spec.instances",),
    )


def test_step_is_gone_when_a_refresh_finds_no_new_state() -> None:
    event = EngineEvent.from_json(
        step_json(
            "resOutputsEvent",
            "refresh",
            fx.CODER_RELEASE,
            "kubernetes:helm.sh/v3:Release",
            old={"type": "x", "urn": fx.CODER_RELEASE, "id": "i", "parent": "", "provider": ""},
        )
    )
    translated = translate(event)
    assert isinstance(translated, StepEvent) and translated.gone


def test_policy_and_summary_kept_and_ephemeral_dropped_when_translated() -> None:
    policy = EngineEvent.from_json(
        {
            "sequence": 1,
            "timestamp": 0,
            "policyEvent": {
                "message": "reclaimPolicy must be Retain",
                "color": "never",
                "policyName": "storage-class-retain",
                "policyPackName": "coder-platform",
                "policyPackVersion": "0.1.0",
                "policyPackVersionTag": "0.1.0",
                "enforcementLevel": "mandatory",
                "resourceUrn": fx.STORAGE_CLASS,
            },
        }
    )
    summary = EngineEvent.from_json(
        {
            "sequence": 2,
            "timestamp": 0,
            "summaryEvent": {
                "maybeCorrupt": False,
                "durationSeconds": 3,
                "resourceChanges": {"same": 9, "update": 1},
                "PolicyPacks": {},
            },
        }
    )
    ephemeral = EngineEvent.from_json(
        {
            "sequence": 3,
            "timestamp": 0,
            "diagnosticEvent": {
                "message": "waiting",
                "color": "never",
                "severity": "info",
                "ephemeral": True,
            },
        }
    )
    finding = translate(policy)
    assert isinstance(finding, PolicyFinding) and finding.mandatory
    assert finding.urn == fx.STORAGE_CLASS
    assert translate(summary) == Summary({"same": 9, "update": 1})
    assert translate(ephemeral) is None


def test_drift_and_planned_changes_are_separate_when_collecting_an_update() -> None:
    collector = EventCollector("update")
    collector(StepEvent("done", fx.DB_CLUSTER, "Cluster", "refresh", ("spec.instances",)))
    collector(StepEvent("done", fx.STORAGE_CLASS, "StorageClass", "refresh"))
    collector(StepEvent("started", fx.DB_CLUSTER, "Cluster", "update", ("spec.instances",)))
    collector(StepEvent("started", fx.FIRST_USER, "CoderFirstUser", "create"))
    collector(StepEvent("done", fx.FIRST_USER, "CoderFirstUser", "create"))
    collector(StepEvent("started", fx.STACK_URN, "Stack", "same"))
    collector(Diagnostic("error", "boom", fx.DB_CLUSTER))

    assert [d.urn for d in collector.drifted] == [fx.DB_CLUSTER]
    assert [c.urn for c in collector.changes(applied=False)] == [fx.DB_CLUSTER, fx.FIRST_USER]
    assert [c.urn for c in collector.changes(applied=True)] == [fx.FIRST_USER]
    assert collector.counts(applied=False) == {"update": 1, "create": 1}
    assert len(collector.errors) == 1


SCHEDULED_BACKUP = (
    "urn:pulumi:dev::coder-platform::coder-platform:backup:CnpgBackups"
    "$kubernetes:postgresql.cnpg.io/v1:ScheduledBackup::coder-db-scheduled-backup"
)
CRON_JOB = (
    "urn:pulumi:dev::coder-platform::coder-platform:reconciler:ReconcilerSchedule"
    "$kubernetes:batch/v1:CronJob::reconciler-cron-job"
)


@pytest.mark.parametrize("operation", ["refresh", "update"])
def test_a_deleted_resource_stays_drifted_as_deleted_when_the_preview_plans_its_create(
    operation: Operation,
) -> None:
    collector = EventCollector(operation)
    backup_type = "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup"
    collector(StepEvent("started", SCHEDULED_BACKUP, backup_type, "refresh"))
    collector(StepEvent("done", SCHEDULED_BACKUP, backup_type, "refresh", gone=True))
    collector(StepEvent("started", SCHEDULED_BACKUP, backup_type, "create"))
    collector(StepEvent("done", SCHEDULED_BACKUP, backup_type, "create"))
    collector(Summary({"create": 1, "same": 19}))

    assert collector.drifted == [DriftedResource(SCHEDULED_BACKUP, backup_type, (), deleted=True)]
    assert collector.pending == []  # re-creating what the world deleted is not a config change
    assert [(c.urn, c.op) for c in collector.changes(applied=False)] == [
        (SCHEDULED_BACKUP, "create")
    ]


@pytest.mark.parametrize("operation", ["refresh", "update"])
def test_a_config_only_change_is_pending_not_drift_when_nothing_changed_in_the_cluster(
    operation: Operation,
) -> None:
    collector = EventCollector(operation)
    provider = "urn:pulumi:dev::coder-platform::pulumi:providers:pulumi-python::default"
    schedule = ('metadata.annotations["coder-platform.io/reconcile-interval-seconds"]',)
    collector(StepEvent("done", CRON_JOB, "kubernetes:batch/v1:CronJob", "refresh"))
    collector(StepEvent("started", provider, "pulumi:providers:pulumi-python", "update"))
    collector(StepEvent("done", provider, "pulumi:providers:pulumi-python", "update"))
    for stage in ("started", "done"):
        collector(
            StepEvent(
                stage,
                CRON_JOB,
                "kubernetes:batch/v1:CronJob",
                "update",
                (*schedule, "spec.schedule"),
            )
        )
    collector(Summary({"update": 1, "same": 19}))

    assert collector.drifted == []
    assert [(c.urn, c.properties) for c in collector.pending] == [
        (CRON_JOB, (*schedule, "spec.schedule"))
    ]  # the dynamic provider's own update is not a resource change (the engine counts none)


def test_only_the_properties_the_world_did_not_change_are_pending_when_both_happened() -> None:
    collector = EventCollector("update")
    cron = "kubernetes:batch/v1:CronJob"
    collector(StepEvent("done", CRON_JOB, cron, "refresh", ("spec.concurrencyPolicy",)))
    collector(
        StepEvent("started", CRON_JOB, cron, "update", ("spec.concurrencyPolicy", "spec.schedule"))
    )

    assert [d.properties for d in collector.drifted] == [("spec.concurrencyPolicy",)]
    assert [c.properties for c in collector.pending] == [("spec.schedule",)]


def test_a_terminating_object_is_drift_and_listed_when_its_refresh_shows_a_deletion_timestamp() -> (
    None
):
    collector = EventCollector("update")
    backup_type = "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup"
    collector(StepEvent("done", SCHEDULED_BACKUP, backup_type, "refresh", terminating=True))
    collector(StepEvent("done", SCHEDULED_BACKUP, backup_type, "same", terminating=True))
    collector(StepEvent("done", fx.STORAGE_CLASS, "StorageClass", "same"))

    assert [(t.urn, t.type) for t in collector.terminating] == [(SCHEDULED_BACKUP, backup_type)]
    assert [(d.urn, d.properties) for d in collector.drifted] == [
        (SCHEDULED_BACKUP, ("metadata.deletionTimestamp",))
    ]
    assert collector.changes(applied=False) == []


def test_terminating_is_cleared_when_a_later_step_replaces_the_object() -> None:
    collector = EventCollector("update")
    collector(StepEvent("done", fx.STORAGE_CLASS, "StorageClass", "refresh", terminating=True))
    collector(StepEvent("done", fx.STORAGE_CLASS, "StorageClass", "create-replacement"))
    assert collector.terminating == []


def test_step_is_terminating_when_its_new_outputs_carry_a_deletion_timestamp() -> None:
    state = {"type": "x", "urn": SCHEDULED_BACKUP, "id": "i", "parent": "", "provider": ""}
    metadata = {"name": "coder-db-base-backup", "deletionTimestamp": "2026-01-21T02:05:00Z"}
    event = EngineEvent.from_json(
        step_json(
            "resOutputsEvent",
            "same",
            SCHEDULED_BACKUP,
            "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup",
            old={**state, "outputs": {"metadata": {"name": "coder-db-base-backup"}}},
            new={**state, "outputs": {"metadata": metadata}},
        )
    )
    translated = translate(event)
    assert isinstance(translated, StepEvent) and translated.terminating
    live = EngineEvent.from_json(
        step_json(
            "resOutputsEvent",
            "same",
            SCHEDULED_BACKUP,
            "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup",
            new={**state, "outputs": {"metadata": {"name": "coder-db-base-backup"}}},
        )
    )
    assert isinstance(translate(live), StepEvent) and not translate(live).terminating  # type: ignore[union-attr]


def test_failed_resources_carry_their_engine_messages_when_an_update_fails() -> None:
    collector = EventCollector("update")
    cron = "kubernetes:batch/v1:CronJob"
    reason = (
        f'resource "{CRON_JOB}" was not successfully created by the Kubernetes API server: '
        'cronjobs.batch "coder-reconciler-local" is forbidden: denied request'
    )
    collector(StepEvent("started", CRON_JOB, cron, "create"))
    collector(Diagnostic("warning", "using pulumi-resource-kubernetes from $PATH at /x"))
    collector(Diagnostic("error", reason, CRON_JOB))
    collector(StepEvent("failed", CRON_JOB, cron, "create"))
    collector(Diagnostic("error", "update failed"))

    assert collector.failures == [FailedResource(CRON_JOB, cron, "create", (reason,))]
    assert [(d.severity, d.urn) for d in collector.diagnostics] == [
        ("warning", None),
        ("error", CRON_JOB),
        ("error", None),
    ]
