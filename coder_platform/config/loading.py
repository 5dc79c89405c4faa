"""Reading and validating a stack's config: every problem at once, nothing registered before."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from coder_platform.config.issues import ConfigError, ConfigIssue
from coder_platform.config.rules import semantic_issues
from coder_platform.config.schema import PlatformConfig
from coder_platform.contracts import PROJECT


def load_config(raw: Mapping[str, Any]) -> PlatformConfig:
    """Validate raw stack config (key -> value, without the project prefix).

    Raises ``ConfigError`` with every problem at once.
    """
    try:
        config = PlatformConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError([_issue_from_pydantic(err) for err in exc.errors()]) from None
    issues = list(semantic_issues(config))
    if issues:
        raise ConfigError(issues)
    return config


def raw_stack_config(entries: Mapping[str, str]) -> dict[str, Any]:
    """Turn Pulumi's flat ``project:key -> string`` config into the dict the model reads.

    Structured values arrive as JSON strings; other namespaces (``kubernetes:``) are ignored.
    """
    raw: dict[str, Any] = {}
    prefix = f"{PROJECT}:"
    for full_key, value in entries.items():
        if not full_key.startswith(prefix):
            continue
        raw[full_key[len(prefix) :]] = _decode(value)
    return raw


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def config_key(loc: tuple[Any, ...]) -> str:
    """A location as Pulumi's ``--path`` syntax writes it: ``seeding.users[0].email``."""
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _issue_from_pydantic(err: Any) -> ConfigIssue:
    key = config_key(err["loc"])
    if err["type"] == "missing":
        message = "is required"
    elif err["type"] == "extra_forbidden":
        message = "is not a known setting (check the spelling; keys are camelCase)"
    else:
        message = str(err["msg"]).removeprefix("Value error, ")
    hint = _field_description(tuple(err["loc"]))
    if hint and err["type"] != "extra_forbidden":
        message = f"{message}. Allowed: {hint}"
    return ConfigIssue(key=key, message=message)


def _field_description(loc: tuple[Any, ...]) -> str | None:
    """The description of the field a location ends at; list indexes and mapping keys (a
    template's directory name) step into the item model."""
    model: type[BaseModel] | None = PlatformConfig
    description: str | None = None
    keyed = False
    for part in loc:
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        if model is None:
            return None
        field = next((f for name, f in model.model_fields.items() if part in (name, f.alias)), None)
        if field is None:
            return None
        description = field.description
        annotation = field.annotation
        keyed = getattr(annotation, "__origin__", None) is dict
        model = _model_in(annotation)
    return description


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def read_stack_config() -> PlatformConfig:
    """Read this stack's ``coder-platform:*`` config from the Pulumi runtime and validate it."""
    from pulumi.runtime import config as runtime_config

    entries = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return load_config(raw_stack_config(entries))


class StackFileError(Exception):
    """A stack file is missing or not valid YAML; the message names the file and the line."""


def stack_file_document(path: Path) -> dict[str, Any]:
    """The parsed ``stacks/Pulumi.<stack>.yaml`` (or ``Pulumi.yaml``): a mapping, ``{}`` if empty.

    A YAML error names a position and a rule, never the file's content (it may hold secrets).
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackFileError(f"{path}: no such stack file") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None)
        raise StackFileError(
            f"{where}: is not valid YAML" + (f" ({problem})" if problem else "")
        ) from None
    return data if isinstance(data, dict) else {}


def stack_file_config(document: Mapping[str, Any]) -> dict[str, Any]:
    """A stack file's ``coder-platform:*`` config, keys without the project prefix."""
    config = document.get("config") or {}
    return raw_stack_config(config) if isinstance(config, dict) else {}


def read_stack_file(path: Path) -> PlatformConfig:
    """A stack file read and validated as the program validates its config.

    For tools that read a stack outside a Pulumi run (the local platform's launcher, drill and
    summary): they get the same defaults and the same errors, and no copy of either.
    """
    return load_config(stack_file_config(stack_file_document(path)))
