"""The parts of the local platform, started in order and stopped in reverse.

kube (etcd, kube-apiserver, kube-controller-manager; ``localkube``) -> [node] -> postgres ->
openbao -> coder. The node (``localplatform.node``: containerd, kubelet, kube-proxy,
kube-scheduler, CoreDNS) is opt-in (``up --node``, root, ``scripts/install-node``): with it the
API server serves on the host's address so pods reach it. Once started with it, the platform
keeps it (a marker in its directory) until ``down``.

Coder needs its database, and OpenBao first so it can be Coder's OIDC issuer. Coder and
OpenBao listen on fixed loopback ports because the ``local`` stack's config names their URLs
(``coder.url``, ``vault.address``); each is checked free before it starts. The kube API server
and PostgreSQL take free ports: only the kubeconfig and Coder need to know them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from localplatform.binaries import ROOT, PlatformBinaries
from localplatform.coder import LocalCoder
from localplatform.daemon import PartError
from localplatform.inputs import seed_missing_inputs
from localplatform.license import LicenseSigner
from localplatform.node import LocalNode, default_node_ip
from localplatform.openbao import OIDC_PROVIDER, LocalOpenBao, OidcClient
from localplatform.postgres import LocalPostgres
from localplatform.sso import ensure_sso_logins, write_logins_file
from localplatform.stack import read_stack

DEFAULT_DIR = ROOT / ".localplatform"
KUBE_DIR = ROOT / ".localkube"  # where `python -m localkube` keeps it: the README's KUBECONFIG
CODER_PORT = 17080
OPENBAO_PORT = 18200
PARTS = ("kube", "postgres", "openbao", "coder")
NODE_PARTS = ("kube", "node", "postgres", "openbao", "coder")


def toolchain_env(root: Path = ROOT) -> dict[str, str]:
    """The environment with the Pulumi toolchain (etcd, kube-apiserver, ...) on PATH."""
    out = subprocess.run(
        [str(root / "scripts" / "install-toolchain"), "--print-env", "--no-python-host"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise PartError(f"kube: the toolchain is not built: {out.stderr.strip()}")
    env = dict(os.environ)
    for line in out.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = os.path.expandvars(value.strip().strip("'\""))
    return env


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the servers bind: a port in TIME_WAIT after a restart is free to them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class Endpoints:
    """Where each part answers; no secret (the token file is a path)."""

    coder_url: str
    vault_address: str
    vault_token_file: str
    kubeconfig: str
    postgres_port: int
    oidc_issuer: str | None


@dataclass(frozen=True)
class LocalPlatform:
    directory: Path = DEFAULT_DIR
    kube_dir: Path = KUBE_DIR
    coder_port: int = CODER_PORT
    openbao_port: int = OPENBAO_PORT
    node: bool = False  # `up --node`: also run a node (then remembered until `down`)

    @property
    def _node_marker(self) -> Path:
        return self.directory / "node" / "enabled"

    @property
    def with_node(self) -> bool:
        return self.node or self._node_marker.exists()

    @property
    def parts(self) -> tuple[str, ...]:
        return NODE_PARTS if self.with_node else PARTS

    @property
    def local_node(self) -> LocalNode:
        return LocalNode(self.directory / "node", self.kube_dir, self._node_ip())

    def _node_ip(self) -> str:
        """The address the running API server serves on for the node, else the host's."""
        try:
            state = json.loads((self.kube_dir / "state.json").read_text())
        except (OSError, ValueError):
            return default_node_ip()
        return str(state.get("node_ip") or default_node_ip())

    @property
    def binaries(self) -> PlatformBinaries:
        return PlatformBinaries.installed()

    @property
    def postgres(self) -> LocalPostgres:
        return LocalPostgres(self.directory / "postgres", self.binaries.postgres_bin)

    @property
    def openbao(self) -> LocalOpenBao:
        return LocalOpenBao(self.directory / "openbao", self.binaries.bao, self.openbao_port)

    @property
    def coder(self) -> LocalCoder:
        return LocalCoder(
            self.directory / "coder", self.binaries, self.coder_port, self.license_signer
        )

    @property
    def license_signer(self) -> LicenseSigner:
        """The key this platform signs its Coder license with (0600, never printed)."""
        return LicenseSigner(self.directory / "license" / "signing-key.pem")

    # --- kube: delegated to `python -m localkube`, which runs it under its own supervisor ----

    def _localkube(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = toolchain_env() if args[0] == "up" else dict(os.environ)
        return subprocess.run(
            [sys.executable, "-m", "localkube", *args, "--dir", str(self.kube_dir)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def kube_running(self) -> bool:
        return self._localkube("status").returncode == 0

    def start_kube(self) -> None:
        args = ("up", "--node-ip", default_node_ip()) if self.with_node else ("up",)
        out = self._localkube(*args)
        if out.returncode != 0:
            raise PartError(f"kube: {out.stderr.strip()[-2000:]}")

    # --- the parts --------------------------------------------------------------------------

    def running(self, part: str) -> bool:
        if part == "kube":
            return self.kube_running()
        if part == "node":
            return self.local_node.running()
        if part == "postgres":
            return self.postgres.daemon.pid() is not None
        if part == "openbao":
            return self.openbao.daemon.pid() is not None
        return self.coder.daemon.pid() is not None

    def start(self, part: str, stack_file: Path | None = None) -> None:
        """Start one part (its dependencies must run); a running part is left alone."""
        if part == "kube":
            self.start_kube()
        elif part == "node":
            self.local_node.start()
        elif part == "postgres":
            self.postgres.start()
        elif part == "openbao":
            self._check_port("openbao", self.openbao_port)
            self.openbao.start()
            if stack_file is not None:
                seed_missing_inputs(self.openbao, stack_file, self._oidc(), self.license_signer)
                self._ensure_sso_logins(stack_file)
        else:
            self._check_port("coder", self.coder_port)
            self.coder.start(self.postgres.coder_url(), self._oidc())
        self._write_endpoints()

    def _check_port(self, part: str, port: int) -> None:
        # OpenBao also binds its cluster port, the next one.
        ports = (port, port + 1) if part == "openbao" else (port,)
        taken = [p for p in ports if not port_is_free(p)]
        if taken and not self.running(part):
            raise PartError(
                f"{part}: 127.0.0.1:{taken[0]} is taken by another process; stop it, or start "
                f"the platform with --{part}-port and set the local stack's URL to match"
            )

    def _oidc(self) -> OidcClient | None:
        """OpenBao as Coder's OIDC issuer; None (password and none users only) if it refuses."""
        try:
            return self.openbao.oidc_client(self.coder.url)
        except PartError as error:
            print(f"localplatform: no OIDC for Coder ({error})", file=sys.stderr)
            return None

    def _ensure_sso_logins(self, stack_file: Path) -> None:
        """An OpenBao login per seeded OIDC user (localplatform.sso), copied to a 0600 file."""
        seeding = read_stack(stack_file).seeding
        logins = ensure_sso_logins(self.openbao, OIDC_PROVIDER, seeding.users if seeding else [])
        if logins:
            write_logins_file(self.openbao.sso_logins_file, logins, f"{self.coder.url}/login")
            if not self.openbao.serves_ui():
                print(
                    "localplatform: OpenBao runs without its web UI (started before it was "
                    "turned on), so nobody can sign in through it; run: python -m localplatform "
                    "restart openbao",
                    file=sys.stderr,
                )

    def up(self, stack_file: Path | None) -> Endpoints:
        if self.node:
            self._node_marker.parent.mkdir(parents=True, exist_ok=True)
            self._node_marker.touch()
        for part in self.parts:
            if not self.running(part):
                print(f"localplatform: starting {part} ...", file=sys.stderr)
            self.start(part, stack_file)
        return self.endpoints()

    def stop(self, part: str) -> bool:
        if part == "kube":
            return self.kube_running() and self._localkube("down").returncode == 0
        if part == "node":
            return self.local_node.stop()
        if part == "postgres":
            return self.postgres.stop()
        if part == "openbao":
            return self.openbao.stop()
        return self.coder.stop()

    def down(self) -> list[str]:
        # The node stops before the API server: it deletes its pods through it.
        parts = NODE_PARTS if self.with_node or self.local_node_dir_used() else PARTS
        stopped = [part for part in reversed(parts) if self.stop(part)]
        self._node_marker.unlink(missing_ok=True)
        return stopped

    def local_node_dir_used(self) -> bool:
        return (self.directory / "node" / "host-sysctls.json").exists()

    def reset_coder_database(self) -> None:
        """Stop Coder, drop and recreate its database, start it again: an empty Coder."""
        self.coder.stop()
        self.postgres.recreate_coder_database()
        self.start("coder")

    # --- where things are -------------------------------------------------------------------

    def endpoints(self) -> Endpoints:
        issuer = None
        if self.running("openbao"):
            issuer = f"{self.openbao.address}/v1/identity/oidc/provider/{OIDC_PROVIDER}"
        return Endpoints(
            coder_url=self.coder.url,
            vault_address=self.openbao.address,
            vault_token_file=str(self.openbao.token_file),
            kubeconfig=str(self.kube_dir / "kubeconfig"),
            postgres_port=self.postgres.port,
            oidc_issuer=issuer,
        )

    def _write_endpoints(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "endpoints.json").write_text(
            json.dumps(self.endpoints().__dict__, indent=2) + "\n"
        )
