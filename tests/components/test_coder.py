"""Coder on the CNPG database: pinned chart, secretKeyRefs only, OIDC modes, ordering."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pulumi
import pytest

from components.coder import CoderDeployment, CoderDeploymentArgs, CoderIngress
from testbed.harness import (
    FAKE_OIDC_SECRET,
    FAKE_SERVER_CA,
    SECRET_VALUES,
    CapturedOptions,
    RecordingMocks,
    is_secret,
    load_stack_file,
    reveal,
    run_component,
    run_program,
    vault_data,
)

# Names that carry credentials (flags such as CODER_DISABLE_PASSWORD_AUTH do not).
SECRETISH = ("_SECRET", "_PASSWORD", "_TOKEN", "_PRIVATE_KEY", "_CONNECTION_URL")


def coder_release(mocks: RecordingMocks) -> dict[str, Any]:
    [release] = [
        r for r in mocks.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "coder"
    ]
    return release.inputs


def env_of(release: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in release["values"]["coder"]["env"]}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_coder_release_is_pinned_and_reads_db_and_oidc_from_secret_refs(stack: str) -> None:
    raw = load_stack_file(stack)
    release = coder_release(run_program(raw, stack=stack))
    assert release["chart"] == "coder"
    assert release["version"] == raw["coder"]["chartVersion"]
    assert release["repositoryOpts"]["repo"] == "https://helm.coder.com/v2"
    env = env_of(release)
    assert env["CODER_PG_CONNECTION_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "coder-db-app",
        "key": "uri",
    }
    assert env["CODER_OIDC_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "coder-oidc",
        "key": "client-secret",
    }
    assert env["CODER_ACCESS_URL"]["value"] == raw["coder"]["accessUrl"]
    assert env["CODER_WILDCARD_ACCESS_URL"]["value"] == raw["coder"]["wildcardAccessUrl"]
    assert env["CODER_MAX_ADMIN_TOKEN_LIFETIME"]["value"] == raw["coder"]["maxAdminTokenLifetime"]
    assert env["CODER_PROMETHEUS_ENABLE"]["value"] == "true"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_secret_is_literal_anywhere_in_values_or_env(stack: str) -> None:
    mocks = run_program(load_stack_file(stack), stack=stack)
    release = coder_release(mocks)
    for name, var in env_of(release).items():
        if name.endswith(SECRETISH):
            assert "value" not in var and "secretKeyRef" in var["valueFrom"], name
    rendered = json.dumps(release["values"])
    for secret in SECRET_VALUES:
        assert secret not in rendered


def test_secrets_reach_kubernetes_only_as_pulumi_secrets() -> None:
    mocks = run_program(load_stack_file("dev"), stack="dev")
    secrets = {
        r.inputs["metadata"]["name"]: r.inputs
        for r in mocks.of_type("kubernetes:core/v1:Secret")
        if r.inputs["metadata"]["namespace"] == "coder"
    }
    assert set(secrets) == {"coder-db-app", "database-ca", "coder-oidc"}
    for secret in secrets.values():
        assert is_secret(secret["stringData"])
    assert reveal(secrets["coder-oidc"]["stringData"]) == {"client-secret": FAKE_OIDC_SECRET}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_coder_verifies_the_database_against_a_mounted_copy_of_the_cnpg_ca(stack: str) -> None:
    mocks = run_program(load_stack_file(stack), stack=stack)
    assert ("kubernetes:core/v1:Secret", "coder-db/coder-db-ca") in mocks.reads
    secrets = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r.inputs
        for r in mocks.of_type("kubernetes:core/v1:Secret")
    }
    assert reveal(secrets["coder", "database-ca"]["stringData"]) == {"ca.crt": FAKE_SERVER_CA}
    values = coder_release(mocks)["values"]["coder"]
    assert values["volumes"][0] == {"name": "db-ca", "secret": {"secretName": "database-ca"}}
    assert values["volumeMounts"][0] == {
        "name": "db-ca",
        "mountPath": "/etc/coder-platform/db-ca",
        "readOnly": True,
    }
    uri = reveal(secrets["coder", "coder-db-app"]["stringData"])["uri"]
    query = parse_qs(urlsplit(uri).query)
    assert query == {
        "sslmode": ["verify-full"],
        "sslrootcert": [f"{values['volumeMounts'][0]['mountPath']}/ca.crt"],
    }


def test_sso_only_disables_password_login_for_everyone_but_owners() -> None:
    env = env_of(coder_release(run_program(load_stack_file("dev"), stack="dev")))
    assert env["CODER_DISABLE_PASSWORD_AUTH"]["value"] == "true"
    assert env["CODER_OIDC_ISSUER_URL"]["value"].startswith("https://")


def test_password_mode_keeps_password_login() -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["coder"]["oidc"]["ssoOnly"] = False
    env = env_of(coder_release(run_program(raw, stack="dev")))
    assert env["CODER_DISABLE_PASSWORD_AUTH"]["value"] == "false"


def test_ingress_carries_websocket_settings_and_tls() -> None:
    ingress = coder_release(run_program(load_stack_file("prod"), stack="prod"))["values"]["coder"][
        "ingress"
    ]
    assert ingress["host"] == "coder.corp.internal"
    assert ingress["wildcardHost"] == "*.coder.corp.internal"
    assert ingress["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"
    assert ingress["tls"] == {
        "enable": True,
        "secretName": "coder-tls",
        "wildcardSecretName": "coder-wildcard-tls",
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_coder_has_a_writable_cache_when_its_root_filesystem_is_read_only(stack: str) -> None:
    values = coder_release(run_program(load_stack_file(stack), stack=stack))["values"]["coder"]
    assert values["securityContext"]["readOnlyRootFilesystem"] is True
    cache = env_of({"values": {"coder": values}})["CODER_CACHE_DIRECTORY"]["value"]
    mounts = {m["mountPath"]: m["name"] for m in values["volumeMounts"]}
    volumes = {v["name"]: v for v in values["volumes"]}
    for path in (cache, "/tmp"):
        assert volumes[mounts[path]] == {"name": mounts[path], "emptyDir": {}}, path
        assert "readOnly" not in next(m for m in values["volumeMounts"] if m["mountPath"] == path)


def test_coder_runs_non_root() -> None:
    values = coder_release(run_program(load_stack_file("dev"), stack="dev"))["values"]["coder"]
    context = values["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["allowPrivilegeEscalation"] is False


def test_missing_vault_key_fails_naming_path_and_key_and_registers_nothing() -> None:
    raw = load_stack_file("dev")
    vault = vault_data(raw)
    del vault["platform/coder/bootstrap-admin"]["password"]
    del vault["platform/coder/oidc"]
    with pytest.raises(pulumi.RunError) as caught:
        run_program(raw, stack="dev", vault=vault)
    message = str(caught.value)
    assert "platform/coder/bootstrap-admin: key password is missing" in message
    assert "platform/coder/oidc: path not found (needs keys client_secret)" in message
    assert "nothing was deployed" in message
    for secret in SECRET_VALUES:
        assert secret not in message


def test_missing_vault_input_registers_no_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    from testbed import harness

    created: list[RecordingMocks] = []

    class Spy(harness.RecordingMocks):
        def __init__(self) -> None:
            super().__init__()
            created.append(self)

    monkeypatch.setattr(harness, "RecordingMocks", Spy)
    with pytest.raises(pulumi.RunError):
        harness.run_program(load_stack_file("dev"), stack="dev", vault={})
    assert created[0].resources == []


def test_release_waits_for_the_database_cluster() -> None:
    capture = CapturedOptions()
    dependencies: list[pulumi.Resource] = []

    def build() -> None:
        cluster = pulumi.CustomResource("test:index:Database", "db-cluster", {})
        dependencies.append(cluster)
        CoderDeployment(
            "coder",
            CoderDeploymentArgs(
                namespace="coder",
                chart_version="2.36.6",
                chart_repository="https://helm.coder.com/v2",
                access_url="https://coder.corp.internal",
                wildcard_access_url=None,
                replicas=1,
                resources={},
                service_type="ClusterIP",
                ingress=CoderIngress(False, "nginx", "tls", "wild-tls"),
                oidc_issuer_url="https://idp.corp.internal",
                oidc_client_id="coder",
                oidc_email_domain=None,
                oidc_allow_signups=True,
                sso_only=True,
                max_token_lifetime="720h",
                max_admin_token_lifetime="720h",
                database_secret_name="coder-db-app",
                database_uri=pulumi.Output.secret("postgresql://x"),
                database_ca="-----BEGIN CERTIFICATE-----",
                oidc_client_secret=pulumi.Output.secret("s"),
            ),
            opts=pulumi.ResourceOptions(transformations=[capture], depends_on=[cluster]),
        )

    run_component(build)
    depends_on = capture.opts("coder-release").depends_on
    assert isinstance(depends_on, list)
    assert dependencies[0] in depends_on


def test_a_local_chart_replaces_the_repository_and_its_pinned_version() -> None:
    raw = load_stack_file("dev")
    raw["environment"] = "local"
    raw["coder"] |= {
        "chartPath": "charts/coder",
        "serviceType": "NodePort",
        "httpNodePort": 30080,
    }
    raw["coder"]["ingress"] = {"enabled": False}
    mocks = run_program(raw, stack="local")
    [release] = [
        r.inputs
        for r in mocks.of_type("kubernetes:helm.sh/v3:Release")
        if r.name == "coder-release"
    ]
    # Relative to the project directory, where the engine starts its providers (checked on
    # CLI 3.259: a provider's working directory is the project's even with the CLI run from
    # elsewhere), so a host's run and the reconciler pod's (/app) name the same chart.
    assert release["chart"] == "./charts/coder"
    assert "version" not in release and "repositoryOpts" not in release
    assert release["values"]["coder"]["service"] == {
        "enable": True,
        "type": "NodePort",
        "httpNodePort": 30080,
    }
