"""AzureBackupStore: hardened account, soft delete, workload identity, and no destroy path."""

from __future__ import annotations

import pulumi

from components.backup_store import AzureBackupStore, AzureBackupStoreArgs
from testbed.harness import CapturedOptions, RecordingMocks, run_component

ARGS = AzureBackupStoreArgs(
    subscription_id="3f9c1a52-7d4e-4b8a-9e61-2c5d8f0b7a14",
    location="westeurope",
    resource_group_name="rg-coder-backups",
    storage_account_name="stcoderbackups",
    container_name="cnpg-backups",
    oidc_issuer_url="https://westeurope.oic.prod-aks.azure.com/t/c/",
    service_account_namespace="coder-db",
    service_account_name="coder-db",
    soft_delete_days=21,
)


def build() -> tuple[RecordingMocks, CapturedOptions]:
    capture = CapturedOptions()
    mocks = run_component(
        lambda: AzureBackupStore(
            "backups", ARGS, opts=pulumi.ResourceOptions(transformations=[capture])
        )
    )
    return mocks, capture


def test_account_forbids_keys_public_blobs_and_old_tls() -> None:
    mocks, _ = build()
    account = mocks.one("azure-native:storage:StorageAccount").inputs
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["allowBlobPublicAccess"] is False
    assert account["allowSharedKeyAccess"] is False
    assert account["enableHttpsTrafficOnly"] is True
    assert account["kind"] == "StorageV2"


def test_blobs_are_versioned_and_soft_deleted() -> None:
    mocks, _ = build()
    service = mocks.one("azure-native:storage:BlobServiceProperties").inputs
    assert service["isVersioningEnabled"] is True
    assert service["deleteRetentionPolicy"] == {"enabled": True, "days": 21}
    assert service["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 21}


def test_container_is_private() -> None:
    mocks, _ = build()
    container = mocks.one("azure-native:storage:BlobContainer").inputs
    assert container["publicAccess"] == "None"
    assert container["containerName"] == "cnpg-backups"


def test_federated_credential_trusts_the_cnpg_service_account() -> None:
    mocks, _ = build()
    fic = mocks.one("azure-native:managedidentity:FederatedIdentityCredential").inputs
    assert fic["subject"] == "system:serviceaccount:coder-db:coder-db"
    assert fic["issuer"] == ARGS.oidc_issuer_url
    assert fic["audiences"] == ["api://AzureADTokenExchange"]


def test_identity_gets_blob_data_contributor_on_the_backup_container_only() -> None:
    mocks, _ = build()
    role = mocks.one("azure-native:authorization:RoleAssignment").inputs
    assert role["roleDefinitionId"].endswith("/ba92f5b4-2d11-453d-a403-e96b0029c9fe")
    assert role["roleDefinitionId"].startswith(f"/subscriptions/{ARGS.subscription_id}/")
    assert role["scope"] == (
        "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/"
        "stcoderbackups/blobServices/default/containers/cnpg-backups"
    )
    assert role["principalType"] == "ServicePrincipal"
    identity_name = mocks.one("azure-native:managedidentity:UserAssignedIdentity").name
    assert role["principalId"]  # wired from the identity's principal id output
    assert identity_name == "backups-identity"


def test_store_survives_destroy() -> None:
    _, capture = build()
    for name in ("backups-rg", "backups-account", "backups-container"):
        opts = capture.opts(name)
        assert opts.protect is True, name
        assert opts.retain_on_delete is True, name


def test_nothing_in_the_store_carries_a_storage_key() -> None:
    mocks, _ = build()
    for resource in mocks.resources:
        text = repr(resource.inputs).lower()
        assert "accountkey" not in text and "connectionstring" not in text, resource.name
