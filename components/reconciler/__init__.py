"""ReconcilerSchedule: the in-cluster, scheduled ``python -m automation reconcile`` (contract P1).

``schedule`` holds the component, ``args`` what it is built from.
"""

from components.reconciler.args import (
    Mode,
    OperatorSource,
    ReconcilerScheduleArgs,
    SecretKeyRef,
)
from components.reconciler.schedule import ReconcilerSchedule

__all__ = [
    "Mode",
    "OperatorSource",
    "ReconcilerSchedule",
    "ReconcilerScheduleArgs",
    "SecretKeyRef",
]
