"""The node stack (stacks/Pulumi.node.yaml) under mocks, and the config rules that keep what it
uses (the local-path provisioner, a storage connection string) out of dev and prod."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from coder_platform.config import ConfigError, load_config
from coder_platform.contracts import CONNECTION_STRING_KEY, LOCAL_PATH_PROVISIONER
from coder_platform.names import backup_store_secret_name
from coder_platform.vault_inputs import (
    VaultInputError,
    read_connection_string,
    read_from_vault,
    required_paths,
    secret_values,
)
from components.backup_store import connection_string_destination
from localplatform.images.runner import RUNNER_IMAGE
from testbed.harness import (
    FAKE_CONNECTION_STRING,
    FAKE_OIDC_SECRET,
    FAKE_STORE_KEY,
    VAULT_OIDC_CLIENT_ID,
    VAULT_OIDC_ISSUER_URL,
    InMemoryKv,
    is_secret,
    load_stack_file,
    run_program,
    vault_data,
)

STORE_PATH = "coder/backup-store"


def node() -> dict[str, Any]:
    return copy.deepcopy(load_stack_file("node"))


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    return [str(issue) for issue in caught.value.issues]


def test_node_stack_loads_with_the_local_path_class_and_a_connection_string() -> None:
    config = load_config(node())
    assert not config.managed
    assert config.storage.provisioner == LOCAL_PATH_PROVISIONER
    assert config.reclaim_policy == "Retain"
    assert config.database.backup.connection_string_path == STORE_PATH
    assert config.operators.install is False


def test_node_stack_deploys_the_data_layer_with_the_credential_from_vault() -> None:
    mocks = run_program(node(), stack="node")
    [storage_class] = mocks.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    assert storage_class.inputs["provisioner"] == LOCAL_PATH_PROVISIONER
    assert storage_class.inputs["reclaimPolicy"] == "Retain"
    [store] = [
        r
        for r in mocks.of_type("kubernetes:barmancloud.cnpg.io/v1:ObjectStore")
        if r.inputs["metadata"]["namespace"] == "coder-db"
    ]
    configuration = store.inputs["spec"]["configuration"]
    secret_name = backup_store_secret_name("coder-db")
    assert configuration["azureCredentials"] == {
        "connectionString": {"name": secret_name, "key": CONNECTION_STRING_KEY}
    }
    # Azurite's endpoint from the connection string, then the container.
    assert configuration["destinationPath"] == "http://10.1.2.3:10000/coderplatform/backups"
    secrets = [
        r
        for r in mocks.of_type("kubernetes:core/v1:Secret")
        if r.inputs["metadata"]["name"] == secret_name
        and r.inputs["metadata"]["namespace"] == "coder-db"
    ]
    assert len(secrets) == 1
    assert secrets[0].inputs["metadata"]["namespace"] == "coder-db"
    held = secrets[0].inputs["stringData"]
    assert is_secret(held)
    assert held["value"] == {CONNECTION_STRING_KEY: FAKE_CONNECTION_STRING}
    # The key is only in that Secret: not in the ObjectStore, nor in the Cluster.
    assert FAKE_STORE_KEY not in json.dumps(store.inputs)
    assert mocks.of_type("kubernetes:postgresql.cnpg.io/v1:ScheduledBackup")
    [cluster] = mocks.of_type("kubernetes:postgresql.cnpg.io/v1:Cluster")
    assert cluster.inputs["spec"]["storage"]["storageClass"] == "coder-local-path-retain"
    assert "serviceAccountTemplate" not in cluster.inputs["spec"]
    assert FAKE_STORE_KEY not in json.dumps(cluster.inputs)
    cron_jobs = {
        r.inputs["metadata"]["namespace"]: r.inputs
        for r in mocks.of_type("kubernetes:batch/v1:CronJob")
    }
    assert set(cron_jobs) == {"coder-db-drill", "coder-reconciler"}


def test_node_stack_reconciler_runs_by_hand_on_the_nodes_network_with_its_state_in_azurite() -> (
    None
):
    mocks = run_program(node(), stack="node")
    [reconciler] = [
        r.inputs
        for r in mocks.of_type("kubernetes:batch/v1:CronJob")
        if r.inputs["metadata"]["namespace"] == "coder-reconciler"
    ]
    assert reconciler["spec"]["suspend"] is True
    pod = reconciler["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    assert pod["serviceAccountName"] == "coder-reconciler"
    [container] = pod["containers"]
    assert container["image"] == RUNNER_IMAGE
    assert container["envFrom"] == [{"secretRef": {"name": "coder-platform-node-state"}}]
    env = {e["name"]: e for e in container["env"]}
    assert env["PULUMI_BACKEND_URL"]["value"] == "azblob://pulumi-state"
    # No secret in the spec: the passphrase and the storage key come from the Secret.
    assert "value" not in env["PULUMI_CONFIG_PASSPHRASE"]
    assert not any(name.startswith("AZURE_STORAGE") for name in env)
    [namespace] = [
        r.inputs
        for r in mocks.of_type("kubernetes:core/v1:Namespace")
        if r.inputs["metadata"]["name"] == "coder-reconciler"
    ]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    # The reconciler may write nothing in the operators' namespace (components/reconciler).
    roles = {
        r.inputs["metadata"]["namespace"]
        for r in mocks.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role")
    }
    assert "cnpg-system" not in roles
    assert {"coder-db", "coder-db-drill", "coder-reconciler"} <= roles


def test_node_stack_drill_reads_the_archive_with_a_copy_of_the_connection_string() -> None:
    mocks = run_program(node(), stack="node")
    stores = {
        r.inputs["metadata"]["namespace"]: r.inputs["spec"]["configuration"]
        for r in mocks.of_type("kubernetes:barmancloud.cnpg.io/v1:ObjectStore")
    }
    drill_secret = backup_store_secret_name("coder-db-drill")
    assert stores["coder-db-drill"]["azureCredentials"] == {
        "connectionString": {"name": drill_secret, "key": CONNECTION_STRING_KEY}
    }
    # The same archive the database writes; the scratch store prunes nothing.
    assert stores["coder-db-drill"]["destinationPath"] == stores["coder-db"]["destinationPath"]
    [copy_] = [
        r
        for r in mocks.of_type("kubernetes:core/v1:Secret")
        if r.inputs["metadata"]["namespace"] == "coder-db-drill"
    ]
    assert copy_.inputs["metadata"]["name"] == drill_secret
    assert is_secret(copy_.inputs["stringData"])
    assert copy_.inputs["stringData"]["value"] == {CONNECTION_STRING_KEY: FAKE_CONNECTION_STRING}
    [cron_job] = [
        r
        for r in mocks.of_type("kubernetes:batch/v1:CronJob")
        if r.inputs["metadata"]["namespace"] == "coder-db-drill"
    ]
    [container] = cron_job.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == RUNNER_IMAGE
    for resource in (cron_job, *mocks.of_type("kubernetes:barmancloud.cnpg.io/v1:ObjectStore")):
        assert FAKE_STORE_KEY not in json.dumps(resource.inputs)


def test_dev_keeps_the_workload_identity_and_azure_disk_when_nothing_is_set() -> None:
    mocks = run_program(load_stack_file("dev"), stack="dev")
    # The database's store and the restore drill's: both through the workload identity.
    stores = mocks.of_type("kubernetes:barmancloud.cnpg.io/v1:ObjectStore")
    assert stores
    for store in stores:
        credentials = store.inputs["spec"]["configuration"]["azureCredentials"]
        assert credentials == {"inheritFromAzureAD": True}
    assert not [
        r
        for r in mocks.of_type("kubernetes:core/v1:Secret")
        if r.inputs["metadata"]["name"] == backup_store_secret_name("coder-db")
    ]
    classes = mocks.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    assert {c.inputs["provisioner"] for c in classes} == {"disk.csi.azure.com"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_managed_stack_refuses_a_connection_string_by_key(stack: str) -> None:
    raw = copy.deepcopy(load_stack_file(stack))
    raw["database"]["backup"]["connectionStringPath"] = STORE_PATH
    found = problems(raw)
    assert any(
        p.startswith("coder-platform:database.backup.connectionStringPath: ")
        and "workload identity" in p
        for p in found
    ), found


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_managed_stack_refuses_the_local_path_provisioner_by_key(stack: str) -> None:
    raw = copy.deepcopy(load_stack_file(stack))
    raw["storage"]["provisioner"] = LOCAL_PATH_PROVISIONER
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:storage.provisioner: must be disk.csi.azure.com")


def test_a_connection_string_without_vault_is_refused_by_key() -> None:
    raw = node()
    raw["vault"] = {"enabled": False}
    raw["localSecrets"] = {
        "oidcClientSecret": "x",
        "bootstrapAdminEmail": "a@b.c",
        "bootstrapAdminUsername": "a",
        "bootstrapAdminPassword": "y",
    }
    raw.pop("seeding")
    found = problems(raw)
    assert any("connectionStringPath: needs vault.enabled" in p for p in found), found


def test_a_connection_string_beside_a_workload_identity_is_refused_by_key() -> None:
    raw = node()
    raw["database"]["backup"]["workloadIdentityClientId"] = "00000000-0000-0000-0000-000000000001"
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:database.backup.connectionStringPath: cannot be")


def test_a_missing_connection_string_is_named_by_path_with_the_other_inputs() -> None:
    config = load_config(node())
    data = vault_data(node())
    del data[f"platform/{STORE_PATH}"]
    kv = InMemoryKv(data)
    from coder_platform import vault_inputs

    saved = vault_inputs.reader_factory
    vault_inputs.reader_factory = lambda _config: kv
    try:
        with pytest.raises(VaultInputError) as caught:
            read_from_vault(config.vault, config.seeding, config.database.backup)
        assert f"platform/{STORE_PATH}: path not found (needs keys connectionString)" in str(
            caught.value
        )
        with pytest.raises(VaultInputError) as alone:
            read_connection_string(config.vault, config.database.backup)
        assert f"platform/{STORE_PATH}: key connectionString is missing" in str(alone.value)
    finally:
        vault_inputs.reader_factory = saved


def test_the_runner_redacts_the_connection_string_it_will_read() -> None:
    config = load_config(node())
    kv = InMemoryKv(vault_data(node()))
    values = secret_values(config.vault, config.seeding, kv, config.database.backup)
    assert FAKE_CONNECTION_STRING in values


@pytest.mark.parametrize(
    ("connection_string", "destination"),
    [
        (
            "AccountName=coderplatform;AccountKey=k;BlobEndpoint=http://10.0.0.5:10000/coderplatform/",
            "http://10.0.0.5:10000/coderplatform/backups",
        ),
        (
            "DefaultEndpointsProtocol=https;AccountName=stcoder;AccountKey=k;EndpointSuffix=core.windows.net",
            "https://stcoder.blob.core.windows.net/backups",
        ),
    ],
)
def test_the_destination_is_the_connection_strings_endpoint_when_it_names_one(
    connection_string: str, destination: str
) -> None:
    assert connection_string_destination(connection_string, "other", "backups") == destination


def _coder_env(mocks: Any) -> dict[str, dict[str, Any]]:
    [release] = mocks.of_type("kubernetes:helm.sh/v3:Release")
    return {e["name"]: e for e in release.inputs["values"]["coder"]["env"]}


def test_node_stack_deploys_coder_from_the_local_chart_on_the_cnpg_database() -> None:
    mocks = run_program(node(), stack="node")
    [release] = mocks.of_type("kubernetes:helm.sh/v3:Release")
    # The copy `up` prepares under the project root, not a Helm repository.
    assert release.inputs["chart"] == "./.localplatform/coder-chart"
    assert "repositoryOpts" not in release.inputs
    values = release.inputs["values"]["coder"]
    assert values["service"] == {"enable": True, "type": "NodePort", "httpNodePort": 30080}
    env = _coder_env(mocks)
    assert env["CODER_ACCESS_URL"]["value"] == "http://127.0.0.1:30080"
    assert env["CODER_PG_CONNECTION_URL"]["valueFrom"]["secretKeyRef"]["name"] == "coder-db-app"
    assert "ingress" not in values


def test_coder_reads_the_oidc_issuer_and_client_id_from_vault_when_the_stack_omits_them() -> None:
    assert "issuerUrl" not in node()["coder"]["oidc"]
    env = _coder_env(run_program(node(), stack="node"))
    assert env["CODER_OIDC_ISSUER_URL"]["value"] == VAULT_OIDC_ISSUER_URL
    assert env["CODER_OIDC_CLIENT_ID"]["value"] == VAULT_OIDC_CLIENT_ID


def test_the_configured_oidc_issuer_and_client_id_win_over_vault_when_the_stack_sets_them() -> None:
    raw = node()
    issuer = "http://127.0.0.1:18200/v1/identity/oidc/provider/default"
    raw["coder"]["oidc"] |= {"issuerUrl": issuer, "clientId": "configured-client"}
    env = _coder_env(run_program(raw, stack="node"))
    assert env["CODER_OIDC_ISSUER_URL"]["value"] == issuer
    assert env["CODER_OIDC_CLIENT_ID"]["value"] == "configured-client"
    # Set in config, they are not needed in Vault: a record with the secret alone is enough.
    vault = vault_data(raw)
    vault["platform/coder/oidc"] = {"client_secret": FAKE_OIDC_SECRET}
    env = _coder_env(run_program(raw, stack="node", vault=vault))
    assert env["CODER_OIDC_CLIENT_ID"]["value"] == "configured-client"


def test_the_oidc_record_must_hold_the_client_id_and_issuer_when_the_stack_leaves_them_unset() -> (
    None
):
    config = load_config(node())
    assert dict(required_paths(config.vault, None, None, config.coder))["coder/oidc"] == (
        "client_secret",
        "client_id",
        "issuer_url",
    )
    dev = load_config(load_stack_file("dev"))
    assert dict(required_paths(dev.vault, None, None, dev.coder))["coder/oidc"] == (
        "client_secret",
    )


@pytest.mark.parametrize("key", ["issuer_url", "client_id"])
def test_a_missing_oidc_key_in_vault_is_named_by_path_and_key_when_the_stack_leaves_it_unset(
    key: str,
) -> None:
    config = load_config(node())
    data = vault_data(node())
    del data["platform/coder/oidc"][key]
    from coder_platform import vault_inputs

    saved = vault_inputs.reader_factory
    vault_inputs.reader_factory = lambda _config: InMemoryKv(data)
    try:
        with pytest.raises(VaultInputError) as caught:
            read_from_vault(config.vault, config.seeding, config.database.backup, config.coder)
    finally:
        vault_inputs.reader_factory = saved
    message = str(caught.value)
    assert f"platform/coder/oidc: key {key} is missing or empty" in message
    assert "nothing was deployed" in message
    assert FAKE_OIDC_SECRET not in message


def test_an_issuer_in_vault_that_is_not_a_url_is_named_without_its_value() -> None:
    config = load_config(node())
    data = vault_data(node())
    data["platform/coder/oidc"]["issuer_url"] = "not-a-url-value"
    from coder_platform import vault_inputs

    saved = vault_inputs.reader_factory
    vault_inputs.reader_factory = lambda _config: InMemoryKv(data)
    try:
        with pytest.raises(VaultInputError) as caught:
            read_from_vault(config.vault, config.seeding, config.database.backup, config.coder)
    finally:
        vault_inputs.reader_factory = saved
    assert "platform/coder/oidc: key issuer_url is not an http(s) URL" in str(caught.value)
    assert "not-a-url-value" not in str(caught.value)


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("key", ["issuerUrl", "clientId"])
def test_a_managed_stack_refuses_an_unset_oidc_issuer_or_client_id_by_key(
    stack: str, key: str
) -> None:
    raw = copy.deepcopy(load_stack_file(stack))
    del raw["coder"]["oidc"][key]
    [problem] = problems(raw)
    assert problem.startswith(f"coder-platform:coder.oidc.{key}: is required when coder.deploy")


def _e2e(raw: dict[str, Any]) -> None:
    raw["environment"] = "e2e"


def _without_vault(raw: dict[str, Any]) -> None:
    raw["vault"] = {"enabled": False}
    raw["localSecrets"] = {
        "oidcClientSecret": "x",
        "bootstrapAdminEmail": "a@b.c",
        "bootstrapAdminUsername": "a",
        "bootstrapAdminPassword": "y",
    }
    del raw["database"]["backup"]["connectionStringPath"]
    raw.pop("seeding")


@pytest.mark.parametrize("edit", [_e2e, _without_vault])
def test_an_unset_oidc_issuer_and_client_id_are_refused_when_the_stack_is_not_local_with_vault(
    edit: Any,
) -> None:
    raw = node()
    edit(raw)
    found = problems(raw)
    assert [p.split(":")[1] for p in found] == ["coder.oidc.issuerUrl", "coder.oidc.clientId"]
