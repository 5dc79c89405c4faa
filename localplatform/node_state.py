"""The node stack's state where both the host's runs and the reconciler's pod reach it: a
container in the node's Azurite, through Pulumi's DIY ``azblob://`` backend (dev and prod keep
their state in Azure Blob Storage the same way).

Not the host's embedded file backend (``.pulumi-state/``): a pod reaches it only through a
``hostPath`` volume, which no Pod Security level but privileged admits, owned by root while the
runner runs as uid 10001. Azurite already serves the database's backups to pods on the node's
address.

A stack opts in by giving its in-cluster reconciler an ``azblob://<container>`` backend and an
``envFromSecret``. The account, key and endpoint are per machine, so the stack file names only
the container; the rest reaches Pulumi's blob client (gocloud.dev ``blob/azureblob``, as the
pinned CLI 3.259.0 builds it) as environment, which it reads when the URL has no query:
``AZURE_STORAGE_ACCOUNT``/``AZURE_STORAGE_KEY`` (a shared-key credential), ``AZURE_STORAGE_DOMAIN``
with ``AZURE_STORAGE_IS_LOCAL_EMULATOR`` (``http://<domain>/<account>``, Azurite's path style) and
``AZURE_STORAGE_PROTOCOL``. The host gets it from ``up``'s exports (the key read from its 0600
file); the pod from a Secret ``up`` writes into the reconciler's namespace once the stack has
created it (the first reconcile). Both also get the passphrase the node stack's
``encryptionsalt`` pairs with: the runner's public, local-only one.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coder_platform.contracts import LOCAL_ONLY_PASSPHRASE, PROJECT
from localplatform import azurite
from localplatform.daemon import PartError

if TYPE_CHECKING:  # `up` on a running platform imports this module: no client, no schema.
    import httpx

    from coder_platform.config import PlatformConfig

AZBLOB = "azblob://"
PASSPHRASE_ENV = "PULUMI_CONFIG_PASSPHRASE"
KEY_ENV = "AZURE_STORAGE_KEY"


@dataclass(frozen=True)
class NodeState:
    """Where a stack's state lives on this node, and the Secret its reconciler reads it with."""

    backend_url: str
    container: str
    namespace: str
    secret_name: str

    @classmethod
    def of(cls, config: PlatformConfig) -> NodeState | None:
        """The stack's node state, or None when its state stays the runner's default."""
        reconciler = config.reconciler
        if reconciler is None or not reconciler.enabled or reconciler.env_from_secret is None:
            return None
        url = reconciler.backend_url or ""
        if not url.startswith(AZBLOB):
            return None
        container = url.removeprefix(AZBLOB)
        return cls(url, container, reconciler.namespace, reconciler.env_from_secret)

    def environment(self, node_ip: str, key: str) -> dict[str, str]:
        """What Pulumi needs to reach the container (the key is secret: never print it)."""
        return {
            "AZURE_STORAGE_ACCOUNT": azurite.ACCOUNT,
            KEY_ENV: key,
            "AZURE_STORAGE_DOMAIN": f"{node_ip}:{azurite.BLOB_PORT}",
            "AZURE_STORAGE_PROTOCOL": "http",
            "AZURE_STORAGE_IS_LOCAL_EMULATOR": "true",
            PASSPHRASE_ENV: LOCAL_ONLY_PASSPHRASE,
        }

    def host_environment(self, node_ip: str, key: str) -> dict[str, str]:
        """The host runner's: the same, and the backend (its default is the embedded one)."""
        return {"PULUMI_BACKEND_URL": self.backend_url, **self.environment(node_ip, key)}

    def ensure_stack(self, stack: str, environ: dict[str, str]) -> None:
        """Create the stack in the container once: the runner refuses a backend that lacks it
        (no silent create outside the embedded default). In a scratch project of the same
        name, so the stack file (its ``encryptionsalt``) is never rewritten."""
        with tempfile.TemporaryDirectory() as scratch:
            Path(scratch, "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\n")
            out = subprocess.run(
                ["pulumi", "stack", "init", stack, "--secrets-provider", "passphrase"],
                cwd=scratch,
                env={**environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        if out.returncode != 0 and "already exists" not in out.stderr:
            raise PartError(f"node: pulumi stack init {stack} in {self.backend_url}: {out.stderr}")

    def write_secret(self, client: httpx.Client, node_ip: str, key: str) -> bool:
        """The pod's Secret, when the stack has created its namespace; False until then."""
        from localplatform import kubeapply

        if client.get(f"/api/v1/namespaces/{self.namespace}").status_code == 404:
            return False
        secret: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": self.secret_name, "namespace": self.namespace},
            "type": "Opaque",
            "stringData": self.environment(node_ip, key),
        }
        kubeapply.apply(client, [secret])
        return True
