"""Which policy pack a run uses: ``policy/`` with ``policy/config/<environment>.json``."""

from __future__ import annotations

from pathlib import Path

from automation.engine.protocol import PolicySettings
from automation.errors import ConfigInvalidError


def resolve_policy(
    work_dir: Path, environment: str | None, pack: Path | None, config: Path | None
) -> PolicySettings:
    """The pack (``--policy-pack`` or ``policy/``) and its config: ``--policy-config``, else
    ``policy/config/<environment>.json`` when there is one. ``environment`` is the one the run
    already read from the stack file."""
    pack_dir = (pack or work_dir / "policy").resolve()
    if not (pack_dir / "PulumiPolicy.yaml").exists():
        raise ConfigInvalidError(
            f"no policy pack at {pack_dir} (PulumiPolicy.yaml missing)",
            "Pass --policy-pack <dir>, or --no-policy for a preview/up without policies",
        )
    if config is not None:
        if not config.exists():
            raise ConfigInvalidError(
                f"policy config {config} does not exist", "Pass an existing --policy-config file"
            )
        return PolicySettings(pack_dir, config.resolve())
    default = pack_dir / "config" / f"{environment}.json"
    return PolicySettings(pack_dir, default if environment and default.exists() else None)
