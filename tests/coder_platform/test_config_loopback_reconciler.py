"""``reconciler.hostNetwork``, ``envFromSecret`` and ``suspend``: what a local node's reconciler
needs (host processes on 127.0.0.1, a storage key for the state in Azurite, Jobs by hand), each
refused in dev/prod naming its key, and taken on a loopback stack."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from coder_platform.config import ConfigError, load_config
from testbed.harness import load_stack_file


def _problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    return [str(issue) for issue in caught.value.issues]


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("hostNetwork", True, "cannot be true in dev/prod: the run's pod would take its node's"),
        ("envFromSecret", "node-state", "cannot be set in dev/prod: the run reaches the state"),
        ("suspend", True, "cannot be true in dev/prod: the scheduled run is what heals"),
    ],
)
def test_a_loopback_reconciler_setting_is_refused_naming_its_key_when_the_stack_is_managed(
    key: str, value: object, reason: str
) -> None:
    raw = copy.deepcopy(load_stack_file("dev"))
    raw["reconciler"][key] = value

    [problem] = _problems(raw)

    assert problem.startswith(f"coder-platform:reconciler.{key}: {reason}")


def test_the_loopback_reconciler_settings_are_taken_when_the_stack_is_not_managed() -> None:
    raw = copy.deepcopy(load_stack_file("local"))
    raw["reconciler"] |= {"hostNetwork": True, "envFromSecret": "node-state", "suspend": True}

    reconciler = load_config(raw).reconciler

    assert reconciler is not None
    assert (reconciler.host_network, reconciler.env_from_secret, reconciler.suspend) == (
        True,
        "node-state",
        True,
    )


def test_the_loopback_reconciler_settings_are_off_when_a_stack_leaves_them_unset() -> None:
    reconciler = load_config(copy.deepcopy(load_stack_file("dev"))).reconciler

    assert reconciler is not None
    assert not reconciler.host_network
    assert reconciler.env_from_secret is None
    assert not reconciler.suspend
