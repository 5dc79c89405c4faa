"""The inputs of ``CoderTemplate``: which ones replace, version or patch it, and their C1 checks.

The rules follow Coder's own validation, so a bad value fails at preview, naming the field,
instead of half way through an ``up``: template names are 1-32 characters of letters, digits
and inner hyphens (here lowercase only, so a name is one spelling), display names at most 64
characters without surrounding spaces, descriptions at most 127 characters (codersdk's
``CreateTemplateRequest`` validates ``lt=128``), durations whole, non-negative milliseconds.
Messages name the field, never the value (a value may be a secret).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

import pulumi.dynamic as dyn

from coder_platform.coder_api.models import WEEKDAYS
from coder_platform.coder_api.templates import (
    LIFECYCLE_BY_NAME,
    MAX_AUTOSTOP_WEEKS,
    TemplateMeta,
    canonical_days,
)
from components.providers.common import is_http_url, is_known, whole_number

# A change of server or organization is another template; a new name is a rename in place
# (``PATCH /templates/{id}`` with ``name``, as coderd does: a replace would fail as soon as the
# old template has workspaces).
REPLACING_INPUTS = ("url", "organization")
RENAMING_INPUTS = ("name",)
# A change of content or Terraform variables needs a new template version.
VERSIONING_INPUTS = ("directory_hash", "variables")
# Settings are patched in place, with no new version.
SETTINGS_INPUTS = ("display_name", "description", "icon", "default_ttl_ms", "activity_bump_ms")
# Lifecycle and security settings (coderd's names), only those declared: patched in place too.
LIFECYCLE_INPUT = "lifecycle"
# Never compared: the credentials (a rotation is not a change) and where the checkout lives.

NAME_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
NAME_MAX = 32
DISPLAY_NAME_MAX = 64
DESCRIPTION_MAX = 127
HASH_PATTERN = re.compile(r"[0-9a-f]{64}")


def variables_of(props: Mapping[str, Any]) -> dict[str, str]:
    """The Terraform variables as a plain dict (absent means none)."""
    variables = props.get("variables")
    return dict(variables) if isinstance(variables, Mapping) else {}


def settings_of(props: Mapping[str, Any]) -> TemplateMeta:
    return TemplateMeta(
        display_name=props.get("display_name") or "",
        description=props.get("description") or "",
        icon=props.get("icon") or "",
        default_ttl_ms=whole_number(props.get("default_ttl_ms")) or 0,
        activity_bump_ms=whole_number(props.get("activity_bump_ms")) or 0,
    )


def _relative_directory(value: Any) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    path = PurePosixPath(value)
    return not path.is_absolute() and ".." not in path.parts


def _string_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and (isinstance(v, str) or not is_known(v)) for k, v in value.items()
    )


def _nonempty(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _milliseconds(value: Any) -> bool:
    number = whole_number(value)
    return number is not None and number >= 0


# Each input's rule and what the message says to change (C1), in the order they are reported.
TEMPLATE_RULES: tuple[tuple[str, Callable[[Any], Any], str], ...] = (
    ("url", is_http_url, "must be the Coder access URL, starting with http:// or https://"),
    ("token", _nonempty, "is required (the automation identity's API token)"),
    ("organization", _nonempty, "must name a Coder organization (default: default)"),
    (
        "name",
        lambda v: isinstance(v, str) and len(v) <= NAME_MAX and NAME_PATTERN.fullmatch(v),
        f"must be 1-{NAME_MAX} lowercase letters, digits or inner hyphens",
    ),
    (
        "display_name",
        lambda v: isinstance(v, str) and len(v) <= DISPLAY_NAME_MAX and v == v.strip(),
        f"must be at most {DISPLAY_NAME_MAX} characters, without leading or trailing spaces",
    ),
    (
        "description",
        lambda v: isinstance(v, str) and len(v) <= DESCRIPTION_MAX,
        f"must be at most {DESCRIPTION_MAX} characters",
    ),
    ("icon", lambda v: isinstance(v, str), "must be a string (a URL or /icon/ path)"),
    ("default_ttl_ms", _milliseconds, "must be a whole, non-negative number of milliseconds"),
    ("activity_bump_ms", _milliseconds, "must be a whole, non-negative number of milliseconds"),
    (
        "variables",
        lambda v: v is None or _string_map(v),
        "must map Terraform variable names to string values",
    ),
    (
        "directory",
        _relative_directory,
        "must be a path inside the repository, e.g. templates/<name>",
    ),
    (
        "source_root",
        lambda v: isinstance(v, str) and PurePosixPath(v).is_absolute(),
        "must be the absolute path of the repository checkout",
    ),
    (
        "directory_hash",
        lambda v: isinstance(v, str) and HASH_PATTERN.fullmatch(v),
        "must be the sha256 (hex) of the directory from template_archive.directory_hash",
    ),
    (
        "disable_everyone_group_access",
        lambda v: v is None or isinstance(v, bool),
        "must be true or false",
    ),
    (
        "lifecycle",
        lambda v: v is None or _lifecycle_ok(v),
        "must map coderd lifecycle setting names ("
        + ", ".join(LIFECYCLE_BY_NAME)
        + ") to values of their type (true/false, whole milliseconds, text, a port share "
        "level, {days_of_week, weeks} with lowercase weekdays and 1-16 weeks)",
    ),
)


def lifecycle_of(props: Mapping[str, Any]) -> dict[str, Any]:
    """The declared lifecycle settings (absent means none: nothing managed), numbers whole and
    days as Coder answers them (Monday first), so a converged template compares equal."""
    value = props.get("lifecycle")
    if not isinstance(value, Mapping):
        return {}
    return {key: _normal(key, item) for key, item in value.items() if key in LIFECYCLE_BY_NAME}


def _normal(key: str, item: Any) -> Any:
    kind = LIFECYCLE_BY_NAME[key].kind
    if kind is int:
        return whole_number(item)
    if kind is dict and isinstance(item, Mapping):
        normal: dict[str, Any] = {"days_of_week": canonical_days(item.get("days_of_week") or [])}
        if key == "autostop_requirement":
            normal["weeks"] = whole_number(item.get("weeks", 1)) or 1
        return normal
    return item


def _lifecycle_ok(value: Any) -> bool:
    return isinstance(value, Mapping) and all(_setting_ok(key, item) for key, item in value.items())


def _setting_ok(key: str, item: Any) -> bool:
    setting = LIFECYCLE_BY_NAME.get(key)
    if setting is None:
        return False
    if not is_known(item):
        return True
    if setting.kind is int:
        return _milliseconds(item)
    if setting.kind is dict:
        return _requirement_ok(key, item)
    if setting.choices is not None:
        return item in setting.choices
    return isinstance(item, setting.kind)


def _requirement_ok(key: str, item: Any) -> bool:
    """coderd's checks: known weekdays, each once; autostop weeks 1 to 16."""
    allowed = {"days_of_week", "weeks"} if key == "autostop_requirement" else {"days_of_week"}
    if not isinstance(item, Mapping) or not set(item) <= allowed:
        return False
    days = item.get("days_of_week") or []
    if not isinstance(days, list | tuple) or not all(d in WEEKDAYS for d in days):
        return False
    if len(set(days)) != len(days):
        return False
    weeks = whole_number(item.get("weeks", 1))
    return weeks is not None and 1 <= weeks <= MAX_AUTOSTOP_WEEKS


def template_failures(props: Mapping[str, Any]) -> list[dyn.CheckFailure]:
    """C1: every input's rule; a value unknown at preview is checked once it is known."""
    return [
        dyn.CheckFailure(field, f"{field}: {reason}")
        for field, ok, reason in TEMPLATE_RULES
        if is_known(props.get(field)) and not ok(props.get(field))
    ]
