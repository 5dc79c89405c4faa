"""The rules of the ``seeding-contract`` pack; ``__main__.py`` serves them.

The list is built from ``rules/``: each folder holds one rule (``rule.py`` with its ``POLICY``)
and its allowed/disallowed samples, so adding a rule is adding a folder (gatekeeper-library's
layout). Folders are loaded in name order; enforcement does not depend on the order.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from pulumi_policy import Policy

PACK_NAME = "seeding-contract"
DESCRIPTION = (
    "The seeding contract (C1 failfast, C2 idempotent, C3 self-healing, C4 evidence, C5 clean "
    "wiring; P1 reconciler CronJob, P2 hook Job) as CrossGuard policies for coder-platform."
)
RULES_DIR = Path(__file__).resolve().parent / "rules"


def rule_folders() -> list[Path]:
    """Every rule folder, in name order: a folder with a ``rule.py``."""
    return sorted(path.parent for path in RULES_DIR.glob("*/rule.py"))


def load_policies() -> list[Policy]:
    """Import each folder's ``rule.py`` relative to this package, wherever the pack is loaded
    from (``policy`` in tests, ``seeding_contract`` in the analyzer)."""
    policies: list[Policy] = []
    for folder in rule_folders():
        module = importlib.import_module(f"{__package__}.rules.{folder.name}.rule")
        policy = module.POLICY
        if not isinstance(policy, Policy):
            raise TypeError(f"{folder}/rule.py: POLICY must be a pulumi_policy Policy")
        policies.append(policy)
    return policies


POLICIES: list[Policy] = load_policies()
