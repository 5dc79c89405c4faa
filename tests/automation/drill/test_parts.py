"""The drill's parts: settings from the pod, the never-archive guard, the sidecar check, the
table reads (SQL included), the in-cluster API client, metrics and the command's exit codes."""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from automation.drill import __main__ as command
from automation.drill import metrics
from automation.drill.coder_tables import PsycopgTables, read_snapshot
from automation.drill.identity import sidecar_identity
from automation.drill.kube import DrillError, InClusterKubeApi, KubeApiError
from automation.drill.manifests import UnsafeDrillSpecError, assert_never_archives, scratch_cluster
from automation.drill.run import DrillStep, RestoreDrillResult
from coder_platform.drill_settings import DrillSettings, DrillSettingsError
from localkube.pki import generate
from tests.automation.drill.doubles import STARTED, coder_database, settings, sidecar_pod

# --- settings ------------------------------------------------------------------------------


def test_settings_round_trip_through_the_pod_environment_when_the_component_writes_them() -> None:
    original = settings(storage_class_name="managed-csi")
    environ = original.to_environ()
    assert environ["CODER_PLATFORM_DRILL_CHECK_WORKLOAD_IDENTITY"] == "true"
    assert environ["CODER_PLATFORM_PUSHGATEWAY"] == "http://pushgateway.monitoring.svc:9091"
    assert DrillSettings.from_environ(environ) == original


def test_settings_name_every_missing_variable_when_the_pod_lacks_them() -> None:
    environ = settings().to_environ()
    del environ["CODER_PLATFORM_DRILL_SOURCE_SERVER_NAME"]
    environ["CODER_PLATFORM_DRILL_DEADLINE_SECONDS"] = "soon"
    with pytest.raises(DrillSettingsError) as caught:
        DrillSettings.from_environ(environ)
    message = str(caught.value)
    assert "CODER_PLATFORM_DRILL_SOURCE_SERVER_NAME" in message
    assert "CODER_PLATFORM_DRILL_DEADLINE_SECONDS" in message
    assert "soon" not in message


# --- the never-archive guard --------------------------------------------------------------


@pytest.mark.parametrize(
    "unsafe",
    [
        {"plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": True}]},
        {"backup": {"barmanObjectStore": {"destinationPath": "https://a/b"}}},
    ],
)
def test_guard_refuses_a_scratch_cluster_when_it_has_an_archiver(unsafe: dict[str, Any]) -> None:
    manifest = scratch_cluster(settings())
    manifest["spec"].update(unsafe)
    with pytest.raises(UnsafeDrillSpecError, match="must never write to a backup archive"):
        assert_never_archives(manifest)


def test_scratch_cluster_has_no_identity_when_the_stack_has_none() -> None:
    spec = scratch_cluster(settings(identity_client_id=None))["spec"]
    assert "serviceAccountTemplate" not in spec and "inheritedMetadata" not in spec
    assert "storageClass" not in spec["storage"]


# --- the sidecar check ----------------------------------------------------------------------


def test_sidecar_check_passes_when_every_instance_has_the_token_file() -> None:
    finding = sidecar_identity([sidecar_pod("coder-db-1"), sidecar_pod("coder-db-2")])
    assert finding.ok and "coder-db-1, coder-db-2" in finding.detail


def test_sidecar_check_fails_when_a_pod_lacks_the_sidecar_volume_or_pods() -> None:
    bare = sidecar_pod("coder-db-1")
    bare["spec"]["initContainers"] = []
    assert "no plugin-barman-cloud sidecar" in sidecar_identity([bare]).detail
    no_volume = sidecar_pod("coder-db-1")
    no_volume["spec"]["volumes"] = []
    assert "azure-identity-token" in sidecar_identity([no_volume]).detail
    assert not sidecar_identity([]).ok


# --- reading Coder's tables ---------------------------------------------------------------


def test_snapshot_takes_the_newest_time_across_tables_and_treats_naive_times_as_utc() -> None:
    database = coder_database(newest=datetime(2026, 1, 1, tzinfo=UTC))
    database.tables["api_keys"] = [{"id": "k", "last_used": datetime(2026, 1, 2)}]
    snapshot = read_snapshot(database)
    assert snapshot.newest_row_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert snapshot.newest_source == "api_keys.last_used"
    assert (snapshot.users, snapshot.templates, snapshot.missing_tables) == (1, 2, ())


class RecordingCursor:
    def __init__(self, answers: list[list[tuple[Any, ...]]], log: list[str]) -> None:
        self._answers, self._log = answers, log

    def __enter__(self) -> RecordingCursor:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def execute(self, query: Any, params: Any = ()) -> None:
        self._log.append(query if isinstance(query, str) else query.as_string(None))

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._answers.pop(0)


class RecordingConnection:
    def __init__(self, answers: list[list[tuple[Any, ...]]]) -> None:
        self.answers, self.log = answers, []  # type: list[list[tuple[Any, ...]]], list[str]

    def cursor(self) -> RecordingCursor:
        return RecordingCursor(self.answers, self.log)


def test_sql_quotes_identifiers_and_skips_soft_deleted_rows_when_counting() -> None:
    connection = RecordingConnection(
        [
            [("users", "id"), ("users", "deleted"), ("users", "is_system"), ("templates", "id")],
            [(3,)],
            [(datetime(2026, 1, 1, tzinfo=UTC),)],
        ]
    )
    tables = PsycopgTables(connection)
    assert tables.columns() == {"users": {"id", "deleted", "is_system"}, "templates": {"id"}}
    assert tables.count("users", ["deleted", "is_system"]) == 3
    assert tables.newest("users", "updated_at") == datetime(2026, 1, 1, tzinfo=UTC)
    assert connection.log[1] == (
        'SELECT count(*) FROM "users" WHERE NOT coalesce("deleted", false) '
        'AND NOT coalesce("is_system", false)'
    )
    assert connection.log[2] == 'SELECT max("updated_at") FROM "users"'
    assert "table_schema = 'public'" in connection.log[0]


# --- the in-cluster Kubernetes client ------------------------------------------------------


@pytest.fixture
def service_account(tmp_path: Path) -> Path:
    """A pod's service-account directory: a token and a real (throwaway) cluster CA."""
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("sa-token-value\n")
    shutil.copy(generate(tmp_path / "pki").ca_cert, account / "ca.crt")
    return account


def kube(service_account: Path, handler: Any) -> InClusterKubeApi:
    in_cluster = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    return InClusterKubeApi(in_cluster, service_account, transport=httpx.MockTransport(handler))


def test_client_sends_the_service_account_token_and_maps_404_to_none(service_account: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET" and request.url.path.endswith("/missing"):
            return httpx.Response(404, json={"reason": "NotFound"})
        if request.method == "DELETE":
            return httpx.Response(404, json={"reason": "NotFound"})
        return httpx.Response(200, json={"items": [{"metadata": {"name": "p"}}, "junk"]})

    api = kube(service_account, handler)
    assert api.get("/api/v1/namespaces/x/pods/missing") is None
    assert api.delete("/api/v1/namespaces/x/secrets/s") is False
    assert api.list("/api/v1/namespaces/x/pods", "a=b") == [{"metadata": {"name": "p"}}]
    assert seen[0].headers["Authorization"] == "Bearer sa-token-value"
    assert str(seen[0].url).startswith("https://10.0.0.1/api/v1/")
    assert seen[2].url.params["labelSelector"] == "a=b"


def test_client_errors_name_the_call_and_never_the_response_body(service_account: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403, json={"reason": "Forbidden", "data": {"password": "should-not-leak"}}
        )

    api = kube(service_account, handler)
    with pytest.raises(KubeApiError) as caught:
        api.create("/api/v1/namespaces/x/secrets", {"stringData": {"password": "p"}})
    assert caught.value.status == 403
    assert "POST /api/v1/namespaces/x/secrets answered 403 Forbidden" in str(caught.value)
    assert "should-not-leak" not in str(caught.value)


def test_client_refuses_to_start_when_not_in_a_cluster(tmp_path: Path) -> None:
    with pytest.raises(DrillError, match="in-cluster only"):
        InClusterKubeApi({}, service_account_dir=tmp_path)


# --- metrics -------------------------------------------------------------------------------


def result(success: bool) -> RestoreDrillResult:
    return RestoreDrillResult(
        stack="dev",
        started_at=STARTED,
        finished_at=datetime(2026, 11, 30, 4, 30, tzinfo=UTC),
        rto_seconds=420.5 if success else None,
        rpo_seconds=90.0 if success else None,
        users=1 if success else None,
        templates=2 if success else None,
        identity_ok=True,
        cleanup_ok=True,
        steps=[DrillStep("query", success, "")],
    )


def test_metrics_carry_rto_rpo_and_success_when_a_drill_passed() -> None:
    text = metrics.render(result(True))
    assert 'coder_platform_restore_drill_success{stack="dev"} 1' in text
    assert 'coder_platform_restore_drill_rto_seconds{stack="dev"} 420.5' in text
    assert 'coder_platform_restore_drill_rpo_seconds{stack="dev"} 90.0' in text
    assert "coder_platform_restore_drill_last_success_timestamp_seconds{" in text
    assert 'coder_platform_restore_drill_duration_seconds{stack="dev"} 780.0' in text


def test_textfile_keeps_the_last_success_rto_and_rpo_when_a_later_drill_fails(
    tmp_path: Path,
) -> None:
    metrics.write_textfile(tmp_path, result(True))
    path = metrics.write_textfile(tmp_path, result(False))
    text = path.read_text()
    assert path.name == "coder_platform_dev_restore_drill.prom"
    assert 'coder_platform_restore_drill_success{stack="dev"} 0' in text
    assert 'coder_platform_restore_drill_rto_seconds{stack="dev"} 420.5' in text
    assert text.count("coder_platform_restore_drill_last_success_timestamp_seconds{") == 1


def test_push_posts_to_the_drill_group_when_a_gateway_is_set() -> None:
    pushed: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        pushed.append(request)
        return httpx.Response(202)

    metrics.push("http://gw:9091/", result(False), httpx.MockTransport(gateway))
    [request] = pushed
    assert request.method == "POST"
    assert request.url.path == "/metrics/job/coder_platform_restore_drill/stack/dev"
    assert b"last_success_timestamp_seconds" not in request.content


# --- the command ---------------------------------------------------------------------------


def test_command_exits_2_and_names_the_variables_when_the_settings_are_missing() -> None:
    out = io.StringIO()
    assert command.main({}, out) == 2
    line = json.loads(out.getvalue())
    assert line["kind"] == "error" and "CODER_PLATFORM_DRILL_NAMESPACE" in line["message"]


def test_command_exits_2_when_started_outside_a_cluster() -> None:
    out = io.StringIO()
    assert command.main(settings().to_environ(), out) == 2
    assert "in-cluster only" in json.loads(out.getvalue())["message"]


def test_summary_is_one_json_document_with_the_numbers_and_steps() -> None:
    document = command.summary(result(True))
    assert document["success"] is True and document["rto_seconds"] == 420.5
    assert document["steps"] == [{"name": "query", "ok": True, "detail": ""}]
    json.dumps(document)
