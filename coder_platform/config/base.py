"""What every config section shares: camelCase keys, no unknown keys, and the value patterns.

Sections live in modules of their own (``schema`` holds the root and the platform sections);
each imports its base from here, so no section module imports another.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"
UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
SEMVER = r"^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$"
GO_DURATION = r"^([0-9]+(h|m|s))+$"
KV_PATH = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"
DOT_SEGMENTS = frozenset({".", ".."})


def kv_path(value: str) -> str:
    """A Vault path the stack reads or writes. Vault cleans ``.`` and ``..`` segments out of a
    request path, so ``coder/../../sys/policies/acl/x`` reaches ``sys/``: refused (C5)."""
    if not re.fullmatch(KV_PATH, value):
        raise ValueError(
            "must be a Vault path: segments of letters, digits, '_', '-' and '.' joined by '/'"
        )
    if any(segment in DOT_SEGMENTS for segment in value.split("/")):
        raise ValueError(
            "has a '.' or '..' segment: Vault resolves it, so the path would leave the stack's "
            "folder; write the path without it"
        )
    return value


KvPath = Annotated[str, AfterValidator(kv_path)]


class ConfigModel(BaseModel):
    """Base for every config section: camelCase keys as in stack YAML, no unknown keys."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )
