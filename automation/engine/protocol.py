"""The stack/workspace interface the runner depends on (a Protocol), and its value types.

The real implementation wraps ``pulumi.automation`` (``pulumi_engine.py``); tests inject a fake.
Keeping the runner on this seam is what lets every phase, exit code and report be proven without
a Pulumi CLI (Pulumi mocks never run a dynamic provider's ``create``: test the logic where mocks
cannot hide it).

Contract for implementations:

- ``preview`` and ``up`` refresh with the program run (``refresh=True, run_program=True``), so
  providers get fresh credentials instead of the dead ones stored in state (a plain refresh
  reuses those);
- ``export_state`` returns the untyped deployment *without* decrypting secrets (ciphertext stays
  ciphertext), and ``import_state`` writes it back;
- failures raise ``automation.errors`` classes (locked, config, update failed, not converged);
- events go to ``on_event`` as runner events (``automation.reporting.events``), already translated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from automation.errors import LockHolder
from automation.reporting.events import RunEvent

EventSink = Callable[[RunEvent], None]


@dataclass(frozen=True)
class ConfigEntry:
    """One stack config value; secret values are only ever handed to the redactor and C1."""

    value: str
    secret: bool = False

    def __repr__(self) -> str:
        return f"ConfigEntry(secret={self.secret})" if self.secret else super().__repr__()


@dataclass(frozen=True)
class PolicySettings:
    """The CrossGuard pack and its per-environment config (``policy/config/<env>.json``)."""

    pack: Path
    config: Path | None = None


@dataclass(frozen=True)
class OperationSummary:
    changes: Mapping[str, int] = field(default_factory=dict)


class StackEngine(Protocol):
    @property
    def stack_name(self) -> str: ...

    def config(self) -> Mapping[str, ConfigEntry]:
        """Flat ``project:key -> value`` stack config, as ``pulumi config --json`` has it."""
        ...

    def locks(self) -> Sequence[LockHolder]:
        """Locks visible without an update (file backends); empty where the backend hides them."""
        ...

    def export_state(self) -> dict[str, Any]: ...

    def import_state(self, state: Mapping[str, Any]) -> None: ...

    def preview(
        self, *, policy: PolicySettings | None, expect_no_changes: bool, on_event: EventSink
    ) -> OperationSummary: ...

    def up(
        self,
        *,
        policy: PolicySettings | None,
        on_event: EventSink,
        exclude: Sequence[str] = (),
    ) -> OperationSummary:
        """``pulumi up --refresh``; ``exclude`` names resources to leave alone, neither refreshed
        nor changed, with everything that depends on them or is their child (the CLI's
        ``--exclude`` with ``--exclude-dependents``)."""
        ...

    def preview_refresh(self, *, on_event: EventSink) -> OperationSummary: ...

    def destroy(self, *, on_event: EventSink) -> OperationSummary: ...

    def cancel(self) -> None:
        """``pulumi cancel``: for DIY backends this removes the stack's lock files."""
        ...

    def set_env(self, name: str, value: str) -> None:
        """Add a variable to every later CLI call (e.g. a VAULT_TOKEN obtained in-cluster)."""
        ...
