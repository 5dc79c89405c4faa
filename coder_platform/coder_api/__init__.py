"""The one Coder API client, its typed errors and models (shared by providers and the runner)."""

from coder_platform.clock import SystemClock
from coder_platform.coder_api.client import CoderClient
from coder_platform.coder_api.errors import (
    CoderApiError,
    CoderAuthError,
    CoderCheckError,
    CoderConflictError,
    CoderNotEntitledError,
    CoderNotFoundError,
    CoderRoleSyncError,
    CoderSelfTargetError,
    CoderUnreachableError,
    CoderUserInUseError,
)
from coder_platform.coder_api.models import (
    ApiKey,
    BuildInfo,
    Entitlements,
    Group,
    License,
    Template,
    TemplateVersion,
    User,
)

__all__ = [
    "ApiKey",
    "BuildInfo",
    "CoderApiError",
    "CoderAuthError",
    "CoderCheckError",
    "CoderClient",
    "CoderConflictError",
    "CoderNotEntitledError",
    "CoderNotFoundError",
    "CoderRoleSyncError",
    "CoderSelfTargetError",
    "CoderUnreachableError",
    "CoderUserInUseError",
    "Entitlements",
    "Group",
    "License",
    "SystemClock",
    "Template",
    "TemplateVersion",
    "User",
]
