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

import hashlib
import json
import os
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from localkube.state import running_state
from localplatform.binaries import ROOT, PlatformBinaries
from localplatform.daemon import Daemon, PartError
from localplatform.locations import (
    coder_url,
    openbao_address,
    openbao_issuer_base,
    openbao_token_file,
    postgres_port,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from coder_platform.config import PlatformConfig
    from coder_platform.config.seeded_state import UserConfig
    from localplatform.coder import LocalCoder
    from localplatform.images.archive import ImageSpec
    from localplatform.license import LicenseSigner
    from localplatform.node import LocalNode
    from localplatform.node_state import NodeState
    from localplatform.openbao import LocalOpenBao, OidcClient
    from localplatform.postgres import LocalPostgres

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


def _answers(url: str, context: ssl.SSLContext | None = None) -> bool:
    """One GET answered 2xx within two seconds (no retry: ``up`` starts what does not answer).

    urllib, not httpx: no client and no CA bundle to load, so checking four parts stays cheap.
    """
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the servers bind: a port in TIME_WAIT after a restart is free to them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_openbao_port() -> int:
    """A free port whose successor is free too: OpenBao binds its cluster port there."""
    from localplatform.locations import free_port

    while not port_is_free((port := free_port()) + 1):
        pass
    return port


@dataclass(frozen=True)
class StackPaths:
    """Where a stack keeps the automation identity and its published token in OpenBao."""

    bootstrap_admin_path: str
    cli_token_path: str


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Endpoints:
    """Where each part answers; no secret (the token file is a path)."""

    coder_url: str
    vault_address: str
    vault_token_file: str
    kubeconfig: str
    postgres_port: int
    oidc_issuer: str | None
    # A node stack's state in Azurite (localplatform.node_state): the runner's environment
    # without the account key, which is read from its 0600 file like the Vault token.
    state_backend: dict[str, str] = field(default_factory=dict)
    state_key_file: str | None = None


@dataclass(frozen=True)
class LocalPlatform:
    directory: Path = DEFAULT_DIR
    kube_dir: Path = KUBE_DIR
    coder_port: int = CODER_PORT
    openbao_port: int = OPENBAO_PORT
    node: bool = False  # `up --node`: also run a node (then remembered until `down`)
    # Coder's OIDC user role field (site role sync with the license); "" is off. Only the e2e
    # tier's role-sync platform sets it: `up` never does.
    oidc_user_role_field: str = ""
    # The project the node's runner image is built from: a copy whose stack points at this
    # instance's ports, so the reconciler's pod reads the same stack as the host's runs.
    project_root: Path = ROOT

    @property
    def _node_marker(self) -> Path:
        return self.directory / "node" / "enabled"

    @property
    def with_node(self) -> bool:
        return self.node or self._node_marker.exists()

    @property
    def parts(self) -> tuple[str, ...]:
        return NODE_PARTS if self.with_node else PARTS

    # The parts are imported and built when used: ``up`` on a running platform needs none of
    # them (nor the binaries, which scripts/install-platform is asked for), only their health.

    @property
    def local_node(self) -> LocalNode:
        return self.local_node_for(None)

    def local_node_for(self, stack_file: Path | None) -> LocalNode:
        """The node; started for ``stack_file``, its runner image also carries the chart copy
        the stack installs Coder from, so an in-cluster reconcile finds it where the host's
        does (the copy is made first: the image is built as the node starts)."""
        from localplatform.node import LocalNode

        extras: tuple[tuple[str, Path], ...] = ()
        if stack_file is not None:
            from localplatform.stack import read_stack

            config = read_stack(stack_file)
            chart = self.prepare_coder_chart(stack_file, config)
            if chart is not None and config.coder is not None and config.coder.chart_path:
                extras = ((config.coder.chart_path, chart),)
        return LocalNode(
            self.directory / "node",
            self.kube_dir,
            self._node_ip(),
            platform_images=(self.coder_image,),
            project_root=self.project_root,
            runner_extras=extras,
        )

    def coder_image(self) -> ImageSpec:
        """This platform's Coder build as the chart's image (``images.catalog.coder``), trusting
        the platform's license key as the host's Coder does (its public half)."""
        from localplatform.coder import OFFLINE_ENVIRONMENT
        from localplatform.images.catalog import coder

        binaries = self.binaries
        if binaries.provider_mirror is None:
            raise PartError("coder image: scripts/install-platform named no provider_mirror")
        return coder(
            binaries.coder,
            binaries.terraform,
            binaries.provider_mirror,
            binaries.tf_cli_config_file,
            version=binaries.coder_version,
            env={**OFFLINE_ENVIRONMENT, **self.license_signer.coder_environment()},
        )

    def _node_ip(self) -> str:
        """The address the running API server serves on for the node, else the host's."""
        from localplatform.node import default_node_ip

        try:
            state = json.loads((self.kube_dir / "state.json").read_text())
        except (OSError, ValueError):
            return default_node_ip()
        return str(state.get("node_ip") or default_node_ip())

    @cached_property
    def binaries(self) -> PlatformBinaries:
        return PlatformBinaries.installed()

    @property
    def postgres(self) -> LocalPostgres:
        from localplatform.postgres import LocalPostgres

        return LocalPostgres(self.directory / "postgres", self.binaries.postgres_bin)

    @property
    def openbao(self) -> LocalOpenBao:
        from localplatform.openbao import LocalOpenBao

        return LocalOpenBao(
            self.directory / "openbao",
            self.binaries.bao,
            self.openbao_port,
            self._node_ip() if self.with_node else None,
        )

    @property
    def coder(self) -> LocalCoder:
        from localplatform.coder import LocalCoder

        return LocalCoder(
            self.directory / "coder",
            self.binaries,
            self.coder_port,
            self.license_signer,
            self.oidc_user_role_field,
        )

    @property
    def license_signer(self) -> LicenseSigner:
        """The key this platform signs its Coder license with (0600, never printed)."""
        from localplatform.license import LicenseSigner

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
        return running_state(self.kube_dir) is not None

    def _kube_answers(self) -> bool:
        """The API server's ``/livez`` answers over its CA (Kubernetes lets anyone read it:
        the ``system:public-info-viewer`` role), so no credential is read or sent."""
        if running_state(self.kube_dir) is None:
            return False
        try:
            config = yaml.safe_load((self.kube_dir / "kubeconfig").read_text())
            cluster = config["clusters"][0]["cluster"]
            context = ssl.create_default_context(cafile=cluster["certificate-authority"])
        except (OSError, ValueError, KeyError, IndexError, TypeError, ssl.SSLError):
            return False
        return _answers(f"{cluster['server']}/livez", context)

    def start_kube(self) -> None:
        from localplatform.node import default_node_ip

        args = ("up", "--node-ip", default_node_ip()) if self.with_node else ("up",)
        out = self._localkube(*args)
        if out.returncode != 0:
            raise PartError(f"kube: {out.stderr.strip()[-2000:]}")

    # --- the parts --------------------------------------------------------------------------

    def daemon(self, part: str) -> Daemon:
        """The part's process (postgres, openbao, coder), as each part names it in its dir."""
        return Daemon(part, self.directory / part)

    def running(self, part: str) -> bool:
        if part == "kube":
            return self.kube_running()
        if part == "node":
            return self.local_node.running()
        return self.daemon(part).pid() is not None

    def healthy(self, part: str) -> bool:
        """Running and answering, one quick try each, no wait and no restart: what ``up``
        checks before it starts anything, so ``up`` on a running platform answers at once.

        kube: ``/livez``; postgres: it accepts connections; OpenBao: ``sys/health`` is 200
        (initialised, unsealed, active); Coder: ``/healthz`` (Coder answers it without its
        database: the runner asks Coder for its database's health, ``up`` only for liveness).
        """
        if part == "kube":
            return self._kube_answers()
        if part == "node":
            return self.local_node.running()
        if not self.running(part):
            return False
        if part == "postgres":
            return _connects(postgres_port(self.directory / "postgres"))
        if part == "openbao":
            return _answers(f"{openbao_address(self.openbao_port)}/v1/sys/health")
        return _answers(f"{coder_url(self.coder_port)}/healthz")

    def start(self, part: str, stack_file: Path | None = None) -> None:
        """Start one part (its dependencies must run); a running part is left alone."""
        if part == "kube":
            self.start_kube()
        elif part == "node":
            self.local_node_for(stack_file).start()
        elif part == "postgres":
            self.postgres.start()
        elif part == "openbao":
            self._check_port("openbao", self.openbao_port)
            self.openbao.start()
            if stack_file is not None:
                self.seed_inputs(stack_file)
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

    def _oidc(self, deployed_coder_url: str | None = None) -> OidcClient | None:
        """OpenBao as Coder's OIDC issuer; None (password and none users only) if it refuses.
        Its client redirects to the host Coder and to the Coder the seeded stack deploys (given,
        else recorded at seeding), so a restart of the host Coder keeps the chart's callback."""
        deployed = deployed_coder_url or self._stamp().get("coder_url")
        try:
            if isinstance(deployed, str):
                return self.openbao.oidc_client(self.coder.url, deployed)
            return self.openbao.oidc_client(self.coder.url)
        except PartError as error:
            print(f"localplatform: no OIDC for Coder ({error})", file=sys.stderr)
            return None

    @property
    def _inputs_stamp(self) -> Path:
        return self.directory / "openbao" / "inputs-seeded"

    def seed_inputs(self, stack_file: Path) -> None:
        """The stack's missing OpenBao inputs, written with generated values. The stack file's
        hash and the two paths the summary names are recorded, so a later ``up`` or summary on
        the same stack reads neither OpenBao nor the stack's config schema again."""
        from localplatform.inputs import seed_missing_inputs
        from localplatform.stack import read_stack

        store = self.local_node.backup_store_connection_string if self.with_node else None
        config = read_stack(stack_file)
        deployed = config.coder.seed_url if config.coder and config.deploys_coder else None
        client = self._oidc(deployed)
        seed_missing_inputs(self.openbao, stack_file, client, self.license_signer, store)
        oidc_path = config.vault.oidc_client_secret_path
        self._refresh_oidc_record(oidc_path, client)
        self._ensure_sso_logins(config.seeding.users if config.seeding else [])
        vault = config.vault
        paths = StackPaths(vault.bootstrap_admin_path, vault.cli_token_path)
        chart = self.prepare_coder_chart(stack_file, config)
        if chart is not None:
            self._check_coder_oidc(stack_file, config, client)
        record = {
            "stack_sha256": _file_hash(stack_file),
            "paths": asdict(paths),
            "coder_chart": str(chart) if chart is not None else None,
            "oidc_path": oidc_path,
            "oidc_issuer": client.issuer_url if client is not None else None,
            "coder_url": deployed,
        }
        self._inputs_stamp.write_text(json.dumps(record) + "\n")

    def prepare_coder_chart(self, stack_file: Path, config: PlatformConfig) -> Path | None:
        """Coder's chart where the stack's ``coder.chartPath`` names it (relative to the project
        the stack file is in), copied from the module this platform's Coder is built from
        (``localplatform.coder_chart``); None when the stack installs no local chart."""
        coder = config.coder
        if coder is None or not config.deploys_coder or coder.chart_path is None:
            return None
        version = self.binaries.coder_version
        if coder.chart_version != version:
            raise PartError(
                f"{stack_file.name}: coder.chartVersion is {coder.chart_version}, but "
                f"coder.chartPath is copied from the Coder module this platform runs, "
                f"{version}: set coder.chartVersion: {version}"
            )
        from localplatform.coder_chart import coder_module_dir, prepare_chart

        destination = stack_file.resolve().parents[1] / coder.chart_path
        return prepare_chart(coder_module_dir(version), version, destination)

    def _refresh_oidc_record(self, path: str, client: OidcClient | None) -> None:
        """The OIDC record in OpenBao made to match OpenBao's client (``inputs.
        refresh_oidc_record``); the keys rewritten are named, never their values."""
        if client is None:
            return
        from localplatform.inputs import refresh_oidc_record

        stale = refresh_oidc_record(self.openbao, path, client)
        if stale:
            print(
                f"localplatform: {path}: {', '.join(stale)} updated to this OpenBao's OIDC client",
                file=sys.stderr,
            )

    def _stamp(self) -> dict[str, object]:
        try:
            record = json.loads(self._inputs_stamp.read_text())
        except (OSError, ValueError):
            return {}
        return record if isinstance(record, dict) else {}

    def refresh_oidc(self, stack_file: Path) -> None:
        """On an ``up`` of an already seeded stack, the OIDC record brought up to date when the
        issuer this platform now names (``endpoints``: the node's address with a node, else
        loopback) is not the one recorded at seeding: a node address that changed, a node
        added or dropped, or an instance seeded before the record held ``issuer_url``. Only then
        is OpenBao asked, so ``up`` on an unchanged platform stays a few local checks."""
        stamp = self._stamp()
        issuer = self.endpoints().oidc_issuer
        if issuer is None or stamp.get("oidc_issuer") == issuer:
            return
        path = stamp.get("oidc_path")
        if not isinstance(path, str):  # seeded before the stamp named it
            from localplatform.stack import read_stack

            path = read_stack(stack_file).vault.oidc_client_secret_path
        client = self._oidc(self.stack_coder_url(stack_file))
        self._refresh_oidc_record(path, client)
        if client is not None:
            stamp |= {"oidc_path": path, "oidc_issuer": client.issuer_url}
            self._inputs_stamp.write_text(json.dumps(stamp) + "\n")

    def _check_coder_oidc(
        self, stack_file: Path, config: PlatformConfig, client: OidcClient | None
    ) -> None:
        """The chart's Coder starts only if it reaches its OIDC issuer, and signs people in only
        with OpenBao's client id: both are this platform's (the issuer is named by the node's
        address, the id chosen by OpenBao). A stack that leaves them unset reads them from
        OpenBao (kept current above); one naming others is told what to set."""
        oidc = config.coder.oidc if config.coder is not None else None
        if oidc is None or client is None:
            return
        wanted = {"issuerUrl": client.issuer_url, "clientId": client.client_id}
        have = {"issuerUrl": oidc.issuer_url, "clientId": oidc.client_id}
        wrong = [
            f"coder.oidc.{key}: {value}"
            for key, value in wanted.items()
            if have[key] is not None and str(have[key]) != value
        ]
        if wrong:
            print(
                f"localplatform: {stack_file.name} deploys Coder on the node, which must trust "
                f"this platform's OpenBao; set {'; '.join(wrong)} (or leave both unset: the "
                "program then reads them from OpenBao)",
                file=sys.stderr,
            )

    def _recorded_chart_missing(self) -> bool:
        """The chart recorded at seeding was removed since (``up`` prepares it again)."""
        try:
            chart = json.loads(self._inputs_stamp.read_text()).get("coder_chart")
        except (OSError, ValueError, AttributeError):
            return False
        return bool(chart) and not (Path(chart) / "Chart.yaml").is_file()

    def _seeded_paths(self, stack_file: Path) -> StackPaths | None:
        """What ``seed_inputs`` recorded for this very stack file, else None."""
        try:
            record = json.loads(self._inputs_stamp.read_text())
            if record["stack_sha256"] != _file_hash(stack_file):
                return None
            return StackPaths(**record["paths"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _inputs_seeded(self, stack_file: Path) -> bool:
        return self._seeded_paths(stack_file) is not None

    def stack_coder_url(self, stack_file: Path) -> str:
        """Where the stack's Coder answers: the access URL of a Coder it deploys (the node
        stack's chart, at the node's NodePort), else this platform's host Coder. Recorded at
        seeding; read from the stack's config when it changed since."""
        record = self._stamp()
        if record.get("stack_sha256") == _file_hash(stack_file) and "coder_url" in record:
            url = record["coder_url"]
        else:
            from localplatform.stack import read_stack

            config = read_stack(stack_file)
            deployed = config.coder is not None and config.deploys_coder
            url = config.coder.seed_url if deployed and config.coder is not None else None
        return url if isinstance(url, str) else self.coder.url

    def stack_paths(self, stack_file: Path) -> StackPaths:
        """The stack's OpenBao paths of the automation identity and its published token: as
        recorded at seeding, or read from the stack's config when it changed since."""
        recorded = self._seeded_paths(stack_file)
        if recorded is not None:
            return recorded
        from localplatform.stack import read_stack

        vault = read_stack(stack_file).vault
        return StackPaths(vault.bootstrap_admin_path, vault.cli_token_path)

    def _ensure_sso_logins(self, users: Sequence[UserConfig]) -> None:
        """An OpenBao login per seeded OIDC user (localplatform.sso), copied to a 0600 file."""
        from localplatform.openbao import OIDC_PROVIDER
        from localplatform.sso import ensure_sso_logins, write_logins_file

        logins = ensure_sso_logins(self.openbao, OIDC_PROVIDER, users)
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
        """Start each part that does not answer (in order), then seed the stack's inputs if
        this stack file has not been seeded here; with everything healthy, a few checks only."""
        if self.node:
            self._node_marker.parent.mkdir(parents=True, exist_ok=True)
            self._node_marker.touch()
        started = False
        for part in self.parts:
            if self.healthy(part):
                continue
            print(f"localplatform: starting {part} ...", file=sys.stderr)
            self.start(part, stack_file)
            started = True
        seeded = stack_file is not None and not self._inputs_seeded(stack_file)
        if stack_file is not None and seeded:
            self.seed_inputs(stack_file)
        elif stack_file is not None:
            self.refresh_oidc(stack_file)
            if self._recorded_chart_missing():
                from localplatform.stack import read_stack

                self.prepare_coder_chart(stack_file, read_stack(stack_file))
        if stack_file is not None and self.with_node and (started or seeded):
            self.configure_reconciler_login(stack_file)
            self.prepare_node_state(stack_file)
        if self.with_node:
            self.write_node_state_secret()
        return self.endpoints()

    @property
    def _node_state_file(self) -> Path:
        return self.directory / "node-state.json"

    def prepare_node_state(self, stack_file: Path) -> None:
        """The stack's state container in the node's Azurite, when its reconciler keeps its
        state there (``localplatform.node_state``), recorded for the exports and the Secret."""
        from localplatform import azurite
        from localplatform.node_state import NodeState
        from localplatform.stack import read_stack

        state = NodeState.of(read_stack(stack_file))
        if state is None:
            self._node_state_file.unlink(missing_ok=True)
            return
        node = self.local_node
        key = azurite.account_key(node.directory)
        azurite.create_container(node.binaries["barman_venv"], node.node_ip, key, state.container)
        stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
        state.ensure_stack(stack, {**toolchain_env(), **state.host_environment(node.node_ip, key)})
        self._node_state_file.write_text(json.dumps(asdict(state)) + "\n")

    def node_state(self) -> NodeState | None:
        from localplatform.node_state import NodeState

        try:
            return NodeState(**json.loads(self._node_state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def write_node_state_secret(self) -> None:
        """The reconciler pod's Secret (the state's account and passphrase), once the stack
        has created the reconciler's namespace; written on every ``up`` until then."""
        from localplatform import azurite
        from localplatform.kubeapply import ApplyError
        from localplatform.node import kube_client

        state = self.node_state()
        if state is None:
            return
        node = self.local_node
        key = azurite.account_key(node.directory)
        try:
            with kube_client(self.kube_dir / "kubeconfig") as client:
                state.write_secret(client, node.node_ip, key)
        except ApplyError as error:
            raise PartError(f"node: the reconciler's state Secret: {error}") from None

    def configure_reconciler_login(self, stack_file: Path) -> None:
        """OpenBao's Kubernetes auth against the node's API server, with the stack's
        reconciler role (``localplatform.openbao_kubernetes``): made again whenever ``up``
        (re)starts a part, since a new API server or a new OpenBao forgets it."""
        from localplatform import openbao_kubernetes as login
        from localplatform.kubeapply import ApplyError
        from localplatform.node import kube_client
        from localplatform.stack import read_stack
        from localplatform.token_request import TokenRequestError

        kubeconfig = self.kube_dir / "kubeconfig"
        try:
            with kube_client(kubeconfig) as client:
                reviewer_jwt = login.reviewer_token(client)
        except (ApplyError, TokenRequestError) as error:
            raise PartError(f"openbao: kubernetes auth for the reconciler: {error}") from None
        login.configure(
            self.openbao,
            login.ApiServer.from_kubeconfig(kubeconfig),
            reviewer_jwt,
            login.ReconcilerLogin.of(read_stack(stack_file)),
        )

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
        address = openbao_address(self.openbao_port)
        issuer = None
        if self.running("openbao"):
            from localplatform.openbao import OIDC_PROVIDER

            node_address = self._node_ip() if self.with_node else None
            base = openbao_issuer_base(self.openbao_port, node_address)
            issuer = f"{base}/v1/identity/oidc/provider/{OIDC_PROVIDER}"
        return Endpoints(
            coder_url=coder_url(self.coder_port),
            vault_address=address,
            vault_token_file=str(openbao_token_file(self.directory / "openbao")),
            kubeconfig=str(self.kube_dir / "kubeconfig"),
            postgres_port=postgres_port(self.directory / "postgres"),
            oidc_issuer=issuer,
            **self._state_endpoints(),
        )

    def _state_endpoints(self) -> dict[str, Any]:
        state = self.node_state() if self.with_node else None
        if state is None:
            return {}
        from localplatform.node_state import KEY_ENV

        node_dir = self.local_node.directory
        env = state.host_environment(self._node_ip(), "")
        env.pop(KEY_ENV)
        return {"state_backend": env, "state_key_file": str(node_dir / "azurite-account-key")}

    def _write_endpoints(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "endpoints.json").write_text(
            json.dumps(self.endpoints().__dict__, indent=2) + "\n"
        )
