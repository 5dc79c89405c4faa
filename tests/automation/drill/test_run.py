"""The drill's own logic against doubles: wait, query, measure, and clean up also on failure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from automation.drill.coder_tables import DbTarget, psycopg_tables
from automation.drill.kube import DrillError, cluster_path, secret_path
from automation.drill.run import RestoreDrillResult, run_restore_drill
from coder_platform.drill_settings import CLEANUP_SECONDS
from tests.automation.drill.doubles import (
    FAKE_CA,
    SCRATCH_PASSWORD,
    STARTED,
    FakeClock,
    FakeConnect,
    FakeKube,
    coder_database,
    settings,
    sidecar_pod,
    wall_clock,
)

CLUSTER = cluster_path("coder-db-drill", "coder-db-drill")
SECRET = secret_path("coder-db-drill", "coder-db-drill-app")


def drill(
    kube: FakeKube, connect: FakeConnect | None = None, **overrides: object
) -> tuple[RestoreDrillResult, FakeClock]:
    clock = FakeClock()
    result = run_restore_drill(
        settings(**overrides),
        kube,
        connect or FakeConnect(coder_database()),
        clock=clock,
        now=wall_clock(clock),
        password=lambda: SCRATCH_PASSWORD,
    )
    return result, clock


def step(result: RestoreDrillResult, name: str) -> tuple[bool, str]:
    [found] = [s for s in result.steps if s.name == name]
    return found.ok, found.detail


def test_drill_restores_measures_and_cleans_up_when_the_archive_is_good() -> None:
    kube = FakeKube(polls_until_ready=3)
    connect = FakeConnect(coder_database())
    result, clock = drill(kube, connect)
    assert result.success, result.steps
    assert [s.name for s in result.steps] == [
        "clean",
        "identity",
        "restore",
        "ready",
        "query",
        "cleanup",
    ]
    assert result.users == 1 and result.templates == 2  # deleted and system users left out
    assert result.rpo_seconds == 90.0  # drill start minus users.updated_at, the newest row
    assert result.newest_source == "users.updated_at"
    assert result.rto_seconds == 20.0  # two 10-second polls until Ready, then the query
    assert result.identity_ok is True and result.cleanup_ok is True
    assert kube.clusters() == [] and SECRET not in kube.objects
    [target] = connect.targets
    assert (target.host, target.user, target.database) == (
        "coder-db-drill-rw.coder-db-drill.svc",
        "coder",
        "coder",
    )
    assert SCRATCH_PASSWORD not in repr(target)
    assert target.ca_cert == FAKE_CA  # the cluster's own CA, to verify the server
    assert clock.slept < 100


def test_scratch_cluster_recovers_from_the_current_generation_without_archiving() -> None:
    kube = FakeKube(polls_until_ready=None)
    created: list[Mapping[str, Any]] = []
    original = kube.create

    def keep(path: str, body: Mapping[str, Any]) -> None:
        created.append(body)
        original(path, body)

    kube.create = keep  # type: ignore[method-assign]
    drill(kube, deadline_seconds=60)
    [secret, cluster] = created
    assert secret["type"] == "kubernetes.io/basic-auth"
    spec = cluster["spec"]
    assert isinstance(spec, dict)
    assert "plugins" not in spec and "backup" not in spec
    assert spec["bootstrap"]["recovery"]["source"] == "coder-db-g2"
    assert spec["bootstrap"]["recovery"]["secret"] == {"name": "coder-db-drill-app"}
    [source] = spec["externalClusters"]
    assert source["plugin"]["parameters"] == {
        "barmanObjectName": "coder-db-drill-source",
        "serverName": "coder-db-g2",
    }
    annotations = spec["serviceAccountTemplate"]["metadata"]["annotations"]
    assert annotations["azure.workload.identity/client-id"] == settings().identity_client_id
    assert spec["inheritedMetadata"]["labels"] == {"azure.workload.identity/use": "true"}


def test_drill_fails_and_still_deletes_the_cluster_when_it_is_never_ready() -> None:
    kube = FakeKube(polls_until_ready=None)
    connect = FakeConnect(coder_database())
    result, clock = drill(kube, connect, deadline_seconds=300)
    assert not result.success
    ok, detail = step(result, "ready")
    assert not ok
    assert "not Ready within 300s" in detail and "Setting up primary" in detail
    assert "coder-db-drill-1-full-recovery" in detail
    assert connect.targets == []  # never queried
    assert step(result, "cleanup")[0] and result.cleanup_ok
    assert kube.clusters() == [] and SECRET not in kube.objects
    assert 300 <= clock.slept < 300 + 60


def test_drill_fails_when_the_restored_database_has_no_templates() -> None:
    database = coder_database()
    database.tables["templates"] = []
    result, _ = drill(FakeKube(), FakeConnect(database))
    ok, detail = step(result, "query")
    assert not ok and "0 templates, fewer than 1" in detail
    assert not result.success and result.cleanup_ok
    assert result.rto_seconds is not None  # it did restore; the content is what failed


def test_drill_fails_when_coder_tables_are_missing() -> None:
    database = coder_database()
    del database.tables["users"]
    result, _ = drill(FakeKube(), FakeConnect(database), min_templates=0)
    ok, detail = step(result, "query")
    assert not ok and "Coder tables missing: users" in detail


def test_drill_retries_the_connection_when_the_service_lags_the_ready_status() -> None:
    connect = FakeConnect(coder_database(), failures=2)
    result, _ = drill(FakeKube(polls_until_ready=1), connect)
    assert result.success
    assert len(connect.targets) == 3
    assert result.rto_seconds == 20.0  # two 10-second retries


def test_drill_removes_a_leftover_cluster_first_when_a_killed_run_left_one() -> None:
    kube = FakeKube()
    kube.objects[CLUSTER] = {"kind": "Cluster", "metadata": {"name": "coder-db-drill"}}
    kube.objects[SECRET] = {"kind": "Secret", "metadata": {"name": "coder-db-drill-app"}}
    result, _ = drill(kube)
    assert result.success
    assert step(result, "clean") == (True, "removed a leftover scratch cluster")
    assert kube.calls.index(f"DELETE {CLUSTER}") < kube.calls.index(
        "POST /apis/postgresql.cnpg.io/v1/namespaces/coder-db-drill/clusters"
    )


def test_drill_reports_a_failed_cleanup_when_the_cluster_does_not_go_away() -> None:
    kube = FakeKube(polls_until_gone=10**6)
    result, _ = drill(kube)
    assert not result.success and not result.cleanup_ok
    ok, detail = step(result, "clean")
    assert ok  # nothing was there yet
    ok, detail = step(result, "cleanup")
    assert not ok
    assert f"still there {int(CLEANUP_SECONDS)}s after its delete" in detail
    assert "kubectl delete cluster -n coder-db-drill coder-db-drill" in detail


def test_identity_failure_is_recorded_and_the_restore_still_runs_when_the_token_is_missing() -> (
    None
):
    kube = FakeKube(pods=[sidecar_pod("coder-db-1"), sidecar_pod("coder-db-2", token_file=False)])
    result, _ = drill(kube)
    ok, detail = step(result, "identity")
    assert not ok and "coder-db-2" in detail and "AZURE_FEDERATED_TOKEN_FILE" in detail
    assert result.identity_ok is False
    assert step(result, "query")[0] and result.rpo_seconds == 90.0
    assert not result.success


def test_identity_is_not_checked_when_the_stack_has_no_workload_identity() -> None:
    result, _ = drill(FakeKube(pods=[]), check_workload_identity=False, identity_client_id=None)
    assert result.success and result.identity_ok is None
    assert "identity" not in [s.name for s in result.steps]


def test_drill_cleans_up_and_fails_when_the_api_forbids_creating_the_cluster() -> None:
    kube = FakeKube(forbidden={"POST"})
    result, _ = drill(kube)
    ok, detail = step(result, "restore")
    assert not ok and "403" in detail and "redeploy the stack" in detail
    assert result.cleanup_ok and not result.success


def test_scratch_password_never_reaches_the_result_when_an_error_echoes_it() -> None:
    class Leaky(FakeConnect):
        def __call__(self, target):  # type: ignore[no-untyped-def]
            from automation.drill.kube import DrillError

            raise DrillError(f"auth failed for password={target.password} user {target.user}")

    result, _ = drill(FakeKube(polls_until_ready=1), Leaky(coder_database()), deadline_seconds=60)
    text = json.dumps([s.__dict__ for s in result.steps])
    assert SCRATCH_PASSWORD not in text
    assert "[redacted]" in text


def test_rpo_is_never_negative_when_a_row_is_newer_than_the_drill_start() -> None:
    database = coder_database(newest=STARTED + timedelta(seconds=30))
    result, _ = drill(FakeKube(), FakeConnect(database))
    assert result.rpo_seconds == 0.0


@pytest.mark.parametrize("users", [0, 1])
def test_min_users_zero_accepts_an_empty_user_table_when_configured(users: int) -> None:
    database = coder_database()
    database.tables["users"] = database.tables["users"][:users]
    result, _ = drill(FakeKube(), FakeConnect(database), min_users=0)
    assert result.success


def test_drill_fails_naming_the_secret_when_the_clusters_ca_is_missing() -> None:
    kube = FakeKube(polls_until_ready=1)
    connect = FakeConnect(coder_database())
    original = kube.create

    def without_ca(path: str, body: Mapping[str, Any]) -> None:
        original(path, body)
        kube.objects.pop(secret_path("coder-db-drill", "coder-db-drill-ca"), None)

    kube.create = without_ca  # type: ignore[method-assign]

    result, _ = drill(kube, connect)

    ok, detail = step(result, "query")
    assert not ok
    assert "coder-db-drill/coder-db-drill-ca has no ca.crt" in detail
    assert connect.targets == []  # never connected without a way to verify the server
    assert kube.clusters() == []


def test_the_connection_verifies_the_server_against_the_clusters_ca(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def connect(**kwargs: Any) -> Any:
        seen.update(kwargs, ca=Path(kwargs["sslrootcert"]).read_text())
        raise psycopg.OperationalError("stop here")

    monkeypatch.setattr(psycopg, "connect", connect)
    target = DbTarget("db-rw.ns.svc", 5432, "coder", "coder", "pw", ca_cert=FAKE_CA)

    with pytest.raises(DrillError), psycopg_tables(target):
        pass

    assert seen["sslmode"] == "verify-full"
    assert seen["ca"] == FAKE_CA
