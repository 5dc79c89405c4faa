"""Everything read and checked before the first resource is registered (contract C1)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
from pydantic import SecretStr

from coder_platform.config import ConfigError, PlatformConfig, read_stack_config
from coder_platform.template_sources import TemplateSource, discover
from coder_platform.vault_inputs import (
    BootstrapInputs,
    VaultInputError,
    read_connection_string,
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
    # The backup store's connection string (database.backup.connectionStringPath), else None.
    store_connection_string: SecretStr | None = None


def load(project_root: Path) -> Loaded:
    """Validate config, read every secret input and hash every template directory."""
    try:
        config = read_stack_config()
        if config.operators_scope:  # installs the operators only: no input to read
            return Loaded(config, None, [], project_root)
        if config.coder is None or not config.coder.enabled:
            store = read_connection_string(config.vault, config.database.backup)
            return Loaded(config, None, [], project_root, store)
        if config.vault.enabled:
            inputs = read_from_vault(
                config.vault, config.seeding, config.database.backup, config.coder
            )
        else:
            assert config.local_secrets is not None  # enforced by config validation
            inputs = read_from_local(config.local_secrets)
        store = inputs.backup_connection_string
        seeding = config.seeding
        if seeding is None or not seeding.enabled:
            return Loaded(config, inputs, [], project_root, store)
        check_seeded_inputs(config, inputs)
        templates = discover(project_root, seeding.templates, seeding.templates_directory)
        return Loaded(config, inputs, templates, project_root, store)
    except (ConfigError, VaultInputError) as error:
        # RunError prints the message without a traceback; nothing has been registered.
        raise pulumi.RunError(str(error)) from None
