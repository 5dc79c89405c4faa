"""The rules of the ``seeding-contract`` pack, in contract order; ``__main__.py`` serves them."""

from __future__ import annotations

from pulumi_policy import Policy

from . import (
    cnpg_cluster_recoverable,
    cnpg_cluster_wal_archiving,
    coder_admin_oidc,
    hook_job_run_id,
    no_literal_secrets,
    no_placeholders,
    pinned_charts,
    reconciler_cronjob_shape,
    storage_class_retain,
    token_rotation,
    vault_paths,
)

PACK_NAME = "seeding-contract"
DESCRIPTION = (
    "The seeding contract (C1 failfast, C2 idempotent, C3 self-healing, C4 evidence, C5 clean "
    "wiring; P1 reconciler CronJob, P2 hook Job) as CrossGuard policies for coder-platform."
)

POLICIES: list[Policy] = [
    storage_class_retain.POLICY,
    cnpg_cluster_wal_archiving.POLICY,
    cnpg_cluster_recoverable.POLICY,
    reconciler_cronjob_shape.POLICY,
    hook_job_run_id.POLICY,
    no_literal_secrets.POLICY,
    no_placeholders.POLICY,
    pinned_charts.POLICY,
    coder_admin_oidc.POLICY,
    token_rotation.POLICY,
    vault_paths.POLICY,
]
