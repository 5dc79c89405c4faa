"""The database component's CA copy on the real engine and a real API server.

``CnpgPostgres(publish_server_ca=True)`` annotates its Cluster with ``pulumi.com/waitFor`` so the
create finishes only once CloudNativePG has published the server CA, then reads ``<cluster>-ca``.
No operator runs on localkube, so this test plays it: while ``up`` waits, it creates the CA
Secret and writes ``status.certificates.serverCASecret`` the way the operator does (the Secret
first, the status after). The real pulumi-kubernetes provider must wait for that status and the
read must return the certificate: the mocks in the unit tier cannot show either.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from localkube.cluster import LocalCluster
from testbed.harness import ROOT

pytestmark = pytest.mark.integration

NAMESPACE = "ca-db"
CLUSTER = "ca-db"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBlocalkubeCA\n-----END CERTIFICATE-----\n"
CLUSTER_PATH = f"/apis/postgresql.cnpg.io/v1/namespaces/{NAMESPACE}/clusters/{CLUSTER}"

PROGRAM = textwrap.dedent(
    f"""\
    import json, sys
    import pulumi
    from pulumi import automation as auto
    from components.database import CnpgPostgres, CnpgPostgresArgs

    def program() -> None:
        db = CnpgPostgres("db", CnpgPostgresArgs(
            namespace={NAMESPACE!r}, cluster_name={CLUSTER!r}, database="app", owner="app",
            instances=1, storage_size="1Gi", storage_class_name="standard",
            image="ghcr.io/cloudnative-pg/postgresql:17.5", generation=1,
            destination_path="https://account.blob.core.windows.net/backups", retention_days=7,
            backup_schedule="0 0 2 * * 0", backup_immediate=False, wal_compression="gzip",
            resources={{}}, publish_server_ca=True,
        ))
        pulumi.export("server_ca", db.server_ca)

    stack = auto.create_or_select_stack(
        "ca", project_name="server-ca-test", program=program,
        opts=auto.LocalWorkspaceOptions(work_dir=sys.argv[1]),
    )
    result = stack.up(on_output=lambda line: print(line, file=sys.stderr))
    print(json.dumps({{"server_ca": result.outputs["server_ca"].value}}))
    """
)


def _wait_for(cluster: LocalCluster, path: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while cluster.get(path) is None:
        assert time.monotonic() < deadline, f"{path} did not appear in {seconds}s"
        time.sleep(0.5)


def test_up_waits_for_the_operators_ca_and_reads_it_when_a_client_needs_a_copy(
    toolchain_env: dict[str, str], cluster: LocalCluster, tmp_path: Path
) -> None:
    (tmp_path / "program.py").write_text(PROGRAM)
    state = tmp_path / "state"
    state.mkdir()
    env = {
        **toolchain_env,
        "KUBECONFIG": str(cluster.kubeconfig),
        "PYTHONPATH": str(ROOT),
        "PULUMI_PYTHON_CMD": sys.executable,
        "PULUMI_BACKEND_URL": state.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "local-test-only",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    up = subprocess.Popen(
        [sys.executable, str(tmp_path / "program.py"), str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(cluster, CLUSTER_PATH, 240)
        time.sleep(5)
        assert up.poll() is None, "up finished before the operator published its CA"
        with cluster.client() as client:
            client.post(
                f"/api/v1/namespaces/{NAMESPACE}/secrets",
                json={
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": f"{CLUSTER}-ca"},
                    "data": {"ca.crt": base64.b64encode(PEM.encode()).decode()},
                },
            ).raise_for_status()
        cluster.merge_patch(
            f"{CLUSTER_PATH}/status",
            {"status": {"certificates": {"serverCASecret": f"{CLUSTER}-ca"}}},
        )
        stdout, stderr = up.communicate(timeout=240)
    finally:
        if up.poll() is None:
            up.kill()
            up.communicate()
    assert up.returncode == 0, stderr[-3000:]
    assert json.loads(stdout.strip().splitlines()[-1]) == {"server_ca": PEM}
