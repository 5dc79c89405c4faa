"""Engine events to report facts: drift, changes, policy (reference/pulumi.md §1, §5)."""

from __future__ import annotations

from typing import Any

from pulumi.automation import EngineEvent

from automation.reporting.collector import EventCollector
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


def test_every_changed_step_is_drift_when_collecting_a_refresh() -> None:
    collector = EventCollector("refresh")
    collector(StepEvent("done", fx.DB_CLUSTER, "Cluster", "update", ("spec.instances",)))
    collector(StepEvent("done", fx.CODER_RELEASE, "Release", "delete"))
    collector(Summary({"same": 10, "update": 1, "delete": 1}))
    assert {(d.urn, d.deleted) for d in collector.drifted} == {
        (fx.DB_CLUSTER, False),
        (fx.CODER_RELEASE, True),
    }
    assert collector.counts(applied=False) == {"update": 1, "delete": 1}
