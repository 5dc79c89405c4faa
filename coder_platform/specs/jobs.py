"""The hardened CronJob both scheduled runs use: the reconciler and the restore drill.

One shape for contract P1: ``concurrencyPolicy: Forbid`` (one run at a time), ``backoffLimit: 0``
(the program's own bounded retry is the retry), one kept success and three kept failures (C4:
evidence survives long enough to read), schedules in UTC, and a pod that passes the ``restricted``
Pod Security Standard: non-root with a fixed uid, no privilege escalation, every capability
dropped, a read-only root filesystem and the runtime's default seccomp profile. Returns typed
``*Args`` values only; the components register the CronJob.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi_kubernetes as k8s

# The uid and gid the runner image's user has; the pod never runs as root.
RUN_AS = 10001
# Kubernetes rejects CronJob names over 52 characters: the CronJob controller appends 11
# characters (``-`` and the scheduled time in minutes) to name each Job, and a Job's name must
# still fit the 63-character label its pods carry.
CRONJOB_NAME_MAX = 52


def cron_job_name(name: str) -> str:
    """``name`` cut to what a CronJob accepts, without a trailing ``-`` or ``.``."""
    return name[:CRONJOB_NAME_MAX].rstrip("-.")


def container(
    name: str,
    image: str,
    command: Sequence[str],
    *,
    env: Sequence[k8s.core.v1.EnvVarArgs],
    resources: k8s.core.v1.ResourceRequirementsArgs,
    mounts: Mapping[str, str],
    env_from_secret: str | None = None,
) -> k8s.core.v1.ContainerArgs:
    """The one container of a hardened pod; ``mounts`` maps a volume name to its path;
    ``env_from_secret`` names a Secret whose keys become environment (``env`` wins a clash)."""
    return k8s.core.v1.ContainerArgs(
        name=name,
        image=image,
        image_pull_policy="IfNotPresent",
        command=list(command),
        env=list(env),
        env_from=(
            [
                k8s.core.v1.EnvFromSourceArgs(
                    secret_ref=k8s.core.v1.SecretEnvSourceArgs(name=env_from_secret)
                )
            ]
            if env_from_secret
            else None
        ),
        resources=resources,
        security_context=k8s.core.v1.SecurityContextArgs(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            run_as_non_root=True,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        ),
        volume_mounts=[
            k8s.core.v1.VolumeMountArgs(name=volume, mount_path=path)
            for volume, path in mounts.items()
        ],
    )


def pod(
    service_account: str,
    main: k8s.core.v1.ContainerArgs,
    volumes: Sequence[str],
    *,
    owns_volumes: bool,
    termination_grace_seconds: int | None = None,
    host_network: bool = False,
) -> k8s.core.v1.PodSpecArgs:
    """A pod that runs ``main`` once; each of ``volumes`` is an emptyDir (the root is read-only).

    ``owns_volumes`` sets ``fsGroup`` so files the run keeps on its volumes belong to its group;
    ``termination_grace_seconds`` is how long a stopped pod may take before SIGKILL (Kubernetes'
    default is 30 s). ``host_network`` (a local node's reconciler only) shares the node's network.
    """
    return k8s.core.v1.PodSpecArgs(
        host_network=True if host_network else None,
        service_account_name=service_account,
        automount_service_account_token=True,
        restart_policy="Never",
        termination_grace_period_seconds=termination_grace_seconds,
        security_context=k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True,
            run_as_user=RUN_AS,
            run_as_group=RUN_AS,
            fs_group=RUN_AS if owns_volumes else None,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        containers=[main],
        volumes=[
            k8s.core.v1.VolumeArgs(name=volume, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs())
            for volume in volumes
        ],
    )


def cron_job_spec(
    schedule: str,
    *,
    starting_deadline_seconds: int,
    active_deadline_seconds: int,
    labels: Mapping[str, str],
    pod_labels: Mapping[str, str],
    spec: k8s.core.v1.PodSpecArgs,
    suspend: bool = False,
) -> k8s.batch.v1.CronJobSpecArgs:
    """Forbid overlap, never retry a failed Job, keep one success and three failures (P1, C4);
    ``suspend`` (a local node's only) keeps the template and starts no scheduled Job."""
    return k8s.batch.v1.CronJobSpecArgs(
        schedule=schedule,
        suspend=True if suspend else None,
        time_zone="Etc/UTC",
        concurrency_policy="Forbid",
        successful_jobs_history_limit=1,
        failed_jobs_history_limit=3,
        starting_deadline_seconds=starting_deadline_seconds,
        job_template=k8s.batch.v1.JobTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=dict(labels)),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=0,
                active_deadline_seconds=active_deadline_seconds,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=dict(pod_labels)), spec=spec
                ),
            ),
        ),
    )
