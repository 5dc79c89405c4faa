"""Stack config: good stacks load; every kind of bad input names its full key, at once."""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest

from coder_platform.config import ConfigError, load_config
from coder_platform.run_limits import TEMPLATE_IMPORT_DEADLINE_SECONDS
from testbed.harness import load_stack_file, run_program


def dev() -> dict[str, Any]:
    return copy.deepcopy(load_stack_file("dev"))


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    return [str(issue) for issue in caught.value.issues]


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_repo_stacks_load_when_valid(stack: str) -> None:
    config = load_config(load_stack_file(stack))
    assert config.environment == stack
    assert config.reclaim_policy == "Retain"


def test_prod_runs_three_instances_and_dev_one() -> None:
    assert load_config(load_stack_file("prod")).database.instances == 3
    assert load_config(load_stack_file("dev")).database.instances == 1


def test_error_names_full_key_when_retention_is_out_of_range() -> None:
    raw = dev()
    raw["database"]["backup"]["retentionDays"] = 0
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:database.backup.retentionDays: ")
    assert "1 to 3650" in problem


def test_all_errors_are_reported_at_once_when_several_keys_are_bad() -> None:
    raw = dev()
    raw["database"]["instances"] = 12
    raw["database"]["backup"]["schedule"] = "0 2 * * 0"
    raw["storage"]["skuName"] = "Ultra_Fast"
    raw["namespaces"]["coder"] = "Coder_NS"
    keys = {p.split(": ")[0] for p in problems(raw)}
    assert keys == {
        "coder-platform:database.instances",
        "coder-platform:database.backup.schedule",
        "coder-platform:storage.skuName",
        "coder-platform:namespaces.coder",
    }


def test_five_field_cron_is_rejected_with_the_six_field_rule() -> None:
    raw = dev()
    raw["database"]["backup"]["schedule"] = "0 2 * * 0"
    [problem] = problems(raw)
    assert "six fields, seconds first" in problem


def test_unknown_key_is_named_when_misspelled() -> None:
    raw = dev()
    raw["database"]["backup"]["retentionDay"] = 7
    raw["databse"] = {}
    found = problems(raw)
    assert any(
        p.startswith("coder-platform:database.backup.retentionDay: is not a known") for p in found
    )
    assert any(p.startswith("coder-platform:databse: is not a known") for p in found)


def test_missing_required_keys_are_named() -> None:
    raw = dev()
    del raw["database"]["backup"]["storageAccountName"]
    del raw["environment"]
    assert sorted(problems(raw)) == [
        "coder-platform:database.backup.storageAccountName: is required. Allowed: "
        "3-24 lowercase letters and digits, globally unique in Azure",
        "coder-platform:environment: is required. Allowed: one of dev, prod, local, e2e",
    ]


def test_azure_facts_have_no_placeholder_defaults() -> None:
    raw = dev()
    raw["azure"] = {"enabled": True}
    keys = sorted(p.split(": ")[0] for p in problems(raw))
    assert keys == [
        "coder-platform:azure.aksOidcIssuerUrl",
        "coder-platform:azure.backupResourceGroup",
        "coder-platform:azure.location",
        "coder-platform:azure.subscriptionId",
    ]


def test_plain_http_issuer_is_rejected() -> None:
    raw = dev()
    raw["azure"]["aksOidcIssuerUrl"] = "http://issuer.internal/"
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:azure.aksOidcIssuerUrl: the OIDC issuer must be")


def test_prod_cannot_declare_its_database_ephemeral() -> None:
    raw = load_stack_file("prod")
    raw["database"]["ephemeral"] = True
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:database.ephemeral: cannot be true in prod")


def test_dev_may_declare_ephemeral_and_then_gets_delete_reclaim() -> None:
    raw = dev()
    raw["database"]["ephemeral"] = True
    config = load_config(raw)
    assert config.reclaim_policy == "Delete"
    assert config.storage_class_name == "coder-premium-lrs-delete"


def test_recovery_into_the_same_generation_is_rejected() -> None:
    raw = dev()
    raw["database"]["generation"] = 2
    raw["database"]["recovery"] = {"enabled": True, "sourceGeneration": 2}
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:database.generation: must differ")
    assert "Expected empty archive" in problem


def test_recovery_of_generation_one_needs_a_source() -> None:
    raw = dev()
    raw["database"]["recovery"] = {"enabled": True}
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:database.recovery.sourceGeneration: is required")


def test_recovery_settings_without_enabled_are_flagged() -> None:
    raw = dev()
    raw["database"]["recovery"] = {"targetTime": "2026-11-20T10:00:00Z"}
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:database.recovery.enabled: must be true")


def test_managed_stack_without_azure_needs_an_identity_for_backups() -> None:
    raw = dev()
    raw["azure"] = {"enabled": False}
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:database.backup.workloadIdentityClientId")


def test_error_messages_never_echo_the_bad_value() -> None:
    raw = dev()
    secret_like = "hunter2-SECRET-VALUE-must-not-leak"
    raw["database"]["backup"]["storageAccountName"] = secret_like
    raw["azure"]["subscriptionId"] = secret_like
    raw["database"]["image"] = f"registry/{secret_like} with spaces"
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    assert secret_like not in str(caught.value)
    assert len(caught.value.issues) == 3


def test_string_scalars_from_the_cli_are_coerced() -> None:
    raw = dev()
    raw["protected"] = "false"
    raw["database"]["instances"] = "2"
    config = load_config(raw)
    assert config.protected is False
    assert config.database.instances == 2


def test_invalid_config_registers_no_resource() -> None:
    raw = dev()
    raw["database"]["backup"]["retentionDays"] = -1
    with pytest.raises(pulumi.RunError) as caught:
        run_program(raw)
    assert "coder-platform:database.backup.retentionDays" in str(caught.value)
    assert "nothing was deployed" in str(caught.value)


def test_invalid_config_run_really_records_nothing() -> None:
    """The mocks of a failed run saw zero registrations (not merely an exception)."""
    from testbed import harness

    recorded: list[harness.RecordingMocks] = []
    original = harness.RecordingMocks

    class Spy(original):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            recorded.append(self)

    harness.RecordingMocks = Spy  # type: ignore[misc]
    try:
        raw = dev()
        raw["storage"]["fsType"] = "zfs"
        with pytest.raises(pulumi.RunError):
            harness.run_program(raw)
    finally:
        harness.RecordingMocks = original  # type: ignore[misc]
    assert len(recorded) == 1
    assert recorded[0].resources == []


def test_in_cluster_reconciler_needs_shared_state_and_a_secrets_provider() -> None:
    raw = dev()
    raw["reconciler"] = {"image": "registry.corp/runner:1.0.0"}
    keys = sorted(p.split(": ")[0] for p in problems(raw))
    assert keys == [
        "coder-platform:reconciler.backendUrl",
        "coder-platform:reconciler.secretsProvider",
    ]


def test_passphrase_provider_needs_a_secret_reference_not_a_value() -> None:
    raw = copy.deepcopy(load_stack_file("local"))
    del raw["reconciler"]["passphraseSecret"]
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:reconciler.passphraseSecret: is required")


def test_operator_mode_needs_the_program_repository() -> None:
    raw = dev()
    raw["reconciler"]["mode"] = "operator"
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:reconciler.operator: is required")


def test_secret_looking_extra_env_is_refused_by_name() -> None:
    raw = dev()
    raw["reconciler"]["extraEnv"] = {"ARM_CLIENT_SECRET": "hunter2-do-not-echo"}
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:reconciler.extraEnv.ARM_CLIENT_SECRET: looks like")
    assert "hunter2" not in problem


def test_floating_runner_image_is_refused() -> None:
    raw = dev()
    raw["reconciler"]["image"] = "crcoderplatform.azurecr.io/coder-platform-runner"
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:reconciler.image: the image must be pinned")


def test_managed_stack_cannot_take_secrets_from_pulumi_config() -> None:
    raw = dev()
    raw["vault"] = {"enabled": False}
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:vault.enabled: must be true in dev/prod")


def test_a_job_deadline_shorter_than_a_template_import_is_refused_by_key() -> None:
    raw = dev()
    raw["reconciler"]["activeDeadlineSeconds"] = 840

    [problem] = problems(raw)

    assert problem.startswith("coder-platform:reconciler.activeDeadlineSeconds: must be at least")
    assert f"{TEMPLATE_IMPORT_DEADLINE_SECONDS} seconds" in problem
    assert "840" not in problem


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("cliTokenPath", "coder/../../../sys/policies/acl/x"),
        ("bootstrapAdminPath", "coder/./bootstrap-admin"),
        ("pathPrefix", "../other"),
    ],
)
def test_a_vault_path_with_a_dot_segment_is_refused_by_key(key: str, path: str) -> None:
    raw = dev()
    raw["vault"][key] = path

    [problem] = problems(raw)

    assert problem.startswith(f"coder-platform:vault.{key}: has a '.' or '..' segment")
    assert path not in problem


def test_a_dotted_name_that_is_not_a_dot_segment_is_a_valid_vault_path() -> None:
    raw = dev()
    raw["vault"]["cliTokenPath"] = "coder/cli.token/v1..2"

    assert load_config(raw).vault.cli_token_path == "coder/cli.token/v1..2"


@pytest.mark.parametrize(
    ("section", "key", "url"),
    [
        ("vault", "address", "http://vault.platform.dev.corp.internal:8200"),
        ("coder", "accessUrl", "http://coder.dev.corp.internal"),
        ("reconciler", "coderInternalUrl", "http://coder.coder.svc.cluster.local"),
        ("vault", "address", "http://127.0.0.1:8200"),  # not even to this machine
    ],
)
def test_a_cleartext_url_is_refused_by_key_in_a_managed_stack(
    section: str, key: str, url: str
) -> None:
    raw = dev()
    raw[section][key] = url

    [problem] = problems(raw)

    assert (
        problem
        == f"coder-platform:{section}.{key}: must be an https:// URL in dev/prod: it carries tokens"
    )


def local() -> dict[str, Any]:
    return copy.deepcopy(load_stack_file("local"))


def test_plain_http_to_this_machine_is_allowed_when_the_stack_is_not_managed() -> None:
    config = load_config(local())

    assert config.vault.address is not None and config.vault.address.scheme == "http"


def test_plain_http_to_another_host_is_refused_when_the_stack_is_not_managed() -> None:
    raw = local()
    raw["vault"]["address"] = "http://vault.example.internal:8200"

    [problem] = problems(raw)

    assert problem.startswith("coder-platform:vault.address: must be an https:// URL")
