"""Doubles for the restore drill: a Kubernetes API that plays CNPG, a Coder database, a clock.

``FakeKube`` keeps objects by API path. A Cluster it is given reports phases the way CNPG does
while it recovers and turns Ready after ``polls_until_ready`` reads (or never); a deleted Cluster
lingers for ``polls_until_gone`` reads, as finalizers make it. ``FakeTables`` answers the drill's
three questions from a dict of tables. Nothing here sleeps: ``FakeClock`` moves on ``sleep``.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from automation.drill.coder_tables import CoderTables, DbTarget
from automation.drill.kube import DrillError, KubeApiError
from coder_platform.drill_settings import DrillSettings

STARTED = datetime(2026, 11, 30, 4, 17, tzinfo=UTC)
SCRATCH_PASSWORD = "drill-Pw-7c41e9b2d0a35f86"


def settings(**overrides: Any) -> DrillSettings:
    values: dict[str, Any] = {
        "stack": "dev",
        "namespace": "coder-db-drill",
        "cluster_name": "coder-db-drill",
        "source_namespace": "coder-db",
        "source_cluster": "coder-db",
        "source_server_name": "coder-db-g2",
        "object_store": "coder-db-drill-source",
        "image": "ghcr.io/cloudnative-pg/postgresql:17.5",
        "database": "coder",
        "owner": "coder",
        "storage_size": "20Gi",
        "deadline_seconds": 1800,
        "min_users": 1,
        "min_templates": 1,
        "identity_client_id": "5e8c1f27-4b9d-4a63-8f0e-2d7b6c9a1e43",
        "check_workload_identity": True,
        "pushgateway": "http://pushgateway.monitoring.svc:9091",
    }
    values.update(overrides)
    return DrillSettings(**values)


@dataclass
class FakeClock:
    now: float = 1000.0
    slept: float = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def wall_clock(clock: FakeClock) -> Any:
    """A wall clock that moves with the fake monotonic one."""
    origin = clock.now
    return lambda: STARTED + timedelta(seconds=clock.now - origin)


def sidecar_pod(name: str, *, token_file: bool = True) -> dict[str, Any]:
    env = [{"name": "AZURE_CLIENT_ID", "value": "x"}]
    if token_file:
        env.append({"name": "AZURE_FEDERATED_TOKEN_FILE", "value": "/var/run/secrets/token"})
    return {
        "metadata": {"name": name, "labels": {"cnpg.io/cluster": "coder-db"}},
        "spec": {
            "initContainers": [
                {"name": "bootstrap-controller"},
                {"name": "plugin-barman-cloud", "restartPolicy": "Always", "env": env},
            ],
            "containers": [{"name": "postgres"}],
            "volumes": [{"name": "pgdata"}, {"name": "azure-identity-token"}],
        },
    }


FAKE_CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


@dataclass
class FakeKube:
    polls_until_ready: int | None = 2
    polls_until_gone: int = 1
    pods: list[dict[str, Any]] = field(default_factory=lambda: [sidecar_pod("coder-db-1")])
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    forbidden: set[str] = field(default_factory=set)
    _reads: dict[str, int] = field(default_factory=dict)
    _deleting: dict[str, int] = field(default_factory=dict)

    def _check(self, verb: str, path: str) -> None:
        self.calls.append(f"{verb} {path}")
        if verb in self.forbidden:
            raise KubeApiError(verb, path, 403, "Forbidden")

    def get(self, path: str) -> dict[str, Any] | None:
        self._check("GET", path)
        if path in self._deleting:
            self._deleting[path] -= 1
            if self._deleting[path] < 0:
                del self._deleting[path]
                self.objects.pop(path, None)
        found = self.objects.get(path)
        if found is None:
            return None
        if found.get("kind") == "Cluster" and path not in self._deleting:
            self._reads[path] = self._reads.get(path, 0) + 1
            found["status"] = self._status(self._reads[path])
        return copy.deepcopy(found)

    def _status(self, reads: int) -> dict[str, Any]:
        if self.polls_until_ready is not None and reads >= self.polls_until_ready:
            return {
                "phase": "Cluster in healthy state",
                "readyInstances": 1,
                "conditions": [{"type": "Ready", "status": "True"}],
            }
        return {"phase": "Setting up primary", "phaseReason": "Creating primary instance"}

    def create(self, path: str, body: Mapping[str, Any]) -> None:
        self._check("POST", path)
        target = f"{path}/{body['metadata']['name']}"
        if target in self.objects:
            raise KubeApiError("POST", path, 409, "AlreadyExists")
        self.objects[target] = copy.deepcopy(dict(body))
        self._reads.pop(target, None)
        if body.get("kind") == "Cluster":  # CloudNativePG creates the cluster's server CA
            namespace = path.split("/namespaces/", 1)[1].split("/", 1)[0]
            ca = f"/api/v1/namespaces/{namespace}/secrets/{body['metadata']['name']}-ca"
            self.objects[ca] = {"data": {"ca.crt": base64.b64encode(FAKE_CA.encode()).decode()}}

    def delete(self, path: str) -> bool:
        self._check("DELETE", path)
        if path not in self.objects or path in self._deleting:
            return path in self._deleting
        if self.objects[path].get("kind") != "Cluster":
            del self.objects[path]  # only a Cluster has finalizers to wait for
            return True
        self._deleting[path] = self.polls_until_gone
        return True

    def list(self, path: str, label_selector: str) -> list[dict[str, Any]]:
        self._check("LIST", f"{path}?{label_selector}")
        return copy.deepcopy(self.pods)

    def clusters(self) -> builtins.list[str]:
        return [p for p, o in self.objects.items() if o.get("kind") == "Cluster"]


@dataclass
class FakeTables(CoderTables):
    tables: dict[str, list[dict[str, Any]]]

    def columns(self) -> Mapping[str, set[str]]:
        return {
            name: set().union(*(row.keys() for row in rows)) for name, rows in self.tables.items()
        }

    def count(self, table: str, false_columns: Sequence[str]) -> int:
        return sum(not any(row.get(c) for c in false_columns) for row in self.tables[table])

    def newest(self, table: str, column: str) -> datetime | None:
        values = [row[column] for row in self.tables[table] if row.get(column) is not None]
        return max(values) if values else None


def coder_database(newest: datetime = STARTED - timedelta(seconds=90)) -> FakeTables:
    """A restored Coder database: the automation user, a deleted user, two templates."""
    return FakeTables(
        {
            "users": [
                {"id": 1, "deleted": False, "is_system": False, "updated_at": newest},
                {"id": 2, "deleted": True, "is_system": False, "updated_at": newest},
                {"id": 3, "deleted": False, "is_system": True, "updated_at": None},
            ],
            "templates": [
                {"id": 1, "deleted": False, "updated_at": newest - timedelta(days=2)},
                {"id": 2, "deleted": False, "updated_at": newest - timedelta(days=9)},
            ],
            "api_keys": [
                {"id": "k", "last_used": (newest - timedelta(minutes=3)).replace(tzinfo=None)}
            ],
        }
    )


@dataclass
class FakeConnect:
    """Connects like psycopg_tables would: fails ``failures`` times, then answers."""

    database: FakeTables
    failures: int = 0
    targets: list[DbTarget] = field(default_factory=list)

    @contextlib.contextmanager
    def __call__(self, target: DbTarget) -> Iterator[CoderTables]:
        self.targets.append(target)
        if self.failures:
            self.failures -= 1
            raise DrillError(f"connection to {target.host} refused")
        yield self.database
