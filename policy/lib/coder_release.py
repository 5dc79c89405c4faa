"""The Coder Helm release and the settings its ``coder.env`` carries.

The release is the Helm Release (or v4 Chart) of chart ``coder``. Its env tells whether the stack
is SSO-only (``CODER_DISABLE_PASSWORD_AUTH``) and caps an Owner's token lifetime
(``CODER_MAX_ADMIN_TOKEN_LIFETIME``, default 168h).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .env_vars import EnvVar, find_env, literal_env
from .props import as_text, dig
from .resources import HELM_TYPES

CHART = "coder"
DISABLE_PASSWORD_AUTH = "CODER_DISABLE_PASSWORD_AUTH"
MAX_ADMIN_TOKEN_LIFETIME = "CODER_MAX_ADMIN_TOKEN_LIFETIME"
ENV_PATH = "values.coder.env"


def is_coder_release(resource_type: str, props: Mapping[str, Any]) -> bool:
    if resource_type not in HELM_TYPES:
        return False
    chart = as_text(props.get("chart")) or ""
    return chart == CHART or chart.endswith(f"/{CHART}")


def coder_env(props: Mapping[str, Any]) -> Any:
    return dig(props, "values", "coder", "env")


def sso_only(props: Mapping[str, Any]) -> bool:
    """Password login is off for everyone but Owners (only a literal ``"true"`` counts)."""
    return (literal_env(coder_env(props), DISABLE_PASSWORD_AUTH) or "").lower() == "true"


def admin_token_cap(props: Mapping[str, Any]) -> EnvVar | None:
    """The env entry capping an Owner's tokens, if the release sets one."""
    return find_env(coder_env(props), MAX_ADMIN_TOKEN_LIFETIME)
