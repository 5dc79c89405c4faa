"""The drill's scratch Cluster, exactly as the drill creates it, passes the pack's
cnpg-recovery-archive-isolation rule, and the rule denies it once it archives into its source:
the drill's own guard and the policy describe the same boundary."""

from __future__ import annotations

import copy

from automation.drill.manifests import scratch_cluster
from testbed.policy_engine import Resource, policy_named, run_policy
from tests.automation.drill.doubles import settings

RULE = policy_named("cnpg-recovery-archive-isolation")
STORE = Resource(
    "kubernetes:barmancloud.cnpg.io/v1:ObjectStore",
    "restore-drill-object-store",
    {
        "metadata": {"name": "coder-db-drill-source", "namespace": "coder-db-drill"},
        "spec": {"configuration": {"destinationPath": "https://st.blob.core.windows.net/c"}},
    },
)


def cluster(manifest: dict[str, object]) -> Resource:
    return Resource("kubernetes:postgresql.cnpg.io/v1:Cluster", "coder-db-drill", manifest)


def test_policy_allows_the_scratch_cluster_when_it_is_the_drills_own() -> None:
    assert run_policy(RULE, [STORE, cluster(scratch_cluster(settings()))]) == []


def test_policy_denies_the_scratch_cluster_when_it_archives_into_its_source() -> None:
    manifest = copy.deepcopy(scratch_cluster(settings()))
    manifest["spec"]["plugins"] = [
        {
            "name": "barman-cloud.cloudnative-pg.io",
            "isWALArchiver": True,
            "parameters": {
                "barmanObjectName": "coder-db-drill-source",
                "serverName": "coder-db-g2",
            },
        }
    ]
    [violation] = run_policy(RULE, [STORE, cluster(manifest)])
    assert "would write into the backups it restores from" in violation.message
