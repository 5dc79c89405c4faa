"""CnpgPostgres: plugin archiving through workload identity, backups, and recovery mode."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pulumi

from components.database import CnpgPostgres, CnpgPostgresArgs, RecoverySource
from policy.lib import postgres_uri
from testbed.harness import (
    FAKE_PASSWORD,
    CapturedOptions,
    RecordingMocks,
    is_secret,
    reveal,
    run_component,
)

ARGS = CnpgPostgresArgs(
    namespace="coder-db",
    cluster_name="coder-db",
    database="coder",
    owner="coder",
    instances=3,
    storage_size="64Gi",
    storage_class_name="coder-premium-lrs-retain",
    image="ghcr.io/cloudnative-pg/postgresql:17.5",
    generation=1,
    destination_path="https://stcoder.blob.core.windows.net/cnpg-backups",
    retention_days=30,
    backup_schedule="0 0 2 * * 0",
    backup_immediate=True,
    wal_compression="gzip",
    resources={"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
    workload_identity_client_id="0b7e4d2a-9f1c-4e6b-8a3d-5c2f1e9d7b60",
)


def build(
    args: CnpgPostgresArgs = ARGS, *, protect: bool = True
) -> tuple[RecordingMocks, CapturedOptions]:
    capture = CapturedOptions()
    mocks = run_component(
        lambda: CnpgPostgres(
            "db", args, opts=pulumi.ResourceOptions(transformations=[capture], protect=protect)
        )
    )
    return mocks, capture


def spec(mocks: RecordingMocks, kind: str) -> dict[str, Any]:
    return dict(mocks.custom_resource(kind).inputs["spec"])


def test_cluster_runs_on_the_retain_class_with_the_plugin_as_wal_archiver() -> None:
    mocks, _ = build()
    cluster = spec(mocks, "Cluster")
    assert cluster["storage"] == {"size": "64Gi", "storageClass": "coder-premium-lrs-retain"}
    assert cluster["instances"] == 3
    [plugin] = cluster["plugins"]
    assert plugin["name"] == "barman-cloud.cloudnative-pg.io"
    assert plugin["isWALArchiver"] is True
    assert plugin["parameters"] == {
        "barmanObjectName": "coder-db-backups",
        "serverName": "coder-db-g1",
    }
    assert "backup" not in cluster  # never the deprecated in-tree barmanObjectStore


def test_workload_identity_reaches_service_account_and_pods() -> None:
    mocks, _ = build()
    cluster = spec(mocks, "Cluster")
    assert cluster["inheritedMetadata"]["labels"] == {"azure.workload.identity/use": "true"}
    annotations = cluster["serviceAccountTemplate"]["metadata"]["annotations"]
    assert annotations == {"azure.workload.identity/client-id": ARGS.workload_identity_client_id}


def test_no_identity_means_no_workload_identity_wiring() -> None:
    mocks, _ = build(replace(ARGS, workload_identity_client_id=None))
    cluster = spec(mocks, "Cluster")
    assert "inheritedMetadata" not in cluster
    assert "serviceAccountTemplate" not in cluster


def test_object_store_points_at_blob_via_azure_ad_with_retention() -> None:
    mocks, _ = build()
    store = spec(mocks, "ObjectStore")
    config = store["configuration"]
    assert config["destinationPath"] == ARGS.destination_path
    assert config["azureCredentials"] == {"inheritFromAzureAD": True}
    assert "serverName" not in config  # forbidden on ObjectStore; set per cluster generation
    assert store["retentionPolicy"] == "30d"


def test_scheduled_backup_uses_the_plugin_method_and_six_field_cron() -> None:
    mocks, _ = build()
    backup = spec(mocks, "ScheduledBackup")
    assert backup["method"] == "plugin"
    assert backup["pluginConfiguration"] == {"name": "barman-cloud.cloudnative-pg.io"}
    assert backup["cluster"] == {"name": "coder-db"}
    assert len(backup["schedule"].split()) == 6
    assert backup["immediate"] is True


def test_initdb_bootstraps_coder_owned_by_coder_with_a_pulumi_owned_secret() -> None:
    mocks, _ = build()
    bootstrap = spec(mocks, "Cluster")["bootstrap"]
    assert bootstrap == {
        "initdb": {"database": "coder", "owner": "coder", "secret": {"name": "coder-db-app"}}
    }
    assert "externalClusters" not in spec(mocks, "Cluster")


def test_app_secret_has_cnpg_keys_and_a_secret_uri() -> None:
    mocks, _ = build()
    secret = mocks.one("kubernetes:core/v1:Secret").inputs
    assert secret["metadata"]["name"] == "coder-db-app"
    assert secret["type"] == "kubernetes.io/basic-auth"
    data = secret["stringData"]
    # The whole map is a Pulumi secret: the engine encrypts it in state.
    assert is_secret(data)
    values = reveal(data)
    assert values["username"] == "coder"
    assert values["uri"] == (
        f"postgresql://coder:{FAKE_PASSWORD}@coder-db-rw.coder-db.svc:5432/coder"
        "?sslmode=verify-full&sslrootcert=/etc/coder-platform/db-ca/ca.crt"
    )


def test_uri_verifies_the_server_by_a_name_cnpg_puts_in_its_certificate() -> None:
    """CNPG v1.30 ``GetClusterAltDNSNames``: <cluster>-rw, .<ns>, .<ns>.svc, .<ns>.svc.<domain>."""
    mocks, _ = build()
    uri = urlsplit(reveal(mocks.one("kubernetes:core/v1:Secret").inputs["stringData"])["uri"])
    cluster, namespace = ARGS.cluster_name, ARGS.namespace
    assert uri.hostname in {
        f"{cluster}-rw",
        f"{cluster}-rw.{namespace}",
        f"{cluster}-rw.{namespace}.svc",
        f"{cluster}-rw.{namespace}.svc.cluster.local",
    }
    query = parse_qs(uri.query)
    assert query["sslmode"] == ["verify-full"]
    assert query["sslrootcert"] == ["/etc/coder-platform/db-ca/ca.crt"]
    assert postgres_uri.tls_problem(uri.geturl()) is None  # the pack's check


def test_server_ca_is_read_from_cnpg_secret_and_waited_for_when_published() -> None:
    mocks, _ = build(replace(ARGS, publish_server_ca=True))
    assert mocks.reads == [("kubernetes:core/v1:Secret", "coder-db/coder-db-ca")]
    annotations = mocks.custom_resource("Cluster").inputs["metadata"]["annotations"]
    assert annotations == {
        "pulumi.com/waitFor": "jsonpath={.status.certificates.serverCASecret}=coder-db-ca",
        "pulumi.com/timeoutSeconds": "300",
    }


def test_server_ca_is_neither_read_nor_waited_for_when_no_client_needs_a_copy() -> None:
    mocks, _ = build()
    assert mocks.reads == []
    assert "annotations" not in mocks.custom_resource("Cluster").inputs["metadata"]


def test_recovery_mode_restores_previous_generation_and_archives_to_a_new_one() -> None:
    args = replace(ARGS, generation=2, recovery=RecoverySource(generation=1, target_time=None))
    mocks, _ = build(args)
    cluster = spec(mocks, "Cluster")
    assert "initdb" not in cluster["bootstrap"]
    recovery = cluster["bootstrap"]["recovery"]
    assert recovery["source"] == "coder-db-g1"
    assert recovery["secret"] == {"name": "coder-db-app"}
    [external] = cluster["externalClusters"]
    assert external["name"] == "coder-db-g1"
    assert external["plugin"]["parameters"] == {
        "barmanObjectName": "coder-db-backups",
        "serverName": "coder-db-g1",
    }
    assert cluster["plugins"][0]["parameters"]["serverName"] == "coder-db-g2"


def test_recovery_to_a_point_in_time_sets_the_target() -> None:
    target = "2026-11-20T10:00:00Z"
    args = replace(ARGS, generation=3, recovery=RecoverySource(generation=2, target_time=target))
    mocks, _ = build(args)
    recovery = spec(mocks, "Cluster")["bootstrap"]["recovery"]
    assert recovery["recoveryTarget"] == {"targetTime": target}


def test_cluster_is_protected_and_ignores_bootstrap_after_creation() -> None:
    _, capture = build()
    opts = capture.opts("db-cluster")
    assert opts.protect is True
    assert opts.ignore_changes is not None and "spec.bootstrap" in opts.ignore_changes


def test_ephemeral_cluster_is_not_protected() -> None:
    _, capture = build(protect=False)
    assert not capture.opts("db-cluster").protect


def test_only_the_cluster_is_protected_when_the_component_is() -> None:
    _, capture = build()
    assert capture.opts("db-cluster").protect is True
    for child in ("db-ns", "db-app-password", "db-app-secret", "db-object-store"):
        assert capture.opts(child).protect is False, child
    assert capture.opts("db-ns").retain_on_delete is True
