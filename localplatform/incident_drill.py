"""The incident drill: do to the database what the incident did, recover it the way the
runbook says, and measure RTO and RPO.

On a platform instance of its own with a node (its own directories and ports, a copy of the
project so the stack edit the recovery makes never touches the checkout), it deploys the stack
with one ``reconcile`` (the CNPG database and Coder from its chart on it, seeded) and waits for
WAL archiving and a completed base backup; puts Coder in use (a workspace built from a seeded
template) and reads Coder's data through its API (template and active version ids, users,
workspaces and their build ids); writes marker rows with their write times (some inside an
archived WAL segment, some after it); deletes the database's namespace (``kubectl delete
namespace``: the incident); shows the volume kept by the Retain class; then follows
docs/runbook.md "A lost cluster" word for word: wait for the namespace to be gone, set
``database.recovery.enabled: true`` and bump ``database.generation`` in the stack file, one
``reconcile``. Coder must then answer with the same ids (its data restored, not re-seeded: the
run made no reset state edit), and a last ``reconcile`` must change nothing and write nothing to
Coder.

RTO is the namespace delete to Coder answering with its data; RPO the write time of the newest
marker row that did not come back minus that of the newest that did (0 when all did). The
promise checked is the server's ``archive_timeout``. Refused on any stack but a loopback
(``local`` environment) stack on the local node's provisioner that deploys Coder: it deletes a
database on purpose.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from coder_platform.config import PlatformConfig
from coder_platform.contracts import (
    CODER_URL_ENV,
    LOCAL_PATH_PROVISIONER,
    PROJECT,
    PUBLISHED_TOKEN_KEY,
    ExitCode,
)
from localplatform.binaries import ROOT, PlatformBinaries
from localplatform.cnpg_probe import CnpgProbe
from localplatform.coder_data import CoderData, build_workspace, coder_api, read_coder_data
from localplatform.daemon import PartError
from localplatform.locations import free_port
from localplatform.node import kube_client
from localplatform.platform import LocalPlatform, free_openbao_port, toolchain_env
from localplatform.polling import WaitTimeoutError, wait_for
from localplatform.project_copy import (
    WITH_LOCAL_TEMPLATES,
    copy_files,
    edit_stack_config,
    point_stack_at,
)
from localplatform.runner import runner_reconcile
from localplatform.stack import read_stack

MARKERS = "incident_markers"
ARCHIVED_MARKERS = (1, 2, 3)  # written, then their WAL segment archived
LATE_MARKERS = (4, 5, 6)  # written after it: what a crash (not a delete) could lose
WORKSPACE = "incident-drill"


class IncidentDrillRefusedError(RuntimeError):
    """The drill would delete a database it must not touch, or cannot run here; says why."""


def refuse_unless_loopback(stack_file: Path) -> PlatformConfig:
    """The stack's config, if the drill may delete its database on this machine."""
    try:
        config = read_stack(stack_file)
    except PartError as error:
        raise IncidentDrillRefusedError(str(error)) from None
    name = stack_file.name
    if config.environment != "local":
        raise IncidentDrillRefusedError(
            f"{name}: environment is {config.environment!r}; the incident drill deletes the "
            "database's namespace and runs only on loopback (environment: local) stacks"
        )
    if config.storage.provisioner != LOCAL_PATH_PROVISIONER:
        raise IncidentDrillRefusedError(
            f"{name}: storage.provisioner is {config.storage.provisioner!r}; the drill runs "
            f"the database on the local node ({LOCAL_PATH_PROVISIONER}), e.g. --stack node"
        )
    if config.database_section is None or config.database_section.backup is None:
        raise IncidentDrillRefusedError(
            f"{name}: database.backup is not set; there is nothing to recover from"
        )
    if config.coder is None or not config.coder.deploy:
        raise IncidentDrillRefusedError(
            f"{name}: coder.deploy is not true; the drill restores Coder's own data, so Coder "
            "must run on the stack's database"
        )
    if os.geteuid() != 0:
        raise IncidentDrillRefusedError("the node needs root (containerd, kubelet): use sudo")
    return config


@dataclass
class Incident:
    """What the drill wrote and when: marker number -> write time (epoch seconds), Coder's data
    as its API showed it, the Retain volume, and when the namespace delete was requested."""

    markers: dict[int, float]
    coder: CoderData
    archive_timeout_seconds: int
    volume: str
    deleted_at: float
    gone_at: float | None = None  # the namespace answered NotFound (runbook step 2's wait)


@dataclass
class IncidentDrillResult:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append((name, ok, detail))
        return ok


def measure(
    incident: Incident, back: set[int], database_at: float, coder_at: float
) -> dict[str, Any]:
    """RTO (to Coder answering with its data) and RPO from what came back; RPO 0 when every
    row did."""
    lost = set(incident.markers) - back
    newest_back = max((incident.markers[n] for n in back), default=min(incident.markers.values()))
    rpo = max(incident.markers[n] for n in lost) - newest_back if lost else 0.0
    gone_at = incident.gone_at or incident.deleted_at
    return {
        "rto_seconds": round(coder_at - incident.deleted_at, 1),
        "namespace_gone_seconds": round(gone_at - incident.deleted_at, 1),
        "database_back_seconds": round(database_at - incident.deleted_at, 1),
        "rpo_seconds": round(rpo, 1),
        "markers_back": sorted(back),
        "markers_lost": sorted(lost),
        "archive_timeout_seconds": incident.archive_timeout_seconds,
    }


def follow_runbook(stack_file: Path, generation: int) -> int:
    """docs/runbook.md "A lost cluster", step 3: recovery on, the generation bumped. Returns the
    new generation."""

    def recover(config: dict[str, Any]) -> None:
        database = config[f"{PROJECT}:database"]
        database["generation"] = generation + 1
        database["recovery"] = {"enabled": True}

    edit_stack_config(stack_file, recover)
    return generation + 1


@dataclass
class IncidentDrill:
    """One run of the drill on an instance of its own under ``base``."""

    base: Path
    stack: str
    say: Callable[[str], None]
    result: IncidentDrillResult = field(default_factory=IncidentDrillResult)

    def __post_init__(self) -> None:
        self.work_dir = self.base / "project"
        self.stack_file = self.work_dir / "stacks" / f"Pulumi.{self.stack}.yaml"
        self.platform = LocalPlatform(
            self.base / "platform",
            self.base / "kube",
            coder_port=free_port(),
            openbao_port=free_openbao_port(),
            node=True,
        )
        self.env: dict[str, str] = {}

    @property
    def config(self) -> PlatformConfig:
        return read_stack(self.stack_file)

    def client(self) -> httpx.Client:
        return kube_client(self.platform.kube_dir / "kubeconfig")

    def probe(self, client: httpx.Client) -> CnpgProbe:
        database = self.config.database
        assert database is not None  # refuse_unless_loopback
        return CnpgProbe(
            client,
            self.config.namespaces.database,
            database.cluster_name,
            PlatformBinaries.installed().postgres_bin / "psql",
        )

    def start(self) -> None:
        """The project copy, its stack pointed at this instance, and the instance up."""
        copy_files(self.work_dir, WITH_LOCAL_TEMPLATES)
        refuse_unless_loopback(self.stack_file)
        point_stack_at(self.stack_file, self.platform.coder.url, self.platform.openbao.address)
        env = toolchain_env()
        os.environ["PATH"] = env["PATH"]
        self.say(f"starting a platform with a node under {self.base} (minutes) ...")
        endpoints = self.platform.up(self.stack_file)
        token = self.platform.openbao.root_token()
        env |= {"KUBECONFIG": endpoints.kubeconfig, "VAULT_TOKEN": token}
        env.pop(CODER_URL_ENV, None)
        self.env = env

    def reconcile(self, name: str, want: ExitCode) -> dict[str, Any] | None:
        """One run; its report when it exited ``want``, else None (the check says why)."""
        self.say(f"reconcile ({name}) ...")
        code, report = runner_reconcile(self.stack, self.work_dir, self.env)
        detail = f"exit {code}" + (f": {report['error']}" if report.get("error") else "")
        return report if self.result.check(f"reconcile: {name}", code == want, detail) else None

    def coder(self) -> httpx.Client:
        """Coder's API as the automation identity, with the token the stack published."""
        config = self.config
        assert config.coder is not None  # refuse_unless_loopback
        published = self.platform.openbao.read_kv(
            config.vault.cli_token_path, mount=config.vault.kv_mount
        )
        token = (published or {}).get(PUBLISHED_TOKEN_KEY)
        if not token:
            raise PartError(f"no token published at {config.vault.cli_token_path}")
        return coder_api(config.coder.seed_url, token)

    def run(self) -> IncidentDrillResult:
        self.start()
        config = self.config
        assert config.database is not None
        if self.reconcile("deploy", ExitCode.HEALED) is None:
            return self.result
        with self.client() as client:
            self.wait_backed_up(client)
            coder = self.put_coder_in_use()
            incident = self.incident(client, coder)
            self.volume_kept(client, incident)
            generation = follow_runbook(self.stack_file, config.database.generation)
            self.say(f"runbook: generation {generation}, recovery from the archive")
            recover = self.reconcile("recover", ExitCode.HEALED)
            if recover is None:
                return self.result
            phases = ", ".join(p["name"] for p in recover.get("phases", []))
            reseeded = recover.get("state_edit") is not None
            self.result.check(
                "not re-seeded",
                not reseeded,
                (
                    "the run removed the seed from state and re-created it"
                    if reseeded
                    else "no reset state edit"
                )
                + f" (phases: {phases})",
            )
            self.recovered(client, incident, generation)
        converged = self.reconcile("converged", ExitCode.OK)
        if converged is not None:
            writes = sum(int(w.get("requests", 0)) for w in converged.get("coder_writes", []))
            self.result.check("zero Coder writes", writes == 0, f"{writes} write requests")
        return self.result

    def put_coder_in_use(self) -> CoderData:
        """A workspace built from a seeded template, then Coder's data as its API shows it."""
        with self.coder() as api:
            data = read_coder_data(api)
            template = sorted(data.templates)[0]
            self.say(f"building workspace {WORKSPACE} from template {template} ...")
            status = build_workspace(api, data.templates[template][0], WORKSPACE, 300)
            data = read_coder_data(api)
        detail = f"build {status}; {data.summary()}"
        self.result.check("Coder in use", status == "succeeded", detail)
        return data

    def wait_backed_up(self, client: httpx.Client) -> None:
        database = self.config.database
        assert database is not None
        base = f"/apis/postgresql.cnpg.io/v1/namespaces/{self.config.namespaces.database}"

        def status() -> dict[str, Any]:
            answer = client.get(f"{base}/clusters/{database.cluster_name}").json()
            found: dict[str, Any] = answer.get("status", {})
            return found

        def archiving() -> bool:
            conditions = status().get("conditions") or []
            return any(
                c["type"] == "ContinuousArchiving" and c["status"] == "True" for c in conditions
            )

        def completed() -> list[str]:
            items = client.get(f"{base}/backups").json().get("items", [])
            done = [b for b in items if b.get("status", {}).get("phase") == "completed"]
            return [b["metadata"]["name"] for b in done]

        self.say("waiting for the cluster, WAL archiving and a base backup ...")
        wait_for(lambda: status().get("phase") == "Cluster in healthy state", "healthy", 300)
        wait_for(archiving, "WAL archiving (ContinuousArchiving True)", 300)
        backups = wait_for(completed, "a completed base backup", 300)
        self.result.check("backed up", True, f"WAL archiving, base backup {backups[0]}")

    def incident(self, client: httpx.Client, coder: CoderData) -> Incident:
        """Rows written, their WAL archived, more rows written; then the namespace deleted."""
        probe = self.probe(client)
        probe.must(
            f"CREATE TABLE IF NOT EXISTS {MARKERS} "
            "(n int PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        timeout = probe.must("SELECT setting FROM pg_settings WHERE name = 'archive_timeout'")
        for n in ARCHIVED_MARKERS:
            probe.must(f"INSERT INTO {MARKERS} (n) VALUES ({n})")
            time.sleep(1)
        probe.archive_current_wal()
        for n in LATE_MARKERS:
            probe.must(f"INSERT INTO {MARKERS} (n) VALUES ({n})")
            time.sleep(1)
        rows = probe.must(f"SELECT n, extract(epoch FROM written_at) FROM {MARKERS}")
        markers = {int(n): float(t) for n, t in (line.split("|") for line in rows.split())}
        namespace = self.config.namespaces.database
        database = self.config.database
        assert database is not None
        pvc = client.get(
            f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{database.cluster_name}-1"
        ).json()
        self.say(f"the incident: kubectl delete namespace {namespace}")
        deleted_at = time.time()
        response = client.delete(f"/api/v1/namespaces/{namespace}")
        self.result.check(
            "namespace deleted", response.status_code in (200, 202), f"HTTP {response.status_code}"
        )
        return Incident(markers, coder, int(timeout), pvc["spec"]["volumeName"], deleted_at)

    def volume_kept(self, client: httpx.Client, incident: Incident) -> None:
        """Runbook step 2: the namespace gone (Terminating refuses objects); the volume kept.

        With Coder connected, PostgreSQL's smart shutdown waits for its clients for CNPG's
        ``smartShutdownTimeout`` (180 s) before a fast one: the namespace takes minutes to go."""
        namespace = self.config.namespaces.database
        wait_for(
            lambda: client.get(f"/api/v1/namespaces/{namespace}").status_code == 404,
            f"namespace {namespace} gone",
            600,
        )
        incident.gone_at = time.time()

        def released() -> dict[str, Any] | None:
            volume: dict[str, Any] = client.get(
                f"/api/v1/persistentvolumes/{incident.volume}"
            ).json()
            return volume if volume.get("status", {}).get("phase") == "Released" else None

        volume = wait_for(released, f"volume {incident.volume} Released", 120)
        policy = volume["spec"]["persistentVolumeReclaimPolicy"]
        self.result.check(
            "volume kept", policy == "Retain", f"{incident.volume} Released, reclaim {policy}"
        )

    def recovered(self, client: httpx.Client, incident: Incident, generation: int) -> None:
        probe = self.probe(client)
        rows = wait_for(
            lambda: probe.sql(f"SELECT n FROM {MARKERS} ORDER BY n"),
            "the recovered database answering with its marker rows",
            600,
        )
        database_at = time.time()
        differences = self.coder_differences(incident.coder)
        coder_at = time.time()
        self.result.check(
            "Coder's data back",
            not differences,
            "; ".join(differences) or f"the same ids: {incident.coder.summary()}",
        )
        figures = measure(incident, {int(n) for n in rows.split()}, database_at, coder_at)
        figures["generation"] = generation
        self.result.figures = figures
        back = set(figures["markers_back"])
        self.result.check(
            "archived rows back",
            set(ARCHIVED_MARKERS) <= back,
            f"back: {figures['markers_back']}, lost: {figures['markers_lost']}",
        )
        self.result.check(
            "RPO within archive_timeout",
            figures["rpo_seconds"] <= incident.archive_timeout_seconds,
            f"RPO {figures['rpo_seconds']} s <= {incident.archive_timeout_seconds} s",
        )

    def coder_differences(self, before: CoderData) -> list[str]:
        """Wait (bounded) for Coder to answer with the data it had; what still differs."""
        last: list[str] = ["Coder did not answer"]

        def same() -> bool:
            nonlocal last
            try:
                with self.coder() as api:
                    last = before.differences(read_coder_data(api))
            except (httpx.HTTPError, PartError) as error:
                last = [f"Coder did not answer: {error}"]
            return not last

        with contextlib.suppress(WaitTimeoutError):
            wait_for(same, "Coder answering with its data", 600, every=5)
        return last


def run_incident_drill(
    stack: str, say: Callable[[str], None], keep: bool = False, base: Path | None = None
) -> IncidentDrillResult:
    """The drill on a fresh instance; stopped afterwards (also after a failure) unless ``keep``."""
    refuse_unless_loopback(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    base = base or Path(tempfile.mkdtemp(prefix="incident-drill-"))
    drill = IncidentDrill(base, stack, say)
    try:
        return drill.run()
    finally:
        if keep:
            say(
                f"kept: {base} (stop it with: python -m localplatform down --dir "
                f"{base / 'platform'} --kube-dir {base / 'kube'})"
            )
        else:
            say("stopping the drill's platform ...")
            drill.platform.down()
            shutil.rmtree(base, ignore_errors=True)
