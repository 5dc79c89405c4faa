"""CnpgOperators under mocks: the operators' namespace is the program's, labelled for Pod
Security, kept when the stack goes, and in place before either chart installs."""

from __future__ import annotations

import pulumi

from components.operators import CnpgOperators, CnpgOperatorsArgs
from testbed.harness import CapturedOptions, run_component

ARGS = CnpgOperatorsArgs(
    namespace="cnpg-system",
    chart_repository="https://cloudnative-pg.github.io/charts",
    cnpg_chart_version="0.29.0",
    barman_plugin_chart_version="0.7.0",
)


def test_operator_namespace_enforces_baseline_and_outlives_the_stack_when_created() -> None:
    capture = CapturedOptions()
    mocks = run_component(
        lambda: CnpgOperators(
            "operators", ARGS, opts=pulumi.ResourceOptions(transformations=[capture])
        )
    )
    namespace = mocks.one("kubernetes:core/v1:Namespace").inputs["metadata"]
    assert namespace["name"] == "cnpg-system"
    assert namespace["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert namespace["labels"]["pod-security.kubernetes.io/warn"] == "restricted"
    assert capture.opts("operators-namespace").retain_on_delete is True
    operator_deps = list(capture.opts("operators-cnpg").depends_on or [])  # type: ignore[arg-type]
    assert [type(d).__name__ for d in operator_deps] == ["Namespace"]
    releases = {r.inputs["chart"]: r.inputs for r in mocks.of_type("kubernetes:helm.sh/v3:Release")}
    assert {r["namespace"] for r in releases.values()} == {"cnpg-system"}
