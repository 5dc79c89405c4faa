"""ReconcilerSchedule: run ``python -m automation reconcile`` for this stack on a schedule.

The seeding contract's preferred pattern (P1) in Kubernetes terms: a CronJob with
``concurrencyPolicy: Forbid`` (one run at a time; the runner's own exit code 14 covers a CI run
racing it), ``backoffLimit: 0`` (the runner's bounded internal retry is the retry), one kept
success and three kept failures (C4: evidence survives long enough to read), a deadline, a pinned
image and a non-root, read-only pod. ``mode: operator`` creates a Pulumi Kubernetes Operator
``Stack`` instead, for teams that already run the operator (it refreshes and resyncs on the same
interval, but heals drift only: it neither runs the program during refresh nor detects a Coder
reset, so cronjob mode is the one that meets C3 for the seeded state).

Identity: one service account, annotated for Azure workload identity when a client id is given
(backend blob access, key-vault secrets provider, Azure resources), and bound *by name* to the
Vault Kubernetes auth role that ``VaultSecrets`` creates (the runner logs in with it). No secret
is ever a literal in the pod spec: the only secret it may need (a passphrase) is a secretKeyRef.

Least-privilege RBAC: ``components/reconciler/rbac.py`` says what is granted and why.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from coder_platform.contracts import (
    CODER_URL_ENV,
    INTERVAL_ANNOTATION,
    RECONCILER_COMPONENT,
    REPORT_DIR_ENV,
    SECRETS_PROVIDER_ENV,
    STACK_KEY,
    VAULT_ROLE_ANNOTATION,
    VAULT_ROLE_ENV,
    WORKLOAD_IDENTITY_CLIENT_ID,
    WORKLOAD_IDENTITY_USE,
    ComponentType,
    labels,
)
from coder_platform.run_limits import TERMINATION_GRACE_SECONDS, stale_lock_after_seconds
from coder_platform.specs import jobs
from coder_platform.specs.pod_security import pod_security
from components.reconciler.admission import operator_namespace_spec, workload_identity_spec
from components.reconciler.args import (
    ReconcilerScheduleArgs,
)
from components.reconciler.cron import schedule_for
from components.reconciler.rbac import (
    CLUSTER_READ_RULES,
    NAMESPACED_RULES,
    SCRATCH_RULES,
    WORKSPACE_RULES,
    Rule,
)

DATA_DIR = "/var/lib/coder-platform"


def _rules(rules: Sequence[Rule]) -> list[k8s.rbac.v1.PolicyRuleArgs]:
    return [
        k8s.rbac.v1.PolicyRuleArgs(api_groups=[group], resources=list(kinds), verbs=list(verbs))
        for group, kinds, verbs in rules
    ]


def _named(
    group: str, kinds: Sequence[str], verbs: Sequence[str], names: Sequence[str]
) -> k8s.rbac.v1.PolicyRuleArgs:
    return k8s.rbac.v1.PolicyRuleArgs(
        api_groups=[group], resources=list(kinds), verbs=list(verbs), resource_names=list(names)
    )


class ReconcilerSchedule(pulumi.ComponentResource):
    """The scheduled self-healing run for one stack (contract P1, C3, C4)."""

    service_account: k8s.core.v1.ServiceAccount
    cron_job: k8s.batch.v1.CronJob | None
    operator_stack: k8s.apiextensions.CustomResource | None
    schedule: str
    interval_seconds: int

    def __init__(
        self, name: str, args: ReconcilerScheduleArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(ComponentType.RECONCILER, name, None, opts)
        self._args = args
        self.schedule, minutes = schedule_for(args.interval_minutes, args.stack)
        self.interval_seconds = minutes * 60
        self._labels = {
            **labels("coder-reconciler", RECONCILER_COMPONENT),
            STACK_KEY: args.stack,
        }
        child = pulumi.ResourceOptions(parent=self)
        depends: list[pulumi.Resource] = []
        if args.create_namespace:
            namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=args.namespace,
                    labels={
                        **self._labels,
                        **pod_security("privileged" if args.host_network else "restricted"),
                    },
                ),
                opts=child,
            )
            depends.append(namespace)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=depends)
        self.service_account = self._service_account(name, in_ns)
        self._rbac(name, in_ns)
        self._admission(name, child)
        self.cron_job = self._cron_job(name, in_ns) if args.mode == "cronjob" else None
        self.operator_stack = self._operator_stack(name, in_ns) if args.mode == "operator" else None
        self.register_outputs(
            {"schedule": self.schedule, "interval_seconds": self.interval_seconds}
        )

    # -- identity -----------------------------------------------------------------------------

    def _service_account(
        self, name: str, opts: pulumi.ResourceOptions
    ) -> k8s.core.v1.ServiceAccount:
        args = self._args
        annotations: dict[str, str] = {}
        if args.workload_identity_client_id:
            annotations[WORKLOAD_IDENTITY_CLIENT_ID] = args.workload_identity_client_id
        if args.vault_role:
            annotations[VAULT_ROLE_ANNOTATION] = args.vault_role
        return k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.service_account_name,
                namespace=args.namespace,
                labels=self._labels,
                annotations=annotations or None,
            ),
            automount_service_account_token=True,
            opts=opts,
        )

    def _subject(self) -> k8s.rbac.v1.SubjectArgs:
        return k8s.rbac.v1.SubjectArgs(
            kind="ServiceAccount",
            name=self._args.service_account_name,
            namespace=self._args.namespace,
        )

    def _rbac(self, name: str, opts: pulumi.ResourceOptions) -> None:
        self._cluster_rbac(name, opts)
        for namespace in self._args.namespaces:
            self._namespace_rbac(name, namespace, opts)

    def _cluster_rbac(self, name: str, opts: pulumi.ResourceOptions) -> None:
        """Cluster reads, creating namespaces and storage classes, and updating only its own."""
        args = self._args
        cluster_name = f"coder-reconciler-{args.stack.lower()}"
        cluster_rules = [
            *_rules(CLUSTER_READ_RULES),
            k8s.rbac.v1.PolicyRuleArgs(
                api_groups=["storage.k8s.io"], resources=["storageclasses"], verbs=["create"]
            ),
            k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["namespaces"], verbs=["create"]),
            _named("", ["namespaces"], ["update", "patch"], args.namespaces),
            _named(
                "rbac.authorization.k8s.io",
                ["clusterroles", "clusterrolebindings"],
                ["update", "patch"],
                [cluster_name],
            ),
        ]
        if args.storage_class_names:
            cluster_rules.append(
                _named(
                    "storage.k8s.io",
                    ["storageclasses"],
                    ["update", "patch", "delete"],
                    args.storage_class_names,
                )
            )
        labels = k8s.meta.v1.ObjectMetaArgs(name=cluster_name, labels=self._labels)
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-cluster-role", metadata=labels, rules=cluster_rules, opts=opts
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-cluster-role-binding",
            metadata=labels,
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role.metadata.name
            ),
            subjects=[self._subject()],
            opts=opts,
        )
        if args.mode == "operator":
            # The operator's workspace pods authenticate callers through TokenReviews.
            k8s.rbac.v1.ClusterRoleBinding(
                f"{name}-auth-delegator",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"{cluster_name}-auth-delegator", labels=self._labels
                ),
                role_ref=k8s.rbac.v1.RoleRefArgs(
                    api_group="rbac.authorization.k8s.io",
                    kind="ClusterRole",
                    name="system:auth-delegator",
                ),
                subjects=[self._subject()],
                opts=opts,
            )

    def _namespace_rbac(self, name: str, namespace: str, opts: pulumi.ResourceOptions) -> None:
        """What it manages in one namespace; workspaces and drill scratch space get more."""
        args = self._args
        rules = [*NAMESPACED_RULES]
        if namespace == args.workspace_namespace:
            rules += WORKSPACE_RULES
        if namespace in args.scratch_namespaces:
            rules += SCRATCH_RULES
        meta = k8s.meta.v1.ObjectMetaArgs(
            name="coder-reconciler", namespace=namespace, labels=self._labels
        )
        ns_role = k8s.rbac.v1.Role(
            f"{name}-role-{namespace}", metadata=meta, rules=_rules(rules), opts=opts
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-role-binding-{namespace}",
            metadata=meta,
            role_ref=k8s.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="Role", name=ns_role.metadata.name
            ),
            subjects=[self._subject()],
            opts=opts,
        )

    def _admission(self, name: str, opts: pulumi.ResourceOptions) -> None:
        """The API server's own refusals of the reconciler (``admission.py``)."""
        args = self._args
        specs = {
            "workload-identity": workload_identity_spec(
                args.namespace, args.service_account_name, args.allowed_service_accounts
            )
        }
        if args.operator_namespace is not None:
            specs["operator-namespace"] = operator_namespace_spec(
                args.namespace, args.service_account_name, args.operator_namespace
            )
        for purpose, spec in specs.items():
            policy_name = f"coder-reconciler-{args.stack.lower()}-{purpose}"
            meta = k8s.meta.v1.ObjectMetaArgs(name=policy_name, labels=self._labels)
            policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
                f"{name}-{purpose}-policy", metadata=meta, spec=spec, opts=opts
            )
            k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                f"{name}-{purpose}-policy-binding",
                metadata=meta,
                spec=k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpecArgs(
                    policy_name=policy.metadata.name, validation_actions=["Deny"]
                ),
                opts=opts,
            )

    # -- the run ------------------------------------------------------------------------------

    def _env(self) -> list[k8s.core.v1.EnvVarArgs]:
        args = self._args
        plain = {
            "PULUMI_BACKEND_URL": args.backend_url,
            SECRETS_PROVIDER_ENV: args.secrets_provider,
            VAULT_ROLE_ENV: args.vault_role,
            CODER_URL_ENV: args.coder_internal_url,
            REPORT_DIR_ENV: f"{DATA_DIR}/reports",
            "PULUMI_HOME": f"{DATA_DIR}/pulumi-home",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PYTHONDONTWRITEBYTECODE": "1",
            "HOME": "/tmp",
            **args.extra_env,
        }
        env = [
            k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in plain.items() if value
        ]
        if args.passphrase_secret is not None:
            env.append(
                k8s.core.v1.EnvVarArgs(
                    name="PULUMI_CONFIG_PASSPHRASE",
                    value_from=k8s.core.v1.EnvVarSourceArgs(
                        secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(
                            name=args.passphrase_secret.name, key=args.passphrase_secret.key
                        )
                    ),
                )
            )
        return env

    def _pod_spec(self) -> k8s.core.v1.PodSpecArgs:
        args = self._args
        mounts = {"data": DATA_DIR, "tmp": "/tmp"}
        reconcile = jobs.container(
            "reconcile",
            args.image,
            self._command(),
            env=self._env(),
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": "250m", "memory": "1Gi"}, limits={"memory": "2Gi"}
            ),
            mounts=mounts,
            env_from_secret=args.env_from_secret,
        )
        # SIGTERM (deadline, drain, eviction) makes the runner cancel the engine, which then
        # releases the stack lock: the grace period covers that cancel (run_limits.py).
        return jobs.pod(
            args.service_account_name,
            reconcile,
            list(mounts),
            owns_volumes=True,
            termination_grace_seconds=TERMINATION_GRACE_SECONDS,
            host_network=args.host_network,
        )

    def _command(self) -> list[str]:
        """``reconcile``, breaking a lock that no live run can hold: one left by a run that was
        killed (OOM, node drain) would otherwise fail every later run with exit 14."""
        stale = stale_lock_after_seconds(self._args.active_deadline_seconds)
        return [
            *("python", "-m", "automation", "reconcile", "--stack", self._args.stack),
            *("--break-stale-lock-after", f"{stale}s"),
        ]

    def _pod_labels(self) -> dict[str, str]:
        labels = dict(self._labels)
        if self._args.workload_identity_client_id:
            labels[WORKLOAD_IDENTITY_USE] = "true"
        return labels

    def _metadata(self, name: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(
            name=name,
            namespace=self._args.namespace,
            labels=self._labels,
            annotations={INTERVAL_ANNOTATION: str(self.interval_seconds)},
        )

    def _cron_job(self, name: str, opts: pulumi.ResourceOptions) -> k8s.batch.v1.CronJob:
        args = self._args
        return k8s.batch.v1.CronJob(
            f"{name}-cron-job",
            metadata=self._metadata(jobs.cron_job_name(f"coder-reconciler-{args.stack.lower()}")),
            spec=jobs.cron_job_spec(
                self.schedule,
                starting_deadline_seconds=min(300, self.interval_seconds),
                active_deadline_seconds=args.active_deadline_seconds,
                labels=self._labels,
                pod_labels=self._pod_labels(),
                spec=self._pod_spec(),
                suspend=args.suspend,
            ),
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=[self.service_account])
            ),
        )

    def _operator_stack(
        self, name: str, opts: pulumi.ResourceOptions
    ) -> k8s.apiextensions.CustomResource:
        args = self._args
        assert args.operator_source is not None  # enforced by _problems
        env_refs: dict[str, object] = {
            "PULUMI_BACKEND_URL": {"type": "Literal", "literal": {"value": args.backend_url}},
        }
        if args.passphrase_secret is not None:
            env_refs["PULUMI_CONFIG_PASSPHRASE"] = {
                "type": "Secret",
                "secret": {"name": args.passphrase_secret.name, "key": args.passphrase_secret.key},
            }
        workspace: dict[str, object] = {"image": args.image}
        if args.workload_identity_client_id:
            workspace["podTemplate"] = {"metadata": {"labels": {WORKLOAD_IDENTITY_USE: "true"}}}
        spec: dict[str, object] = {
            "stack": args.stack,
            "projectRepo": args.operator_source.repo_url,
            "branch": args.operator_source.branch,
            "repoDir": args.operator_source.repo_dir,
            "refresh": True,
            "continueResyncOnCommitMatch": True,
            "resyncFrequencySeconds": max(60, self.interval_seconds),
            "serviceAccountName": args.service_account_name,
            "destroyOnFinalize": False,
            "envRefs": env_refs,
            "workspaceTemplate": {"spec": workspace},
        }
        if args.secrets_provider:
            spec["secretsProvider"] = args.secrets_provider
        return k8s.apiextensions.CustomResource(
            f"{name}-operator-stack",
            api_version="pulumi.com/v1",
            kind="Stack",
            metadata=self._metadata(f"coder-platform-{args.stack.lower()}"),
            spec=spec,
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=[self.service_account])
            ),
        )
