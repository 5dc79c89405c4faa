"""The ``database-ca`` copy under the reconciler's own identity, on a real API server.

A stack that deploys Coder copies CloudNativePG's server CA (``<cluster>-ca`` in the database
namespace) into ``database-ca`` in Coder's namespace on every run (components/database.py reads
it, components/coder.py writes it). test_least_privilege's stack has no Coder (its chart's
repository is unreachable here), so this module deploys the copy without the chart: the
database component with ``publish_server_ca``, Coder's namespace and the copy with
CoderDeployment's names, and the reconciler as ``wiring/operations.py`` builds it from the dev
stack's config with Coder owned (dev's RBAC and admission policies). An admin deploys it once,
playing the operator that publishes the CA; then, with the reconciler's TokenRequest token, a
refresh and update converge, and after the operator renews the CA and the copy is deleted, the
reconciler's run reads the new CA and writes the copy back. Its grant for this is the database
and Coder namespaces' Secrets; it still reads no Secret in the operators' namespace.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from coder_platform.contracts import RECONCILER_NAMESPACE, RECONCILER_SERVICE_ACCOUNT
from coder_platform.specs.postgres_tls import CA_KEY, ca_secret_name
from components.coder import DB_CA_SECRET
from localkube.cluster import LocalCluster, write_kubeconfig
from testbed.harness import ROOT

pytestmark = pytest.mark.integration

DATABASE, CODER, CLUSTER = "coder-db", "coder", "coder-db"
CLUSTER_PATH = f"/apis/postgresql.cnpg.io/v1/namespaces/{DATABASE}/clusters/{CLUSTER}"
SERVER_CA = f"/api/v1/namespaces/{DATABASE}/secrets/{ca_secret_name(CLUSTER)}"
COPY = f"/api/v1/namespaces/{CODER}/secrets/{DB_CA_SECRET}"
FIRST_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfirstCA\n-----END CERTIFICATE-----\n"
RENEWED_PEM = "-----BEGIN CERTIFICATE-----\nMIIBrenewedCA\n-----END CERTIFICATE-----\n"

# One program for both identities: what a Coder-deploying dev stack registers for the copy.
PROGRAM = textwrap.dedent(
    f"""\
    import sys
    import pulumi
    import pulumi_kubernetes as k8s
    from pulumi import automation as auto
    from coder_platform.config import load_config
    from coder_platform.contracts import PART_OF
    from coder_platform.specs.pod_security import pod_security
    from coder_platform.specs.postgres_tls import CA_KEY
    from components.coder import DB_CA_SECRET
    from components.database import CnpgPostgres, CnpgPostgresArgs
    from testbed.harness import load_stack_file
    from wiring.operations import build_reconciler
    from wiring.ownership import make_kubernetes_fields_authoritative

    def program() -> None:
        make_kubernetes_fields_authoritative()
        config = load_config(load_stack_file("dev"))
        db = CnpgPostgres("coder-db", CnpgPostgresArgs(
            namespace={DATABASE!r}, cluster_name={CLUSTER!r}, database="coder", owner="coder",
            instances=1, storage_size="1Gi", storage_class_name="standard",
            image="ghcr.io/cloudnative-pg/postgresql:17.5", generation=1,
            destination_path="https://account.blob.core.windows.net/backups", retention_days=7,
            backup_schedule="0 0 2 * * 0", backup_immediate=False, wal_compression="gzip",
            resources={{}}, publish_server_ca=True,
        ))
        coder_ns = k8s.core.v1.Namespace("coder-ns", metadata=k8s.meta.v1.ObjectMetaArgs(
            name={CODER!r}, labels={{**PART_OF, **pod_security("baseline")}}))
        drill_ns = k8s.core.v1.Namespace("drill-ns", metadata=k8s.meta.v1.ObjectMetaArgs(
            name=config.restore_drill.namespace, labels={{**PART_OF, **pod_security("baseline")}}))
        k8s.core.v1.Secret(
            "coder-db-ca-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=DB_CA_SECRET, namespace={CODER!r}),
            string_data={{CA_KEY: db.server_ca}},
            opts=pulumi.ResourceOptions(depends_on=[coder_ns]),
        )
        build_reconciler(config, [db, coder_ns, drill_ns], owns_coder=True)

    stack = auto.create_or_select_stack(
        "dev", project_name="ca-copy-test", program=program,
        opts=auto.LocalWorkspaceOptions(work_dir=sys.argv[1]),
    )
    if sys.argv[2] == "refresh-and-up":
        stack.refresh(on_output=lambda line: print(line, file=sys.stderr))
    result = stack.up(on_output=lambda line: print(line, file=sys.stderr))
    print(dict(result.summary.resource_changes or {{}}))
    """
)


@dataclass(frozen=True)
class Deployed:
    admin: LocalCluster
    reconciler: LocalCluster
    work_dir: Path
    env: dict[str, str]


def _start(
    deployed_env: dict[str, str], work_dir: Path, kubeconfig: Path, mode: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(work_dir / "program.py"), str(work_dir), mode],
        env={**deployed_env, "KUBECONFIG": str(kubeconfig)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(run: subprocess.Popen[str]) -> str:
    try:
        stdout, stderr = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 0, stderr[-4000:]
    return stdout


def _publish_ca(admin: LocalCluster, pem: str) -> None:
    """What CloudNativePG does: the CA Secret first, then the Cluster's status names it."""
    body = {"metadata": {"name": ca_secret_name(CLUSTER)},
            "data": {CA_KEY: base64.b64encode(pem.encode()).decode()}}  # fmt: skip
    with admin.client() as client:
        if admin.get(SERVER_CA) is None:
            client.post(f"/api/v1/namespaces/{DATABASE}/secrets", json=body).raise_for_status()
        else:
            client.put(SERVER_CA, json=body).raise_for_status()
    admin.merge_patch(
        f"{CLUSTER_PATH}/status",
        {"status": {"certificates": {"serverCASecret": ca_secret_name(CLUSTER)}}},
    )


def _token_for(admin: LocalCluster) -> str:
    with admin.client() as client:
        response = client.post(
            f"/api/v1/namespaces/{RECONCILER_NAMESPACE}/serviceaccounts/"
            f"{RECONCILER_SERVICE_ACCOUNT}/token",
            json={"spec": {"expirationSeconds": 3600}},
        )
    response.raise_for_status()
    return str(response.json()["status"]["token"])


@pytest.fixture(scope="module")
def deployed(
    toolchain_env: dict[str, str],
    own_cluster: LocalCluster,
    tmp_path_factory: pytest.TempPathFactory,
) -> Deployed:
    work_dir = tmp_path_factory.mktemp("ca-copy")
    (work_dir / "program.py").write_text(PROGRAM)
    state = work_dir / "state"
    state.mkdir()
    env = {
        **toolchain_env,
        "PYTHONPATH": str(ROOT),
        "PULUMI_PYTHON_CMD": sys.executable,
        "PULUMI_BACKEND_URL": state.as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "local-test-only",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    first = _start(env, work_dir, own_cluster.kubeconfig, "up")
    deadline = time.monotonic() + 240
    while own_cluster.get(CLUSTER_PATH) is None:
        assert first.poll() is None, first.communicate()[1][-4000:]
        assert time.monotonic() < deadline, "the Cluster was not created"
        time.sleep(0.5)
    _publish_ca(own_cluster, FIRST_PEM)
    _finish(first)
    token = _token_for(own_cluster)
    kubeconfig = work_dir / "reconciler.kubeconfig"
    write_kubeconfig(kubeconfig, own_cluster.server, own_cluster.ca_file, token)
    reconciler = LocalCluster(own_cluster.server, token, own_cluster.ca_file, kubeconfig)
    return Deployed(own_cluster, reconciler, work_dir, env)


def _copied(admin: LocalCluster) -> str | None:
    secret = admin.get(COPY)
    return None if secret is None else base64.b64decode(secret["data"][CA_KEY]).decode()


def test_the_admins_first_run_copies_the_ca_into_coders_namespace(deployed: Deployed) -> None:
    assert _copied(deployed.admin) == FIRST_PEM


def test_the_reconciler_reads_the_ca_and_rewrites_the_copy_under_its_own_identity(
    deployed: Deployed,
) -> None:
    converged = _finish(
        _start(deployed.env, deployed.work_dir, deployed.reconciler.kubeconfig, "refresh-and-up")
    )
    assert "create" not in converged and "update" not in converged, converged

    _publish_ca(deployed.admin, RENEWED_PEM)  # the operator renews its CA
    deployed.admin.delete(COPY)  # and the copy is lost (Coder's namespace recreated, say)
    healed = _finish(
        _start(deployed.env, deployed.work_dir, deployed.reconciler.kubeconfig, "refresh-and-up")
    )

    assert "create" in healed, healed
    assert _copied(deployed.admin) == RENEWED_PEM


def _allowed(reconciler: LocalCluster, attributes: dict[str, str]) -> bool:
    with reconciler.client() as client:
        review = client.post(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            json={"spec": {"resourceAttributes": attributes}},
        )
    review.raise_for_status()
    return bool(review.json()["status"]["allowed"])


@pytest.mark.parametrize(
    ("verb", "namespace", "name", "allowed"),
    [
        ("get", DATABASE, ca_secret_name(CLUSTER), True),  # the read
        ("patch", CODER, DB_CA_SECRET, True),  # the copy
        ("create", CODER, "", True),
        ("get", "cnpg-system", "", False),  # the operators' Secrets: never
        ("list", "kube-system", "", False),
        ("create", "default", "", False),
    ],
)
def test_the_reconcilers_secret_rights_are_the_copys_namespaces_only(
    deployed: Deployed, verb: str, namespace: str, name: str, allowed: bool
) -> None:
    attributes = {"verb": verb, "resource": "secrets", "namespace": namespace}
    if name:
        attributes["name"] = name
    assert _allowed(deployed.reconciler, attributes) is allowed


def test_the_copy_cannot_be_written_into_the_operators_namespace(deployed: Deployed) -> None:
    with deployed.reconciler.client() as client:
        response: httpx.Response = client.post(
            "/api/v1/namespaces/cnpg-system/secrets",
            params={"dryRun": "All"},
            json={"metadata": {"name": DB_CA_SECRET}, "stringData": {CA_KEY: FIRST_PEM}},
        )
    assert response.status_code == 403, response.text[:300]
    assert json.loads(response.text)["reason"] == "Forbidden"
