"""What a ReconcilerSchedule is built from, checked before any resource is created (C1)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from coder_platform.contracts import (
    DNS_LABEL,
    RECONCILER_SERVICE_ACCOUNT,
    STACK_NAME,
    is_pinned_image,
    looks_secret_env,
)

Mode = Literal["cronjob", "operator"]


@dataclass(frozen=True)
class SecretKeyRef:
    """A key of a Kubernetes Secret created outside this stack (never a literal value)."""

    name: str
    key: str


@dataclass(frozen=True)
class OperatorSource:
    """Where the Pulumi Kubernetes Operator fetches this program (``mode: operator`` only)."""

    repo_url: str
    branch: str = "main"
    repo_dir: str = ""


@dataclass(frozen=True)
class ReconcilerScheduleArgs:
    """Built by ``wiring/operations.py`` from ``ReconcilerConfig``, the stack and the Vault role."""

    stack: str
    namespace: str
    image: str
    interval_minutes: int
    active_deadline_seconds: int
    backend_url: str
    vault_role: str | None = None
    mode: Mode = "cronjob"
    service_account_name: str = RECONCILER_SERVICE_ACCOUNT
    secrets_provider: str | None = None
    workload_identity_client_id: str | None = None
    passphrase_secret: SecretKeyRef | None = None
    managed_namespaces: Sequence[str] = ()
    storage_class_names: Sequence[str] = ()
    workspace_namespace: str | None = None
    # Namespaces of disposable data the stack owns (the restore drill's): there the runner may
    # also delete CNPG Clusters, because it must hold every right of a Role it (re)creates.
    scratch_namespaces: Sequence[str] = ()
    # ``namespace/name`` of every service account the stack's workloads run as, besides the
    # reconciler's own: the admission policy refuses a workload the reconciler writes as any other.
    workload_service_accounts: Sequence[str] = ()
    # The operators' namespace (their own stack installs them, ``scope: operators``): the
    # reconciler may write nothing there (admission.py). The program always sets it.
    operator_namespace: str | None = None
    coder_internal_url: str | None = None
    operator_source: OperatorSource | None = None
    create_namespace: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    # Loopback only (config refuses them in dev/prod): a Secret whose keys become the run's
    # environment, the node's network, and no scheduled runs.
    env_from_secret: str | None = None
    host_network: bool = False
    suspend: bool = False

    def __post_init__(self) -> None:
        problems = list(_problems(self))
        if problems:
            raise ValueError(
                "invalid ReconcilerScheduleArgs: " + "; ".join(problems) + " (contract C1)"
            )

    @property
    def allowed_service_accounts(self) -> tuple[str, ...]:
        """``namespace/name`` of every account a workload the reconciler writes may run as."""
        own = f"{self.namespace}/{self.service_account_name}"
        return tuple(dict.fromkeys([own, *self.workload_service_accounts]))

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Every namespace the runner heals: the stack's own plus the reconciler's."""
        return tuple(
            dict.fromkeys([*self.managed_namespaces, *self.scratch_namespaces, self.namespace])
        )


def _problems(args: ReconcilerScheduleArgs) -> list[str]:
    problems: list[str] = []
    if not STACK_NAME.fullmatch(args.stack):
        problems.append(f"stack {args.stack!r} is not a stack name")
    for label, value in (
        ("namespace", args.namespace),
        ("service_account_name", args.service_account_name),
    ):
        if not re.fullmatch(DNS_LABEL, value):
            problems.append(f"{label} {value!r} is not a DNS label")
    problems += [
        f"managed namespace {ns!r} is not a DNS label"
        for ns in (*args.managed_namespaces, *args.scratch_namespaces)
        if not re.fullmatch(DNS_LABEL, ns)
    ]
    problems += [
        f"workload service account {account!r} is not namespace/name"
        for account in args.workload_service_accounts
        if not re.fullmatch(f"{DNS_LABEL[:-1]}/{DNS_LABEL[1:]}", account)
    ]
    if args.operator_namespace is not None and args.operator_namespace in args.namespaces:
        problems.append(
            f"operator_namespace {args.operator_namespace!r} is one the reconciler manages"
        )
    if not 5 <= args.interval_minutes <= 1440:
        problems.append("interval_minutes must be from 5 to 1440")
    if not 60 <= args.active_deadline_seconds <= 86400:
        problems.append("active_deadline_seconds must be from 60 to 86400")
    if not is_pinned_image(args.image):
        problems.append("image must be pinned by a version tag or digest, not latest")
    if not args.backend_url:
        problems.append("backend_url is required: an in-cluster run needs the shared state")
    provider = (args.secrets_provider or "passphrase").split("://", 1)[0]
    if provider == "passphrase" and args.passphrase_secret is None:
        problems.append("a passphrase secrets provider needs passphrase_secret (a secretKeyRef)")
    if args.mode == "operator" and args.operator_source is None:
        problems.append("mode operator needs operator_source (the program's git repository)")
    if any(looks_secret_env(key) for key in args.extra_env):
        problems.append("extra_env may not carry secrets; use a secretKeyRef")
    return problems
