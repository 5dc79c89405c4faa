"""The workaround for the SDK's provider serializer: many dynamic resources in one process."""

from __future__ import annotations

import pickle
from typing import Any

import pulumi.dynamic.dynamic as pulumi_dynamic

from components.providers.coder_template import CoderTemplateProvider
from components.providers.sdk_internals import serialize_provider


def test_thousands_of_providers_serialize_when_one_program_registers_them() -> None:
    first = pulumi_dynamic.serialize_provider(CoderTemplateProvider())
    for _ in range(3000):  # unpatched, the nesting fails with RecursionError near 300
        assert pulumi_dynamic.serialize_provider(CoderTemplateProvider()) == first


def test_the_sdk_serializer_is_the_wrapped_one_and_pickle_is_left_as_found() -> None:
    pickler: Any = vars(pickle)["_Pickler"]
    before = pickler._batch_setitems
    assert pulumi_dynamic.serialize_provider is serialize_provider
    serialize_provider(CoderTemplateProvider())
    assert pickler._batch_setitems is before
