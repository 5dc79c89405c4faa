"""The ``seeding`` section: the Coder state the program owns, from the automation identity and
its token to the license, users, groups and templates."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from coder_platform.config.base import ConfigModel
from coder_platform.config.seeded_state import (
    GroupConfig,
    LicenseConfig,
    TemplateSettings,
    UserConfig,
)


class SeedingConfig(ConfigModel):
    """Coder state the program owns (C3): the automation identity and its rotating token, the
    license, users, groups and templates."""

    enabled: bool = Field(True, description="seed Coder (needs coder.enabled)")
    automation_full_name: str = Field("Coder Platform Automation", min_length=1)
    token_name: str = Field(
        "coder-platform-automation",
        pattern=r"^[a-z0-9][a-z0-9-]{0,57}$",
        description="a lowercase name of up to 58 characters (each minted token adds a "
        "6-character suffix, so the next one can be minted before the old one is revoked)",
    )
    token_lifetime_hours: int = Field(
        336, ge=1, le=8760, description="hours the automation token lives, 1 to 8760"
    )
    token_rotation_window_hours: int = Field(
        96, ge=1, description="rotate when fewer than this many hours remain"
    )
    templates_directory: str = Field(
        "templates",
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$",
        description="the folder, relative to the project, whose directories are the templates",
    )
    templates: dict[str, TemplateSettings] = Field(
        default_factory=dict,
        description="settings per directory under templates/ (each directory is published)",
    )
    retain_templates_on_delete: bool | None = Field(
        None, description="keep templates in Coder when removed from the stack (prod: true)"
    )
    users: list[UserConfig] = Field(default_factory=list, description="Coder users to own")
    removed_users: Literal["suspend", "delete"] = Field(
        "suspend", description="what happens to a user removed from config: suspend or delete"
    )
    groups: list[GroupConfig] = Field(default_factory=list, description="Coder groups to own")
    everyone_quota_allowance: int | None = Field(
        None,
        ge=0,
        description="Premium (template_rbac): the workspace quota of the organization's "
        "Everyone group; unset: not managed",
    )
    license: LicenseConfig | None = Field(None, description="the license, from Vault")
