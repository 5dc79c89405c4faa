"""CnpgOperators: the CNPG operator and the Barman Cloud plugin from pinned Helm charts.

Optional per stack: where the platform team already runs them, ``operators.install: false``.
The plugin must live in the operator's namespace and needs cert-manager in the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from coder_platform.contracts import ComponentType


@dataclass(frozen=True)
class CnpgOperatorsArgs:
    namespace: str
    chart_repository: str
    cnpg_chart_version: str
    barman_plugin_chart_version: str


class CnpgOperators(pulumi.ComponentResource):
    """Pinned releases (contract C2: a re-run installs exactly the same operator)."""

    operator: k8s.helm.v3.Release
    barman_plugin: k8s.helm.v3.Release

    def __init__(
        self,
        name: str,
        args: CnpgOperatorsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(ComponentType.OPERATORS, name, None, opts)
        repo = k8s.helm.v3.RepositoryOptsArgs(repo=args.chart_repository)
        self.operator = k8s.helm.v3.Release(
            f"{name}-cnpg",
            name="cnpg",
            chart="cloudnative-pg",
            version=args.cnpg_chart_version,
            repository_opts=repo,
            namespace=args.namespace,
            create_namespace=True,
            atomic=True,
            values={"crds": {"create": True}, "config": {"clusterWide": True}},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.barman_plugin = k8s.helm.v3.Release(
            f"{name}-barman-cloud",
            name="barman-cloud",
            chart="plugin-barman-cloud",
            version=args.barman_plugin_chart_version,
            repository_opts=repo,
            namespace=args.namespace,
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.operator]),
        )
        self.register_outputs({})
