"""The two stack scopes: an operators-scope stack validates without a database; every bad
combination names its key; an app stack with a reconciler may not install the operators."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from coder_platform.config import ConfigError, load_config
from testbed.harness import load_stack_file


def stack(name: str) -> dict[str, Any]:
    return copy.deepcopy(load_stack_file(name))


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    return [str(issue) for issue in caught.value.issues]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_operators_stack_validates_without_a_database_when_scope_is_operators(env: str) -> None:
    config = load_config(stack(f"{env}-operators"))
    assert config.operators_scope
    assert config.environment == env
    assert config.database_section is None
    assert config.operators.install is True
    assert config.namespaces.operators == "cnpg-system"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_app_stack_leaves_the_operators_to_their_stack_when_it_runs_a_reconciler(env: str) -> None:
    config = load_config(stack(env))
    assert config.scope == "app" and not config.operators_scope
    assert config.reconciler is not None and config.reconciler.enabled
    assert config.operators.install is False
    operators = load_config(stack(f"{env}-operators"))
    assert operators.operators.cnpg_chart_version == "0.29.0"
    assert operators.operators.barman_plugin_chart_version == "0.7.0"
    assert operators.namespaces.operators == config.namespaces.operators


def test_error_names_each_app_section_when_an_operators_stack_sets_them() -> None:
    raw = stack("dev-operators")
    dev = stack("dev")
    for key in ("database", "coder", "reconciler", "vault"):
        raw[key] = dev[key]
    keys = {p.split(": ")[0] for p in problems(raw)}
    assert keys == {
        "coder-platform:database",
        "coder-platform:coder",
        "coder-platform:reconciler",
        "coder-platform:vault",
    }
    assert all("is not part of an operators-scope stack" in p for p in problems(raw))


def test_error_names_operators_install_when_an_operators_stack_installs_nothing() -> None:
    raw = stack("dev-operators")
    raw["operators"]["install"] = False
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:operators.install: must be true")


def test_error_names_operators_install_when_a_stack_with_a_reconciler_installs_them() -> None:
    raw = stack("dev")
    raw["operators"]["install"] = True
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:operators.install: must be false")
    assert "scope: operators" in problem and "cnpg-system" in problem


def test_app_stack_without_a_reconciler_may_still_install_the_operators() -> None:
    raw = stack("dev")
    raw["operators"]["install"] = True
    raw["reconciler"]["enabled"] = False
    assert load_config(raw).operators.install is True


def test_error_names_database_when_an_app_stack_has_none() -> None:
    raw = stack("dev")
    del raw["database"]
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:database: is required in an app stack")


def test_error_names_scope_when_it_is_unknown() -> None:
    raw = stack("dev-operators")
    raw["scope"] = "everything"
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:scope: ")
    assert "'app' or 'operators'" in problem and "everything" not in problem


def test_an_operators_stack_has_no_database_to_read() -> None:
    config = load_config(stack("dev-operators"))
    with pytest.raises(AttributeError, match="no database section"):
        _ = config.database
