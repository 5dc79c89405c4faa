"""Which Coder templates a stack publishes: every directory under ``templates/``, with its
settings from ``seeding.templates.<directory>`` and its content hash.

Checked when the config is (C1): a settings key without a directory, or a directory without
Terraform, fails the run before anything is registered, with the config key named. The hash is
computed here, in the program, so a preview already knows whether a template changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from coder_platform.config import ConfigError, ConfigIssue
from coder_platform.config.seeded_state import TEMPLATE_OR_GROUP_NAME, TemplateSettings
from coder_platform.template_archive import TemplateDirectoryError, directory_hash

TEMPLATES_DIR = "templates"


@dataclass(frozen=True)
class TemplateSource:
    """One template to publish: its config key (the directory's name, which also keys the
    Pulumi resource, so a rename in Coder is an update, never a replace), Coder's name for it
    (``settings.name``, else the key), where it is, and what it is set to."""

    key: str
    name: str
    directory: str  # relative to the project root, ``/``-separated
    content_hash: str
    settings: TemplateSettings


def discover(
    project_root: Path, settings: Mapping[str, TemplateSettings], folder: str = TEMPLATES_DIR
) -> list[TemplateSource]:
    """Every template directory under ``folder``, in name order; raises ``ConfigError`` naming
    each bad key."""
    root = project_root / folder
    if root.is_symlink():
        raise ConfigError(
            [
                ConfigIssue(
                    "seeding.templates",
                    f"{folder}/ is a symlink; templates are archived from a real folder inside "
                    "the repository only: replace the link with the folder",
                )
            ]
        )
    directories = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    names = {path.name for path in directories}
    issues = [
        ConfigIssue(
            f"seeding.templates.{name}",
            f"names no directory under {folder}/ (found: {', '.join(sorted(names)) or 'none'})",
        )
        for name in sorted(settings)
        if name not in names
    ]
    sources: list[TemplateSource] = []
    for path in directories:
        if path.name.startswith("."):
            continue
        if not re.fullmatch(TEMPLATE_OR_GROUP_NAME, path.name) or len(path.name) > 32:
            issues.append(
                ConfigIssue(
                    f"seeding.templates.{path.name}",
                    f"{folder}/{path.name} is not a Coder template name (1-32 lowercase "
                    "letters, digits, inner hyphens): rename the directory",
                )
            )
            continue
        try:
            content_hash = directory_hash(path)
        except TemplateDirectoryError as error:
            issues.append(ConfigIssue(f"seeding.templates.{path.name}", str(error)))
            continue
        chosen = settings.get(path.name) or TemplateSettings()
        sources.append(
            TemplateSource(
                key=path.name,
                name=chosen.name or path.name,
                directory=f"{folder}/{path.name}",
                content_hash=content_hash,
                settings=chosen,
            )
        )
    if issues:
        raise ConfigError(issues)
    return sources
