"""Typed stack configuration for coder-platform.

Everything a stack sets is one pydantic model tree (``schema``), checked by rules that span
keys (``rules``) and read from the Pulumi runtime once by ``wiring/load.py`` (``loading``),
before any resource is registered (seeding contract C1: failfast on required inputs). Errors
name the full Pulumi config key (``coder-platform:database.backup.retentionDays``), say what is
allowed, are all reported at once, and never echo a value.
"""

from coder_platform.config.issues import ConfigError, ConfigIssue
from coder_platform.config.loading import (
    StackFileError,
    load_config,
    raw_stack_config,
    read_stack_config,
    read_stack_file,
    stack_file_config,
    stack_file_document,
)
from coder_platform.config.reconciler import ReconcilerConfig
from coder_platform.config.rules import go_duration_hours
from coder_platform.config.schema import (
    MANAGED_ENVIRONMENTS,
    AzureConfig,
    BackupConfig,
    CoderConfig,
    DatabaseConfig,
    LocalSecretsConfig,
    PlatformConfig,
    VaultConfig,
)
from coder_platform.config.seeding import SeedingConfig

__all__ = [
    "MANAGED_ENVIRONMENTS",
    "AzureConfig",
    "BackupConfig",
    "CoderConfig",
    "ConfigError",
    "ConfigIssue",
    "DatabaseConfig",
    "LocalSecretsConfig",
    "PlatformConfig",
    "ReconcilerConfig",
    "SeedingConfig",
    "StackFileError",
    "VaultConfig",
    "go_duration_hours",
    "load_config",
    "raw_stack_config",
    "read_stack_config",
    "read_stack_file",
    "stack_file_config",
    "stack_file_document",
]
