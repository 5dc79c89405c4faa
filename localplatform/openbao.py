"""OpenBao on loopback: a real server with file storage, initialised once and unsealed on start.

Not ``bao server -dev``: a dev server keeps everything in memory, so a restart would lose the
bootstrap inputs while Coder's database still holds the automation identity they describe.
Here the data survives restarts like a real Vault's (raft storage under the state dir). The
unseal key and the root token are written once to a 0600 file in the state dir and never
printed; ``VAULT_TOKEN`` for the runner is read from that file by the scripts.

With a node (``up --node``), OpenBao also listens on the node's address, as the API server and
Azurite do, so pods reach it (a pod's 127.0.0.1 is its own), and its OIDC issuer is named by
that address: Coder checks the ``iss`` of every ID token against the issuer URL it was given,
so a Coder on the host and one in a pod must be given the same URL, one both can reach.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from localplatform.daemon import Daemon, PartError, write_private
from localplatform.locations import openbao_address, openbao_issuer_base, openbao_token_file

KV_MOUNT = "platform"
# sys/init generates the keys and bootstraps raft with fsyncs: on two busy cores (the e2e tier
# beside other tiers) it has taken longer than the 10 s every other call gets.
INIT_TIMEOUT_SECONDS = 60
KUBERNETES_AUTH = "kubernetes"
OIDC_CLIENT = "coder"
# OpenBao's built-in identity OIDC provider (issuer <address>/v1/identity/oidc/provider/default).
OIDC_PROVIDER = "default"


@dataclass(frozen=True)
class OidcClient:
    """What Coder needs to trust OpenBao as its OIDC issuer (the secret stays in memory)."""

    issuer_url: str
    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"OidcClient(issuer_url={self.issuer_url!r}, client_id={self.client_id!r})"


@dataclass(frozen=True)
class LocalOpenBao:
    directory: Path
    bao: Path
    port: int
    # The node's address (``up --node``): a second listener there, and the OIDC issuer's host.
    node_address: str | None = None

    @property
    def daemon(self) -> Daemon:
        return Daemon("openbao", self.directory)

    @property
    def issuer_base(self) -> str:
        return openbao_issuer_base(self.port, self.node_address)

    @property
    def address(self) -> str:
        return openbao_address(self.port)

    @property
    def token_file(self) -> Path:
        return openbao_token_file(self.directory)

    @property
    def _init_file(self) -> Path:
        return self.directory / "init.json"

    def _config(self) -> Path:
        path = self.directory / "openbao.hcl"
        data = self.directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        # OpenBao 2.x has no "file" storage; single-node raft is its persistent local one.
        # Its cluster port (api port + 1) is bound on loopback only.
        node_listener = (
            f'listener "tcp" {{\n  address = "{self.node_address}:{self.port}"\n'
            "  tls_disable = true\n}\n"
            if self.node_address is not None
            else ""
        )
        path.write_text(
            f'storage "raft" {{\n  path = "{data}"\n  node_id = "local"\n}}\n'
            f'listener "tcp" {{\n  address = "127.0.0.1:{self.port}"\n'
            f'  cluster_address = "127.0.0.1:{self.port + 1}"\n  tls_disable = true\n}}\n'
            f"{node_listener}"
            f'api_addr = "{self.address}"\n'
            f'cluster_addr = "http://127.0.0.1:{self.port + 1}"\n'
            # The web UI serves the OIDC provider's authorize step (localplatform.sso).
            "ui = true\n"
        )
        return path

    def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: bool = True,
        timeout: float = 10,
    ) -> httpx.Response:
        headers = {"X-Vault-Token": self.root_token()} if token else {}
        return httpx.request(
            method, f"{self.address}/v1/{path}", json=body, headers=headers, timeout=timeout
        )

    def _ok(self, response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code >= 400:
            errors = response.json().get("errors", []) if response.content else []
            raise PartError(f"openbao: {what} failed ({response.status_code}): {errors}")
        return dict(response.json()) if response.content else {}

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One authenticated API call; a refusal raises PartError naming the path."""
        return self._ok(self._call(method, path, body), f"{method} {path}")

    @property
    def sso_logins_file(self) -> Path:
        """The seeded people's OpenBao logins (localplatform.sso), 0600, never printed."""
        return self.directory / "sso-logins.json"

    def serves_ui(self) -> bool:
        """False for a server started before its config turned the web UI on (it reads the
        config at start): the OIDC provider's authorize step is then a 404."""
        try:
            return httpx.get(f"{self.address}/ui/", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def healthy(self) -> bool:
        try:
            return self._call("GET", "sys/health", token=False).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self) -> None:
        if self.daemon.pid() is None:
            self.daemon.start(
                [str(self.bao), "server", f"-config={self._config()}"],
                # The server must not pick up a caller's VAULT_* client settings.
                env={k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))},
            )
        # Any answer from sys/health means it listens (501 uninitialised, 503 sealed).
        self.daemon.wait_until(
            lambda: self._call("GET", "sys/health", token=False).status_code < 600,
            "listening",
            60,
        )
        self._initialise_and_unseal()
        self.daemon.wait_until(self.healthy, "unsealed and active", 30)
        self._ensure_mounts()

    def _initialise_and_unseal(self) -> None:
        status = self._ok(self._call("GET", "sys/seal-status", token=False), "seal status")
        if not status.get("initialized"):
            if self._init_file.exists():
                raise PartError(
                    f"openbao: the server is uninitialised but {self._init_file} exists: its "
                    f"data dir was removed; delete {self.directory} to start afresh"
                )
            keys = self._ok(
                self._call(
                    "PUT",
                    "sys/init",
                    {"secret_shares": 1, "secret_threshold": 1},
                    token=False,
                    timeout=INIT_TIMEOUT_SECONDS,
                ),
                "init",
            )
            write_private(
                self._init_file,
                json.dumps(
                    {"unseal_key": keys["keys_base64"][0], "root_token": keys["root_token"]}
                ),
            )
            write_private(self.token_file, keys["root_token"])
            status = {"sealed": True}
        if status.get("sealed"):
            key = json.loads(self._init_file.read_text())["unseal_key"]
            self._ok(self._call("PUT", "sys/unseal", {"key": key}, token=False), "unseal")

    def root_token(self) -> str:
        try:
            return str(json.loads(self._init_file.read_text())["root_token"])
        except (OSError, ValueError, KeyError):
            raise PartError(f"openbao: no root token in {self._init_file}") from None

    def _ensure_mounts(self) -> None:
        """The KV v2 mount the inputs live in, and the Kubernetes auth backend the stack's
        reconciler role is created on (by the program, not here)."""
        mounts = self._ok(self._call("GET", "sys/mounts"), "list mounts")
        if f"{KV_MOUNT}/" not in mounts.get("data", mounts):
            self._ok(
                self._call(
                    "POST", f"sys/mounts/{KV_MOUNT}", {"type": "kv", "options": {"version": "2"}}
                ),
                f"mount {KV_MOUNT}",
            )
        auths = self._ok(self._call("GET", "sys/auth"), "list auth backends")
        if f"{KUBERNETES_AUTH}/" not in auths.get("data", auths):
            self._ok(
                self._call("POST", f"sys/auth/{KUBERNETES_AUTH}", {"type": "kubernetes"}),
                "enable kubernetes auth",
            )

    def read_kv(self, path: str, mount: str = KV_MOUNT) -> dict[str, str] | None:
        response = self._call("GET", f"{mount}/data/{path}")
        if response.status_code == 404:
            return None
        data = self._ok(response, f"read {mount}/{path}")["data"]["data"]
        return {str(k): str(v) for k, v in data.items()}

    def write_kv(self, path: str, data: dict[str, str], mount: str = KV_MOUNT) -> None:
        self._ok(
            self._call("POST", f"{mount}/data/{path}", {"data": data}), f"write {mount}/{path}"
        )

    def oidc_client(self, coder_url: str, *more_coder_urls: str) -> OidcClient:
        """OpenBao's identity OIDC provider as Coder's issuer: a client for Coder's callback,
        and each other Coder's that signs in with the same client (the node stack's chart,
        at its NodePort): OpenBao redirects only to a registered URI.

        Coder refuses OIDC users (400 "You must configure OIDC before creating OIDC users")
        until it has an issuer; this one lets the local stack seed people as OIDC users.
        """
        urls = dict.fromkeys((coder_url, *more_coder_urls))
        self._ok(
            self._call(
                "POST",
                f"identity/oidc/client/{OIDC_CLIENT}",
                {
                    "key": "default",
                    "redirect_uris": [f"{url}/api/v2/users/oidc/callback" for url in urls],
                    "assignments": ["allow_all"],
                },
            ),
            "create the OIDC client",
        )
        client = self._ok(self._call("GET", f"identity/oidc/client/{OIDC_CLIENT}"), "read client")
        issuer = self._provider_issuer()
        if not issuer.startswith(f"{self.issuer_base}/"):
            # Set both ways: an empty value cannot reset it, and a platform started later
            # without its node must not hand Coder an issuer nothing listens on.
            self._ok(
                self._call(
                    "POST", f"identity/oidc/provider/{OIDC_PROVIDER}", {"issuer": self.issuer_base}
                ),
                "set the OIDC provider's issuer",
            )
            issuer = self._provider_issuer()
        return OidcClient(
            issuer_url=issuer,
            client_id=str(client["data"]["client_id"]),
            client_secret=str(client["data"]["client_secret"]),
        )

    def _provider_issuer(self) -> str:
        provider = self._ok(
            self._call("GET", f"identity/oidc/provider/{OIDC_PROVIDER}"), "read OIDC provider"
        )
        return str(provider["data"]["issuer"])

    def stop(self) -> bool:
        return self.daemon.stop()
