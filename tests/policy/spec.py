"""The rules the issue asks for: name, the contract clauses each cites, and its kind."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    clauses: tuple[str, ...]
    stack: bool = False


RULES = {
    "storage-class-retain": Rule(("C3",)),
    "cnpg-cluster-wal-archiving": Rule(("C3",)),
    "cnpg-cluster-recoverable": Rule(("C3",), stack=True),
    "cnpg-recovery-archive-isolation": Rule(("C3",), stack=True),
    "reconciler-cronjob-shape": Rule(("P1", "C4")),
    "hook-job-run-id": Rule(("P2", "C4")),
    "no-literal-secrets": Rule(("C5", "C2")),
    "no-placeholders": Rule(("C1",)),
    "pinned-charts": Rule(("C2",)),
    "coder-admin-oidc": Rule(("/setup",)),
    "token-rotation": Rule(("C3",), stack=True),
    "vault-paths": Rule(("C5",)),
    "coder-template-content-hash": Rule(("C2",)),
    "postgres-tls-verified": Rule(("C5",)),
    "coder-template-access": Rule(("C3",), stack=True),
    "reconciled-stack-without-operators": Rule(("P1",), stack=True),
}
