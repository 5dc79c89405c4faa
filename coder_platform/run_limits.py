"""How long one run may take, and what follows from it: one home for the numbers that the
CronJob (components/reconciler), the config check, the runner and the Coder template provider
must agree on. A copy of any of them in two places is how a pod got 30 s to do a 60 s cancel.

- ``TEMPLATE_IMPORT_DEADLINE_SECONDS``: the longest internal deadline of a run (waiting for a
  template version's import job, ``CoderTemplate``). A Job deadline shorter than it kills runs
  that are working as designed, so the config refuses one (``reconciler.activeDeadlineSeconds``).
- ``ENGINE_CANCEL_GRACE_SECONDS``: how long the supervisor gives the Pulumi CLI to cancel
  gracefully (finish in-flight steps, write the checkpoint, release the stack lock) before
  SIGKILL (``automation/engine/supervisor.py``).
- ``TERMINATION_GRACE_SECONDS``: the pod's ``terminationGracePeriodSeconds``. The kubelet sends
  SIGTERM to the runner (PID 1), which has the supervisor cancel the CLI, then sends SIGKILL to the
  whole pod after this many seconds (Kubernetes "Termination of Pods"); it must cover the cancel,
  the orphan clean-up and writing the report.
- ``CI_RUN_LIMIT_SECONDS``: the longest a CI job that runs the engine may take
  (``timeout-minutes`` in .github/workflows/, checked by a test).
- ``stale_lock_after_seconds``: the age past which an in-cluster run may break the stack lock.
  With ``concurrencyPolicy: Forbid`` no second in-cluster run starts while one runs, and Kubernetes
  ends a run at ``activeDeadlineSeconds`` plus the grace period; CI runs end within
  ``CI_RUN_LIMIT_SECONDS``. So a lock older than the larger of the two, plus the grace period, has
  no live holder: it was left by a run that was killed (OOM, node drain, SIGKILL).
"""

from __future__ import annotations

TEMPLATE_IMPORT_DEADLINE_SECONDS = 900
ENGINE_CANCEL_GRACE_SECONDS = 60
# Cancel, then up to 5 s for the plugins left behind (supervisor.ORPHAN_GRACE_SECONDS), then the
# report: 30 s of margin for the last two.
TERMINATION_GRACE_SECONDS = ENGINE_CANCEL_GRACE_SECONDS + 30
CI_RUN_LIMIT_SECONDS = 30 * 60


def stale_lock_after_seconds(active_deadline_seconds: int) -> int:
    """The lock age an in-cluster run may break (see the module docstring for why it is safe)."""
    return max(active_deadline_seconds, CI_RUN_LIMIT_SECONDS) + TERMINATION_GRACE_SECONDS
