"""Pulumi mocks that record what a program registers, and helpers to run whole stacks.

Design note 10: mocks hide failures unless used carefully. Here ``set_mocks`` runs before the
program is executed, every run goes through ``@pulumi.runtime.test`` (which waits for all
registrations), previews are off, and an unexpected invoke fails the test loudly.
"""

from __future__ import annotations

import base64
import json
import runpy
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from coder_platform import contracts
from coder_platform.contracts import (
    ADMIN_EMAIL_KEY,
    ADMIN_USERNAME_KEY,
    CONNECTION_STRING_KEY,
    LICENSE_KEY,
    OIDC_CLIENT_ID_KEY,
    OIDC_CLIENT_SECRET_KEY,
    OIDC_ISSUER_URL_KEY,
    PASSWORD_KEY,
    PROJECT,
)
from coder_platform.specs.postgres_tls import CA_KEY, CA_SECRET_SUFFIX

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "__main__.py"

# Values no test may ever see in a rendered manifest, log or message.
FAKE_PASSWORD = "mock-Pw-9f3b2c71e8a64d05"
FAKE_OIDC_SECRET = "mock-oidc-Secret-4e1d7a93c0b2"
FAKE_ADMIN_PASSWORD = "mock-admin-Pw-62f0b8d1e7a5"
FAKE_TOKEN = "mock-token-Zq81-3f7c9e2a4b6d"
# A license-shaped JWT whose (unverified) claims grant template_rbac, as groups need.
FAKE_LICENSE = (
    "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9."
    "eyJsaWNlbnNlX2V4cGlyZXMiOjE3OTg3NjE2MDAsImZlYXR1cmVzIjp7InRlbXBsYXRlX3JiYWMiOjEsInNlcnZpY2VfYWNjb3VudHMiOjEsInVzZXJfbGltaXQiOjEwMH19"
    ".mock-signature-7f3a"
)
FAKE_USER_PASSWORD = "mock-user-Pw-0c4d9e1b7a22"
# An Azurite-shaped connection string (the node stack's backup credential); the key is a secret.
FAKE_STORE_KEY = "mock-store-Key-5b8e21c4d9f0"
FAKE_CONNECTION_STRING = (
    "DefaultEndpointsProtocol=http;AccountName=coderplatform;"
    f"AccountKey={FAKE_STORE_KEY};BlobEndpoint=http://10.1.2.3:10000/coderplatform;"
)
# The OIDC client's id and issuer as the local launcher writes them beside its secret (a loopback
# stack that leaves coder.oidc.clientId/issuerUrl unset reads them there); not secrets.
VAULT_OIDC_CLIENT_ID = "vault-oidc-client-id"
VAULT_OIDC_ISSUER_URL = "http://10.1.2.3:18200/v1/identity/oidc/provider/default"
# What CloudNativePG keeps in <cluster>-ca (key ca.crt), as the program reads it back.
FAKE_SERVER_CA = "-----BEGIN CERTIFICATE-----\nMIIBmockCA\n-----END CERTIFICATE-----\n"
SECRET_VALUES = (
    FAKE_PASSWORD,
    FAKE_OIDC_SECRET,
    FAKE_ADMIN_PASSWORD,
    FAKE_TOKEN,
    FAKE_LICENSE,
    FAKE_USER_PASSWORD,
    FAKE_STORE_KEY,
)


def vault_data(config: dict[str, Any] | None = None) -> dict[str, dict[str, str]]:
    """What a seeded Vault holds for a stack: ``mount/path -> keys``."""
    vault = (config or {}).get("vault", {})
    seeding = (config or {}).get("seeding", {})
    mount = vault.get("kvMount", "platform")
    seeded: dict[str, dict[str, str]] = {}
    if seeding.get("license"):
        seeded[f"{mount}/{seeding['license']['vaultPath']}"] = {LICENSE_KEY: FAKE_LICENSE}
    for user in seeding.get("users", []):
        if user.get("passwordPath"):
            seeded[f"{mount}/{user['passwordPath']}"] = {PASSWORD_KEY: FAKE_USER_PASSWORD}
    store_path = (config or {}).get("database", {}).get("backup", {}).get("connectionStringPath")
    if store_path:
        seeded[f"{mount}/{store_path}"] = {CONNECTION_STRING_KEY: FAKE_CONNECTION_STRING}
    return {
        **seeded,
        f"{mount}/{vault.get('oidcClientSecretPath', 'coder/oidc')}": {
            OIDC_CLIENT_SECRET_KEY: FAKE_OIDC_SECRET,
            OIDC_CLIENT_ID_KEY: VAULT_OIDC_CLIENT_ID,
            OIDC_ISSUER_URL_KEY: VAULT_OIDC_ISSUER_URL,
        },
        f"{mount}/{vault.get('bootstrapAdminPath', 'coder/bootstrap-admin')}": {
            ADMIN_EMAIL_KEY: "coder-automation@corp.internal",
            ADMIN_USERNAME_KEY: "coder-automation",
            PASSWORD_KEY: FAKE_ADMIN_PASSWORD,
        },
    }


@dataclass
class InMemoryKv:
    """A KV v2 double for ``coder_platform.vault_inputs.KvReader``; counts reads."""

    data: dict[str, dict[str, str]]
    reads: list[str] = field(default_factory=list)

    def read(self, mount: str, path: str) -> dict[str, str] | None:
        self.reads.append(f"{mount}/{path}")
        return self.data.get(f"{mount}/{path}")


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    secret_outputs: list[str] = field(default_factory=list)


class UnexpectedInvokeError(AssertionError):
    pass


class UnexpectedReadError(AssertionError):
    pass


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers like the real providers would for the outputs the program reads."""

    def __init__(self) -> None:
        self.resources: list[Registered] = []
        # (type, id) of every Resource.get: reads register nothing.
        self.reads: list[tuple[str, str]] = []
        self.stack_transforms: list[Any] = []
        # additional_secret_outputs by (type, name): the mock monitor sees them on the request
        # but does not hand them to new_resource (policies check them).
        self.secret_outputs: dict[tuple[str, str], list[str]] = {}

    def register_transform(self, transform: Any) -> None:
        """The mock monitor does not run stack transforms; this harness runs them like the
        engine does, on every resource registered after them."""
        self.stack_transforms.append(transform)

    def _transformed(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        props = dict(args.inputs)
        for transform in self.stack_transforms:
            result = transform(
                pulumi.ResourceTransformArgs(
                    bool(args.custom), args.typ, args.name, props, pulumi.ResourceOptions()
                )
            )
            if result is not None:
                props = dict(result.props)
        return props

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        if args.resource_id:  # a Resource.get (the mock monitor does not say custom for reads)
            self.reads.append((args.typ, args.resource_id))
            return args.resource_id, self._read(args.typ, args.resource_id)
        args.inputs = self._transformed(args)
        self.resources.append(
            Registered(
                args.typ,
                args.name,
                dict(args.inputs),
                bool(args.custom),
                self.secret_outputs.get((args.typ, args.name), []),
            )
        )
        if not args.custom:
            return None, {}
        state = dict(args.inputs)
        resource_id = f"{args.name}-id"
        guid = str(uuid.uuid5(uuid.NAMESPACE_URL, args.name))
        match args.typ:
            case "azure-native:resources:ResourceGroup":
                state["name"] = args.inputs["resourceGroupName"]
                resource_id = f"/subscriptions/sub/resourceGroups/{state['name']}"
            case "azure-native:storage:StorageAccount":
                state["name"] = args.inputs["accountName"]
                resource_id = (
                    "/subscriptions/sub/resourceGroups/rg/providers/"
                    f"Microsoft.Storage/storageAccounts/{state['name']}"
                )
            case "azure-native:storage:BlobContainer":
                state["name"] = args.inputs["containerName"]
            case "azure-native:managedidentity:UserAssignedIdentity":
                state.update(
                    name=args.inputs["resourceName"], clientId=guid, principalId=guid[::-1]
                )
            case contracts.GENERATED_PASSWORD_TYPE:
                state["result"] = FAKE_PASSWORD
            case contracts.CODER_FIRST_USER_TYPE:
                state["user_id"] = guid
            case contracts.CODER_API_TOKEN_TYPE:
                state.update(token=FAKE_TOKEN, key_id="mock-key", expires_at="2026-12-07T00:00:00Z")
        return resource_id, state

    def _read(self, typ: str, resource_id: str) -> dict[str, Any]:
        """A ``Resource.get``: the live object, as the provider would read it."""
        namespace, _, name = resource_id.partition("/")
        if typ == "kubernetes:core/v1:Secret" and name.endswith(CA_SECRET_SUFFIX):
            encoded = base64.b64encode(FAKE_SERVER_CA.encode()).decode()
            return {"metadata": {"name": name, "namespace": namespace}, "data": {CA_KEY: encoded}}
        raise UnexpectedReadError(f"the program read an unmocked object: {typ} {resource_id}")

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        raise UnexpectedInvokeError(f"the program made an unmocked invoke: {args.token}")

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str) -> Registered:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, found {[r.name for r in found]}"
        return found[0]

    def custom_resource(self, kind: str) -> Registered:
        """The single Kubernetes CustomResource of this kind (Cluster, ObjectStore, ...)."""
        found = [
            r
            for r in self.resources
            if r.type.startswith(("kubernetes:postgresql.cnpg.io", "kubernetes:barmancloud"))
            and r.type.endswith(f":{kind}")
        ]
        assert len(found) == 1, f"expected one {kind}, found {[r.name for r in found]}"
        return found[0]


@dataclass
class CapturedOptions:
    """Records each child's resource options through a parent ``transformations`` hook.

    Options never reach the mock monitor, but legacy transformations run in the SDK.
    """

    seen: dict[str, pulumi.ResourceOptions] = field(default_factory=dict)

    def __call__(
        self, args: pulumi.ResourceTransformationArgs
    ) -> pulumi.ResourceTransformationResult | None:
        self.seen[args.name] = args.opts
        return None

    def opts(self, name: str) -> pulumi.ResourceOptions:
        return self.seen[name]


def load_stack_file(stack: str) -> dict[str, Any]:
    """The ``coder-platform:*`` config of ``stacks/Pulumi.<stack>.yaml``, keys unprefixed."""
    document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    prefix = f"{PROJECT}:"
    return {
        key[len(prefix) :]: value
        for key, value in document["config"].items()
        if key.startswith(prefix)
    }


def as_pulumi_config(config: dict[str, Any]) -> dict[str, str]:
    """Encode like the CLI does: objects as JSON, scalars as strings."""
    encoded: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, dict | list):
            encoded[f"{PROJECT}:{key}"] = json.dumps(value)
        elif isinstance(value, bool):
            encoded[f"{PROJECT}:{key}"] = "true" if value else "false"
        else:
            encoded[f"{PROJECT}:{key}"] = str(value)
    return encoded


def run_program(
    config: dict[str, Any],
    stack: str = "test",
    vault: dict[str, dict[str, str]] | None = None,
    program: Path = PROGRAM,
) -> RecordingMocks:
    """Run ``__main__.py`` under mocks with this config; return what it registered.

    Vault reads go to an in-memory KV holding ``vault`` (default: a fully seeded Vault).
    """
    from coder_platform import vault_inputs

    kv = InMemoryKv(vault_data(config) if vault is None else vault)
    vault_inputs.reader_factory = lambda _config: kv
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    record_secret_outputs(mocks)
    pulumi.runtime.set_all_config(as_pulumi_config(config))

    @pulumi.runtime.test
    def execute() -> None:
        runpy.run_path(str(program), run_name="__pulumi_program__")

    execute()
    return mocks


def record_secret_outputs(mocks: RecordingMocks) -> None:
    """Let the mocks see each registration's additional_secret_outputs (on the request only)."""
    monitor = pulumi.runtime.settings.get_monitor()
    assert monitor is not None, "set_mocks first"
    register = monitor.RegisterResource

    def recording(request: Any) -> Any:
        mocks.secret_outputs[(request.type, request.name)] = list(request.additionalSecretOutputs)
        return register(request)

    monitor.RegisterResource = recording


def run_component(build: Any) -> RecordingMocks:
    """Construct components under fresh mocks and wait for every registration."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="test", preview=False)
    record_secret_outputs(mocks)
    pulumi.runtime.set_all_config({})

    @pulumi.runtime.test
    def execute() -> None:
        build()

    execute()
    return mocks


def is_secret(value: Any) -> bool:
    """True when a mocked input is a Pulumi secret (the engine will encrypt it in state)."""
    from pulumi.runtime import rpc

    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def reveal(value: Any) -> Any:
    """The plaintext inside a secret-wrapped mocked input."""
    assert is_secret(value), "expected a Pulumi secret"
    return value["value"]
