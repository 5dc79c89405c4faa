"""Everything read and checked before the first resource is registered (contract C1)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from coder_platform.config import ConfigError, PlatformConfig, read_stack_config
from coder_platform.template_sources import TemplateSource, discover
from coder_platform.vault_inputs import (
    BootstrapInputs,
    VaultInputError,
    read_from_local,
    read_from_vault,
)
from wiring.seeded_inputs import check_seeded_inputs


@dataclass(frozen=True)
class Loaded:
    """Everything read and checked before the first resource is registered (C1)."""

    config: PlatformConfig
    inputs: BootstrapInputs | None
    templates: list[TemplateSource]
    project_root: Path


def load(project_root: Path) -> Loaded:
    """Validate config, read every secret input and hash every template directory."""
    try:
        config = read_stack_config()
        if config.coder is None or not config.coder.enabled:
            return Loaded(config, None, [], project_root)
        if config.vault.enabled:
            inputs = read_from_vault(config.vault, config.seeding)
        else:
            assert config.local_secrets is not None  # enforced by config validation
            inputs = read_from_local(config.local_secrets)
        seeding = config.seeding
        if seeding is None or not seeding.enabled:
            return Loaded(config, inputs, [], project_root)
        check_seeded_inputs(config, inputs)
        templates = discover(project_root, seeding.templates, seeding.templates_directory)
        return Loaded(config, inputs, templates, project_root)
    except (ConfigError, VaultInputError) as error:
        # RunError prints the message without a traceback; nothing has been registered.
        raise pulumi.RunError(str(error)) from None
