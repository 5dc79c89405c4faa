"""AzureBackupStore: the off-cluster store that outlives any cluster or stack destroy.

Deleting an AKS cluster deletes its MC_* resource group with every disk, so the blob
backups are the real protection (contract C3). The resource group, account and container
are ``protect`` + ``retain_on_delete``: no ``pulumi destroy`` or cluster rebuild takes them.
Access is by workload identity only; shared keys are disabled (no storage keys anywhere).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, managedidentity, resources, storage

from coder_platform.contracts import PROJECT, ComponentType, service_account_user

# Built-in role "Storage Blob Data Contributor": read, write, list and delete blobs, which
# WAL archiving and retention need.
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"


@dataclass(frozen=True)
class AzureBackupStoreArgs:
    subscription_id: str
    location: str
    resource_group_name: str
    storage_account_name: str
    container_name: str
    oidc_issuer_url: str
    service_account_namespace: str
    service_account_name: str
    soft_delete_days: int = 30
    account_sku: str = "Standard_ZRS"


def federated_subject(namespace: str, service_account: str) -> str:
    """The token subject AKS issues for a pod running as this service account."""
    return service_account_user(namespace, service_account)


def blob_destination(account: str, container: str) -> str:
    return f"https://{account}.blob.core.windows.net/{container}"


def connection_string_destination(connection_string: str, account: str, container: str) -> str:
    """Where a connection string's backups go: its ``BlobEndpoint`` (an emulator such as
    Azurite, ``http://<host>:<port>/<account>``) plus the container, else Azure's URL.

    barman-cloud reads a URL outside ``*.blob.core.windows.net`` as emulated storage,
    ``<endpoint>/<account>/<container>``, and then connects with the connection string. Only the
    endpoint is taken from it (no key); it is not a secret.
    """
    fields = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
    endpoint = fields.get("BlobEndpoint")
    if endpoint:
        return f"{endpoint.rstrip('/')}/{container}"
    return blob_destination(fields.get("AccountName") or account, container)


class AzureBackupStore(pulumi.ComponentResource):
    """Storage account, container, identity, federated credential and role assignment."""

    resource_group: resources.ResourceGroup
    account: storage.StorageAccount
    blob_service: storage.BlobServiceProperties
    container: storage.BlobContainer
    identity: managedidentity.UserAssignedIdentity
    federated_credential: managedidentity.FederatedIdentityCredential
    role_assignment: authorization.RoleAssignment
    destination_path: pulumi.Output[str]
    client_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: AzureBackupStoreArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(ComponentType.BACKUP_STORE, name, None, opts)
        self._store(name, args)
        self._identity(name, args)
        self.destination_path = pulumi.Output.concat(
            "https://", self.account.name, ".blob.core.windows.net/", self.container.name
        )
        self.client_id = self.identity.client_id
        self.register_outputs(
            {"destination_path": self.destination_path, "client_id": self.client_id}
        )

    def _store(self, name: str, args: AzureBackupStoreArgs) -> None:
        """Resource group, account, blob service and container: what holds the backups."""
        child = pulumi.ResourceOptions(parent=self)
        keep = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        self.resource_group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags={"purpose": "coder-database-backups", "managed-by": PROJECT},
            opts=keep,
        )
        self.account = storage.StorageAccount(
            f"{name}-account",
            account_name=args.storage_account_name,
            resource_group_name=self.resource_group.name,
            location=args.location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=args.account_sku),
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            enable_https_traffic_only=True,
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            public_network_access=storage.PublicNetworkAccess.ENABLED,
            tags={"purpose": "coder-database-backups"},
            opts=keep,
        )
        self.blob_service = storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=self.account.name,
            resource_group_name=self.resource_group.name,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=args.soft_delete_days
            ),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=args.soft_delete_days
            ),
            opts=child,
        )
        # Barman Cloud 3.16+ does not create the container itself: it must exist first.
        self.container = storage.BlobContainer(
            f"{name}-container",
            container_name=args.container_name,
            account_name=self.account.name,
            resource_group_name=self.resource_group.name,
            public_access=storage.PublicAccess.NONE,
            opts=keep,
        )

    def _identity(self, name: str, args: AzureBackupStoreArgs) -> None:
        """The identity CNPG's pods use: federated to their service account, contributor on
        the backup container only (WAL archiving and retention write and delete blobs there).

        Scoped to the container (Azure RBAC scope
        ``<account id>/blobServices/default/containers/<name>``), not the account: a stolen
        database pod token then reaches these backups, not every container of the account."""
        child = pulumi.ResourceOptions(parent=self)
        self.identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=f"{args.service_account_name}-backup",
            resource_group_name=self.resource_group.name,
            location=args.location,
            opts=child,
        )
        self.federated_credential = managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            federated_identity_credential_resource_name=(
                f"{args.service_account_namespace}-{args.service_account_name}"
            ),
            resource_name_=self.identity.name,
            resource_group_name=self.resource_group.name,
            issuer=args.oidc_issuer_url,
            subject=federated_subject(args.service_account_namespace, args.service_account_name),
            audiences=[TOKEN_EXCHANGE_AUDIENCE],
            opts=child,
        )
        self.role_assignment = authorization.RoleAssignment(
            f"{name}-blob-contributor",
            principal_id=self.identity.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=(
                f"/subscriptions/{args.subscription_id}/providers/"
                f"Microsoft.Authorization/roleDefinitions/{STORAGE_BLOB_DATA_CONTRIBUTOR}"
            ),
            scope=pulumi.Output.concat(
                self.account.id, "/blobServices/default/containers/", self.container.name
            ),
            opts=child,
        )
