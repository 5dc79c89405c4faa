"""``reconcile``: the self-healing run, as an operator loop (observe, decide, act, verify, record;
contract P1 and C1-C4).

- **observe**: validate the stack config (C1); check the Kubernetes API, Vault and Coder answer
  within a bounded retry (P1); read the stack's state.
- **decide** (changes nothing): a Coder that reports no first user while the state holds seeded
  resources was reset, and the plan is to drop the seeded subtree and re-create it (its stored
  credentials are dead, so a refresh of it would only fail with 401s). Otherwise preview with
  refresh, the program and the policy pack: no changes means converged.
- **act**: for a reset, first remove the seeded subtree from state in one explicit, logged step
  (export, filter, import); then ``up`` with refresh, run-program and the policy pack, only when
  the plan has changes; "already correct" is a fast, silent success with zero writes to Coder
  (C2).
- **verify**: a follow-up preview must show no changes, and Coder's post-conditions must hold:
  the first user exists, every template is present at its active version, the published token
  authenticates (C3).
- **record**: the caller writes the report and metrics (``execute.py``), the C4 evidence.

Coder is a soft dependency: this stack deploys it, so if it does not answer at observe (its
namespace was recreated, or its database was lost and is being recovered) the run still acts.
When the state then holds seeded resources, which read Coder on every refresh and would fail
the whole preview, the run acts in two passes: first an update that leaves out the seed and
everything depending on it (``--exclude`` the CoderSeed components with their dependents: the
database, its recovery, Coder's deployment), then a bounded wait for Coder to answer, then the
usual decide and act, which heal a reset if Coder came back empty. Both passes are in the
report (phases "act (without the seed)" and "wait for Coder").
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from automation.engine.protocol import PolicySettings
from automation.engine.state_edits import (
    SeedRemoval,
    apply_seed_removal,
    plan_seed_removal,
    seed_roots,
    seeded_urns,
)
from automation.errors import DependencyUnreachableError, NotConvergedError
from automation.observe.coder_checks import (
    UNREACHABLE_CHECK,
    CoderSite,
    expected_templates,
    token_expiry,
    verify_coder,
)
from automation.observe.dependencies import DependencyFactory
from automation.observe.probes import CoderProbe, ProbeResult, ProbeStatus, SkippedProbe
from automation.operations import (
    check_visible_locks,
    preview_and_record,
    resource_reports,
    run_operation,
    up_and_record,
    with_lock_policy,
)
from automation.outcome import Outcome, changed_outcome
from automation.reporting.collector import EventCollector, ResourceChange
from automation.reporting.report import CoderCheckReport, CoderReport, ProbeReport, StateEditReport
from automation.scope import refuse_operator_uninstall
from automation.session import Session, phase, validate_config
from coder_platform.coder_api import CoderApiError
from coder_platform.config import PlatformConfig
from coder_platform.contracts import CURRENT_CODER_TOKEN_ENV


@dataclass(frozen=True)
class ReconcileOptions:
    policy: PolicySettings
    dependency_deadline_seconds: float = 120.0
    break_stale_lock_after: timedelta | None = None
    # How long the pass without the seed waits for the Coder it deployed: a recovery restores
    # the database from its archive first, and a crash-looping pod restarts on the kubelet's
    # back-off (up to 5 minutes between tries).
    coder_recovery_deadline_seconds: float = 900.0
    coder_poll_seconds: float = 10.0


@dataclass(frozen=True)
class Observation:
    config: PlatformConfig
    state: dict[str, Any]
    seeded: tuple[str, ...]
    coder: CoderSite | None
    first_user: bool | None


@dataclass(frozen=True)
class Plan:
    """What act will do: drop the dead seeded subtree first (a reset), then apply changes."""

    changes: tuple[ResourceChange, ...]
    seed_removal: SeedRemoval | None = None

    @property
    def reset(self) -> bool:
        return self.seed_removal is not None

    @property
    def empty(self) -> bool:
        return not self.changes and not self.reset


def reconcile(
    session: Session, options: ReconcileOptions, dependencies: DependencyFactory
) -> Outcome:
    observation = observe(session, options, dependencies)
    acted = False
    if _coder_down_with_seed(observation):
        act_without_seed(session, observation, options)
        observation = wait_for_coder(session, observation, options)
        acted = True
    acted = _decide_and_act(session, observation, options) or acted
    verify(session, observation, options, acted=acted)
    if not acted:
        return Outcome.CONVERGED
    resources = (observation.state.get("deployment") or {}).get("resources") or []
    return changed_outcome(
        first_deploy=all(r.get("type") == "pulumi:pulumi:Stack" for r in resources),
        healed=bool(session.report.drifted) or session.report.state_edit is not None,
    )


def _decide_and_act(session: Session, observation: Observation, options: ReconcileOptions) -> bool:
    plan = decide(session, observation, options)
    if plan.empty:
        session.report.skip_phase("act", "nothing to change")
        return False
    act(session, observation, plan, options)
    return True


def _coder_down_with_seed(observation: Observation) -> bool:
    """The deployed Coder did not answer, and the state holds resources that read it."""
    return (
        observation.coder is not None
        and observation.first_user is None
        and bool(seed_roots(observation.state))
    )


def act_without_seed(session: Session, observation: Observation, options: ReconcileOptions) -> None:
    """Update everything the seed does not reach: what brings Coder back (its database and its
    recovery, its deployment) must not wait on resources that need Coder to refresh."""
    with phase(session, "act (without the seed)") as detail:
        roots = seed_roots(observation.state)
        url = observation.coder.url if observation.coder else "?"
        note = (
            f"Coder at {url} did not answer and the state holds its seeded resources, which "
            "read Coder: updating the rest of the stack first, leaving out "
            f"{', '.join(urn.rsplit('::', 1)[-1] for urn in roots)} and what depends on it"
        )
        session.report.notes.append(note)
        session.progress.note(note)
        result = up_and_record(
            session, options.policy, options.break_stale_lock_after, exclude=roots
        )
        _add_changes(session, result.counts)
        detail.append(
            ", ".join(f"{op} {n}" for op, n in sorted(result.counts.items()))
            or "no resource changes"
        )


def wait_for_coder(
    session: Session, observation: Observation, options: ReconcileOptions
) -> Observation:
    """Coder answering its first-user question (it needs its database, not just its port);
    bounded, and the observation redone with the state the first pass wrote."""
    site = observation.coder
    assert site is not None  # _coder_down_with_seed
    with phase(session, "wait for Coder") as detail:
        deadline = time.monotonic() + options.coder_recovery_deadline_seconds
        while (first_user := _first_user(site)) is None:
            if time.monotonic() >= deadline:
                raise DependencyUnreachableError(
                    f"Coder at {site.url} did not answer within "
                    f"{options.coder_recovery_deadline_seconds:g} s after the rest of the stack "
                    "was updated",
                    "The update without the seeded resources is done (the report's healed "
                    "list); check Coder's pods and its database (kubectl get pods, kubectl "
                    "logs), then rerun reconcile",
                )
            time.sleep(options.coder_poll_seconds)
        if first_user:
            _hand_over_current_token(session, site)
        if session.report.coder is not None:
            session.report.coder.first_user = first_user
        state = session.engine.export_state()
        detail.append(
            "Coder answers with its first user"
            if first_user
            else "Coder answers with no first user: a reset"
        )
        return replace(
            observation, state=state, seeded=tuple(seeded_urns(state)), first_user=first_user
        )


def observe(
    session: Session, options: ReconcileOptions, dependencies: DependencyFactory
) -> Observation:
    with phase(session, "observe") as detail:
        check_visible_locks(session, options.break_stale_lock_after)
        config = validate_config(session)
        deps = dependencies(session, config)
        coder_probe = (
            CoderProbe(deps.coder)
            if deps.coder
            else SkippedProbe("coder", deps.coder_skip_reason or "Coder is off for this stack")
        )
        results = [
            p.check(options.dependency_deadline_seconds) for p in (*deps.probes, coder_probe)
        ]
        session.report.probes = [_probe_report(r) for r in results]
        # A Coder the stack deploys is the run's to heal; an existing one (coder.deploy: false)
        # is a dependency like Vault: down means exit 13, naming it, before anything is tried.
        existing_coder = (
            config.coder is not None and config.coder.enabled and not config.coder.deploy
        )
        soft = () if existing_coder else ("coder",)
        hard_failures = [
            r for r in results if r.status is ProbeStatus.FAILED and r.name not in soft
        ]
        if hard_failures:
            raise DependencyUnreachableError(
                "; ".join(
                    f"{r.name} ({r.endpoint or 'no endpoint'}): {r.detail}" for r in hard_failures
                ),
                "; ".join(
                    dict.fromkeys(
                        r.action
                        or "Check the endpoint and the network path from this runner, then rerun"
                        for r in hard_failures
                    )
                ),
            )
        state = session.engine.export_state()
        refuse_operator_uninstall(session.stack, config, state)
        seeded = tuple(seeded_urns(state))
        coder_ok = any(r.name == "coder" and r.status is ProbeStatus.OK for r in results)
        first_user = _first_user(deps.coder) if deps.coder and coder_ok else None
        if deps.coder is not None and first_user:
            _hand_over_current_token(session, deps.coder)
        if deps.coder:
            session.report.coder = CoderReport(
                url=deps.coder.url, first_user=first_user, token_expires_at=token_expiry(state)
            )
        resources = len((state.get("deployment") or {}).get("resources") or [])
        detail.append(f"{resources} resources in state, {len(seeded)} seeded")
        if deps.coder and first_user is None:
            detail.append("Coder did not answer: reset detection deferred")
        return Observation(config, state, seeded, deps.coder, first_user)


def decide(
    session: Session, observation: Observation, options: ReconcileOptions, name: str = "decide"
) -> Plan:
    """Reads only: the state edit a reset needs is planned here and carried out by act."""
    with phase(session, name) as detail:
        reset = observation.first_user is False and bool(observation.seeded)
        if session.report.coder is not None:
            session.report.coder.reset_detected = session.report.coder.reset_detected or reset
        if reset:
            removal = plan_seed_removal(observation.state)
            detail.append(
                f"Coder reset: {len(removal.removed)} seeded resources to drop from state "
                "and re-create"
            )
            return Plan((), removal)
        planned = preview_and_record(session, options.policy, options.break_stale_lock_after)
        detail.append(
            f"{len(planned.changes)} changes planned"
            if planned.changes
            else "no changes: converged"
        )
        return Plan(tuple(planned.changes))


def act(
    session: Session,
    observation: Observation,
    plan: Plan,
    options: ReconcileOptions,
    name: str = "act",
) -> None:
    with phase(session, name) as detail:
        if plan.seed_removal is not None:
            _remove_seed(session, observation, plan.seed_removal, options)
            detail.append("seeded subtree removed from state")
        result = up_and_record(session, options.policy, options.break_stale_lock_after)
        _add_changes(session, result.counts)
        detail.append(
            ", ".join(f"{op} {n}" for op, n in sorted(result.counts.items()))
            or "no resource changes"
        )


def verify(
    session: Session, observation: Observation, options: ReconcileOptions, *, acted: bool
) -> None:
    with phase(session, "verify") as detail:
        state = observation.state
        if acted:
            _expect_no_changes(session, options)
            detail.append("follow-up preview: no changes")
            state = session.engine.export_state()
        _expect_nothing_terminating(session)
        if observation.coder is None:
            detail.append("Coder checks skipped: Coder is off")
            return
        result = verify_coder(
            observation.coder, expected_templates(state), options.dependency_deadline_seconds
        )
        coder = session.report.coder or CoderReport(url=observation.coder.url)
        coder.checks = [
            CoderCheckReport(name=c.name, ok=c.ok, detail=c.detail) for c in result.checks
        ]
        coder.writes_by_runner += result.writes
        coder.token_expires_at = token_expiry(state) or coder.token_expires_at
        session.report.coder = coder
        failures = result.failures
        if any(f.name == UNREACHABLE_CHECK for f in failures):
            raise DependencyUnreachableError(
                f"Coder at {observation.coder.url} did not answer after the run",
                "Check the Coder deployment (pods, ingress) and rerun reconcile",
            )
        if failures:
            raise NotConvergedError(
                "Coder post-conditions failed: "
                + "; ".join(f"{f.name}: {f.detail}" for f in failures),
                "Read the report's coder.checks; fix the seeding inputs (Vault paths, template "
                "sources) and rerun reconcile",
            )
        detail.append(f"Coder: {len(result.checks)} checks passed")


def _expect_no_changes(session: Session, options: ReconcileOptions) -> None:
    collector = EventCollector("update")
    with contextlib.suppress(NotConvergedError):  # the collected steps say what differs
        run_operation(
            session,
            collector,
            lambda sink: session.engine.preview(
                policy=options.policy, expect_no_changes=True, on_event=sink
            ),
            options.break_stale_lock_after,
        )
    pending = collector.changes(applied=False)
    if pending or collector.errors:
        session.report.planned = resource_reports(pending)
        names = ", ".join(c.urn.rsplit("::", 1)[-1] for c in pending) or "see diagnostics"
        raise NotConvergedError(
            f"a preview after the update still shows {len(pending)} changes ({names})",
            "The program and the live state disagree after an update (a perpetual diff): "
            "read the report's planned list and fix that resource's inputs or provider",
        )


def _expect_nothing_terminating(session: Session) -> None:
    """An object being deleted (``metadata.deletionTimestamp``, held by a finalizer) matches
    the program to the engine, so the preview is empty; it is not converged: once gone it
    must be re-created. The latest preview's live view says which objects those are."""
    terminating = session.report.terminating
    if terminating:
        names = ", ".join(f"{t.urn.rsplit('::', 1)[-1]} ({t.type})" for t in terminating)
        raise NotConvergedError(
            f"{len(terminating)} object(s) the stack owns are being deleted (Terminating): {names}",
            "A finalizer holds each one: see which (kubectl get <kind> <name> -o "
            "jsonpath='{.metadata.finalizers}') and let its controller finish (kube-controller-"
            "manager's garbage collector and namespace controller for foregroundDeletion and "
            "kubernetes); once they are gone, rerun reconcile to re-create them",
        )


def _remove_seed(
    session: Session, observation: Observation, removal: SeedRemoval, options: ReconcileOptions
) -> None:
    note = (
        f"Coder at {observation.coder.url if observation.coder else '?'} reports no first user "
        f"while the state holds {len(observation.seeded)} seeded resources: their credentials "
        f"are dead; removing {len(removal.removed)} resources from state (export, filter, "
        "import), nothing else touched"
    )
    session.report.notes.append(note)
    session.progress.note(note)
    new_state = apply_seed_removal(observation.state, removal)
    with_lock_policy(
        session, options.break_stale_lock_after, lambda: session.engine.import_state(new_state)
    )
    session.report.state_edit = StateEditReport(
        reason="coder-reset",
        removed=list(removal.removed),
        kept=list(removal.kept),
        pruned_references={urn: list(refs) for urn, refs in removal.pruned.items()},
    )


def _hand_over_current_token(session: Session, site: CoderSite) -> None:
    """Give the provider host this run's published token, so seeded resources whose state holds
    a rotated (revoked) token still refresh with zero writes instead of showing an update."""
    if site.token_source is None:
        return
    token = site.published_token()
    if token:
        session.redactor.add(token)
        session.engine.set_env(CURRENT_CODER_TOKEN_ENV, token)


def _add_changes(session: Session, counts: dict[str, int]) -> None:
    for op, count in counts.items():
        session.report.changes[op] = session.report.changes.get(op, 0) + count


def _first_user(site: CoderSite) -> bool | None:
    client = site.client(None)
    try:
        return client.has_first_user()
    except CoderApiError:
        return None
    finally:
        client.close()


def _probe_report(result: ProbeResult) -> ProbeReport:
    return ProbeReport(
        name=result.name,
        status=result.status.value,
        endpoint=result.endpoint,
        attempts=result.attempts,
        duration_seconds=result.seconds,
        detail=result.detail,
    )
