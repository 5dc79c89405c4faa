"""CnpgOperators: the CNPG operator and the Barman Cloud plugin from pinned Helm charts.

Installed by an operators-scope stack (``coder-platform:scope: operators``, e.g.
``dev-operators``) that an admin runs; an app stack with an in-cluster reconciler never installs
them (``operators.install: false``), so the reconciler holds no write right in their namespace,
where the operator's service account is cluster-wide. The component and its children keep the
names they had in the app stacks, so ``pulumi state move`` carries them over (docs/runbook.md).
The plugin must live in the operator's namespace and needs cert-manager in the cluster.

The namespace is the program's own object, not Helm's ``createNamespace`` side effect, so it
carries Pod Security labels like every other namespace the stack creates (``baseline``
enforced, ``restricted`` audited and warned: the charts' pods run non-root with the runtime's
seccomp profile). The release keeps ``create_namespace=True``: Helm creates a namespace only
when it is missing, so it changes nothing once this one exists, and an unchanged release input
never upgrades a running operator.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from coder_platform.contracts import PART_OF, ComponentType
from coder_platform.specs.pod_security import pod_security

# The charts in the CloudNativePG chart repository.
CNPG_CHART = "cloudnative-pg"
BARMAN_CLOUD_CHART = "plugin-barman-cloud"


@dataclass(frozen=True)
class CnpgOperatorsArgs:
    namespace: str
    chart_repository: str
    cnpg_chart_version: str
    barman_plugin_chart_version: str


class CnpgOperators(pulumi.ComponentResource):
    """Pinned releases (contract C2: a re-run installs exactly the same operator)."""

    namespace: k8s.core.v1.Namespace
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
        # Never deleted with the stack: deleting it would delete the operators of every cluster.
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace, labels={**PART_OF, **pod_security("baseline")}
            ),
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.operator = k8s.helm.v3.Release(
            f"{name}-cnpg",
            name="cnpg",
            chart=CNPG_CHART,
            version=args.cnpg_chart_version,
            repository_opts=repo,
            namespace=args.namespace,
            create_namespace=True,
            atomic=True,
            values={"crds": {"create": True}, "config": {"clusterWide": True}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
        )
        self.barman_plugin = k8s.helm.v3.Release(
            f"{name}-barman-cloud",
            name="barman-cloud",
            chart=BARMAN_CLOUD_CHART,
            version=args.barman_plugin_chart_version,
            repository_opts=repo,
            namespace=args.namespace,
            atomic=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.operator]),
        )
        self.register_outputs({})
