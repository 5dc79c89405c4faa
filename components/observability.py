"""PlatformObservability: the alerts, the database scrape and the dashboard for one stack (C4).

The incident was found by people who could not log in. This component makes Prometheus and
Grafana say it first:

- a ``PrometheusRule`` (``monitoring.coreos.com/v1``) with the groups
  ``coder_platform.observability.alerts`` renders from stack config; ``ruleLabels`` are the
  labels the Prometheus operator's ``ruleSelector`` matches (kube-prometheus-stack:
  ``release: <its release name>``);
- a ``PodMonitor`` for the CNPG instances' exporter (port ``metrics``), because the Cluster's
  own ``monitoring.enablePodMonitor`` is deprecated since CNPG 1.26.3; the alerts read the
  ``namespace`` and ``pod`` labels it gives every series;
- a ConfigMap holding the Grafana dashboard (``coder_platform.observability.dashboard``) with
  the label the Grafana sidecar watches (``grafana_dashboard: "1"``) and its ``grafana_folder``
  annotation. The sidecar must search this namespace (kube-prometheus-stack:
  ``grafana.sidecar.dashboards.searchNamespace``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from coder_platform.contracts import DNS_LABEL, STACK_KEY, ComponentType, labels

DASHBOARD_LABEL = "grafana_dashboard"
FOLDER_ANNOTATION = "grafana_folder"
LABELS = labels()


@dataclass(frozen=True)
class PlatformObservabilityArgs:
    stack: str
    namespace: str
    cluster_name: str
    rule_groups: Sequence[Mapping[str, Any]]
    dashboard: Mapping[str, Any]
    rule_labels: Mapping[str, str] = field(default_factory=dict)
    dashboard_folder: str = "Coder Platform"
    pod_monitor: bool = True

    def __post_init__(self) -> None:
        problems = [
            f"{label} {value!r} is not a DNS label"
            for label, value in (("namespace", self.namespace), ("cluster_name", self.cluster_name))
            if not re.fullmatch(DNS_LABEL, value)
        ]
        if not any(group.get("rules") for group in self.rule_groups):
            problems.append("rule_groups holds no rule")
        if not self.dashboard.get("panels"):
            problems.append("the dashboard has no panels")
        if problems:
            raise ValueError("invalid PlatformObservabilityArgs: " + "; ".join(problems))


class PlatformObservability(pulumi.ComponentResource):
    """The PrometheusRule, the PodMonitor and the dashboard ConfigMap of one stack."""

    prometheus_rule: k8s.apiextensions.CustomResource
    pod_monitor: k8s.apiextensions.CustomResource | None
    dashboard: k8s.core.v1.ConfigMap
    rule_name: str

    def __init__(
        self,
        name: str,
        args: PlatformObservabilityArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(ComponentType.OBSERVABILITY, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {**LABELS, STACK_KEY: args.stack}
        selected = {**labels, **args.rule_labels}
        self.rule_name = f"coder-platform-{args.stack.lower()}"[:63].rstrip("-.")
        self.prometheus_rule = k8s.apiextensions.CustomResource(
            f"{name}-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=self.rule_name, namespace=args.namespace, labels=selected
            ),
            spec={"groups": [dict(group) for group in args.rule_groups]},
            opts=child,
        )
        self.pod_monitor = (
            k8s.apiextensions.CustomResource(
                f"{name}-pod-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="PodMonitor",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=args.cluster_name, namespace=args.namespace, labels=selected
                ),
                spec={
                    "selector": {
                        "matchLabels": {
                            "cnpg.io/cluster": args.cluster_name,
                            "cnpg.io/podRole": "instance",
                        }
                    },
                    "podMetricsEndpoints": [{"port": "metrics"}],
                },
                opts=child,
            )
            if args.pod_monitor
            else None
        )
        self.dashboard = k8s.core.v1.ConfigMap(
            f"{name}-dashboard",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"{self.rule_name}-dashboard",
                namespace=args.namespace,
                labels={**labels, DASHBOARD_LABEL: "1"},
                annotations={FOLDER_ANNOTATION: args.dashboard_folder},
            ),
            data={f"{self.rule_name}.json": json.dumps(args.dashboard, sort_keys=True)},
            opts=child,
        )
        self.register_outputs({"rule_name": self.rule_name})
