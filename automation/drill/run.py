"""The restore drill as a loop of named steps: clean, check identity, restore, wait, query,
measure, and always clean up.

1. **clean**: a drill killed by its Job deadline leaves its scratch cluster; delete any leftover
   first and wait until it is gone (the name is fixed, so two would collide).
2. **identity** (Azure stacks): the source cluster's backup sidecar has its federated token.
3. **restore**: the scratch app Secret (a password generated here, never printed) and the scratch
   Cluster, bootstrapped from the current generation's archive and never archiving.
4. **ready**: poll the Cluster until CNPG reports it Ready, within ``deadline_seconds``.
5. **query**: Coder's tables are there with at least ``min_users`` users and ``min_templates``
   templates; the newest row's time gives the RPO. RTO is creation to the first answered query.
6. **cleanup**, also after any failure: delete the Cluster (CNPG deletes its volumes) and the
   Secret, and wait until the Cluster is gone.

The drill succeeds only if every step does; its result becomes metrics and one JSON line.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from automation.drill.coder_tables import CoderSnapshot, CoderTables, DbTarget, read_snapshot
from automation.drill.identity import sidecar_identity
from automation.drill.kube import DrillError, KubeApi, cluster_path, pods_path, secret_path
from automation.drill.manifests import UnsafeDrillSpecError, app_secret, scratch_cluster
from coder_platform.clock import Clock, Now, SystemClock, utc_now
from coder_platform.drill_settings import CLEANUP_SECONDS, DrillSettings
from coder_platform.names import app_secret_name
from coder_platform.redaction import Redactor
from coder_platform.specs.postgres_tls import CA_KEY, ca_secret_name, rw_host

POLL_SECONDS = 10.0
HEALTHY_PHASE = "Cluster in healthy state"


Connect = Callable[[DbTarget], contextlib.AbstractContextManager[CoderTables]]


@dataclass(frozen=True)
class DrillStep:
    name: str
    ok: bool
    detail: str


@dataclass
class RestoreDrillResult:
    stack: str
    started_at: datetime
    finished_at: datetime | None = None
    rto_seconds: float | None = None
    rpo_seconds: float | None = None
    users: int | None = None
    templates: int | None = None
    newest_row_at: datetime | None = None
    newest_source: str | None = None
    identity_ok: bool | None = None
    cleanup_ok: bool = False
    steps: list[DrillStep] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    @property
    def duration_seconds(self) -> float:
        end = self.finished_at or self.started_at
        return round((end - self.started_at).total_seconds(), 3)


class _StepFailedError(Exception):
    """Ends the restore part of the drill; the step is already recorded."""


class _Recorder:
    def __init__(self, result: RestoreDrillResult, redactor: Redactor) -> None:
        self._result, self._redactor = result, redactor

    def record(self, name: str, ok: bool, detail: str) -> None:
        self._result.steps.append(DrillStep(name, ok, self._redactor(detail)))

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        detail: list[str] = []
        try:
            yield detail
        except (DrillError, UnsafeDrillSpecError) as error:
            self.record(name, False, str(error))
            raise _StepFailedError from None
        self.record(name, True, "; ".join(detail))


def run_restore_drill(
    settings: DrillSettings,
    kube: KubeApi,
    connect: Connect,
    *,
    clock: Clock | None = None,
    now: Now = utc_now,
    password: Callable[[], str] = lambda: secrets.token_urlsafe(24),
) -> RestoreDrillResult:
    clock = clock or SystemClock()
    result = RestoreDrillResult(stack=settings.stack, started_at=now())
    redactor = Redactor()
    steps = _Recorder(result, redactor)
    try:
        with steps.step("clean") as detail:
            leftover = _delete_and_wait(kube, settings, clock)
            detail.append("removed a leftover scratch cluster" if leftover else "nothing left over")
        if settings.check_workload_identity:
            _check_identity(kube, settings, result, steps)
        secret = password()
        redactor.add(secret)
        with steps.step("restore") as detail:
            manifest = scratch_cluster(settings)
            kube.create(secret_path(settings.namespace), app_secret(settings, secret))
            kube.create(cluster_path(settings.namespace), manifest)
            created = clock.monotonic()
            detail.append(
                f"Cluster {settings.namespace}/{settings.cluster_name} from "
                f"{settings.source_server_name}"
            )
        deadline = created + settings.deadline_seconds
        with steps.step("ready") as detail:
            detail.append(_wait_ready(kube, settings, clock, deadline))
        with steps.step("query") as detail:
            target = DbTarget(
                host=rw_host(settings.cluster_name, settings.namespace),
                port=5432,
                database=settings.database,
                user=settings.owner,
                password=secret,
                ca_cert=_server_ca(kube, settings),
            )
            snapshot = _query(connect, target, clock, deadline)
            result.rto_seconds = round(clock.monotonic() - created, 3)
            _measure(result, snapshot)
            detail.append(_judge(settings, snapshot))
    except _StepFailedError:
        pass
    finally:
        with contextlib.suppress(_StepFailedError), steps.step("cleanup") as detail:
            _delete_and_wait(kube, settings, clock)
            detail.append("scratch cluster and secret deleted")
            result.cleanup_ok = True
        result.finished_at = now()
    return result


def _check_identity(
    kube: KubeApi, settings: DrillSettings, result: RestoreDrillResult, steps: _Recorder
) -> None:
    """Recorded, and the restore goes on: a broken identity and a broken restore are two facts."""
    try:
        pods = kube.list(
            pods_path(settings.source_namespace),
            f"cnpg.io/cluster={settings.source_cluster},cnpg.io/podRole=instance",
        )
    except DrillError as error:
        steps.record("identity", False, str(error))
        result.identity_ok = False
        return
    finding = sidecar_identity(pods)
    result.identity_ok = finding.ok
    steps.record("identity", finding.ok, finding.detail)


def _measure(result: RestoreDrillResult, snapshot: CoderSnapshot) -> None:
    result.users, result.templates = snapshot.users, snapshot.templates
    result.newest_row_at, result.newest_source = snapshot.newest_row_at, snapshot.newest_source
    if snapshot.newest_row_at is not None:
        rpo = (result.started_at - snapshot.newest_row_at).total_seconds()
        result.rpo_seconds = round(max(rpo, 0.0), 3)


def _judge(settings: DrillSettings, snapshot: CoderSnapshot) -> str:
    problems: list[str] = []
    if snapshot.missing_tables:
        problems.append(f"Coder tables missing: {', '.join(snapshot.missing_tables)}")
    if snapshot.users < settings.min_users:
        problems.append(f"{snapshot.users} users, fewer than {settings.min_users}")
    if snapshot.templates < settings.min_templates:
        problems.append(f"{snapshot.templates} templates, fewer than {settings.min_templates}")
    if problems:
        raise DrillError(
            "the restored database is not a working Coder database: " + "; ".join(problems)
        )
    newest = snapshot.newest_row_at.isoformat() if snapshot.newest_row_at else "no row times"
    return (
        f"{snapshot.users} users, {snapshot.templates} templates, newest row {newest} "
        f"({snapshot.newest_source or 'none'})"
    )


def _ready(status: dict[str, object]) -> bool:
    conditions = status.get("conditions")
    ready = isinstance(conditions, list) and any(
        isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
        for c in conditions
    )
    instances = status.get("readyInstances")
    return (ready or status.get("phase") == HEALTHY_PHASE) and (
        isinstance(instances, int) and instances >= 1
    )


def _wait_ready(kube: KubeApi, settings: DrillSettings, clock: Clock, deadline: float) -> str:
    path = cluster_path(settings.namespace, settings.cluster_name)
    last = "not reported yet"
    while True:
        cluster = kube.get(path)
        if cluster is None:
            raise DrillError(
                f"scratch Cluster {settings.namespace}/{settings.cluster_name} disappeared "
                "while restoring"
            )
        status = cluster.get("status") or {}
        if _ready(status):
            return f"Ready ({status.get('phase')})"
        reason = status.get("phaseReason")
        last = f"{status.get('phase') or 'no phase yet'}" + (f": {reason}" if reason else "")
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            raise DrillError(
                f"scratch Cluster {settings.namespace}/{settings.cluster_name} was not Ready "
                f"within {settings.deadline_seconds}s (last phase: {last}); check the "
                f"{settings.cluster_name}-1-full-recovery Job's log"
            )
        clock.sleep(min(POLL_SECONDS, remaining))


def _query(connect: Connect, target: DbTarget, clock: Clock, deadline: float) -> CoderSnapshot:
    """The Service can lag the Cluster's Ready status: retry connecting until the deadline."""
    while True:
        try:
            with connect(target) as tables:
                return read_snapshot(tables)
        except DrillError:
            if clock.monotonic() >= deadline:
                raise
            clock.sleep(POLL_SECONDS)


def _server_ca(kube: KubeApi, settings: DrillSettings) -> str:
    """The scratch cluster's server CA, from the ``<cluster>-ca`` Secret CloudNativePG creates
    with the cluster (key ``ca.crt``), to verify the server the drill connects to."""
    name = ca_secret_name(settings.cluster_name)
    found = kube.get(secret_path(settings.namespace, name)) or {}
    encoded = (found.get("data") or {}).get(CA_KEY)
    if not isinstance(encoded, str) or not encoded:
        raise DrillError(
            f"the scratch cluster's CA Secret {settings.namespace}/{name} has no {CA_KEY}: the "
            "drill verifies the server it queries (sslmode verify-full)"
        )
    return base64.b64decode(encoded).decode("ascii")


def _delete_and_wait(kube: KubeApi, settings: DrillSettings, clock: Clock) -> bool:
    """Delete the scratch Cluster and Secret; True when a Cluster was there to delete."""
    path = cluster_path(settings.namespace, settings.cluster_name)
    existed = kube.delete(path)
    kube.delete(secret_path(settings.namespace, app_secret_name(settings.cluster_name)))
    deadline = clock.monotonic() + CLEANUP_SECONDS
    while kube.get(path) is not None:
        if clock.monotonic() >= deadline:
            raise DrillError(
                f"scratch Cluster {settings.namespace}/{settings.cluster_name} is still there "
                f"{int(CLEANUP_SECONDS)}s after its delete; remove it by hand (kubectl delete "
                f"cluster -n {settings.namespace} {settings.cluster_name}) and check its "
                "finalizers"
            )
        clock.sleep(POLL_SECONDS)
    return existed
