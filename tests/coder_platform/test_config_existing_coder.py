"""``coder.deploy: false``: the stack seeds a Coder installed elsewhere, at ``coder.url``."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from coder_platform.config import ConfigError, load_config
from testbed.harness import load_stack_file


def dev() -> dict[str, Any]:
    return copy.deepcopy(load_stack_file("dev"))


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    return [str(issue) for issue in caught.value.issues]


def test_an_existing_coder_needs_only_its_url_when_deploy_is_false() -> None:
    raw = dev()
    coder = raw["coder"]
    for key in ("chartVersion", "accessUrl", "oidc", "ingress", "wildcardAccessUrl"):
        coder.pop(key, None)
    coder |= {"deploy": False, "url": "https://coder.corp.example"}
    config = load_config(raw)
    assert config.coder is not None
    assert config.coder.seed_url == "https://coder.corp.example"


def test_the_url_is_named_when_deploy_is_false_without_it() -> None:
    raw = dev()
    raw["coder"]["deploy"] = False
    assert problems(raw) == [
        "coder-platform:coder.url: is required when coder.deploy is false: the URL of the "
        "existing Coder to seed"
    ]


def test_chart_url_and_identity_provider_are_named_when_a_deployed_coder_lacks_them() -> None:
    raw = dev()
    for key in ("chartVersion", "accessUrl", "oidc"):
        del raw["coder"][key]
    found = problems(raw)
    assert [p.split(":")[1].split()[0] for p in found] == [
        "coder.chartVersion",
        "coder.accessUrl",
        "coder.oidc",
    ]
    assert all("or set coder.deploy: false" in p for p in found)


def test_seeding_calls_the_access_url_when_coder_is_deployed() -> None:
    config = load_config(dev())
    assert config.coder is not None and config.coder.access_url is not None
    assert config.coder.seed_url == str(config.coder.access_url).rstrip("/")


def local(**coder: Any) -> dict[str, Any]:
    raw = dev()
    raw["environment"] = "local"
    raw["coder"] |= coder
    return raw


def test_a_local_chart_is_refused_naming_its_key_when_the_stack_is_managed() -> None:
    raw = dev()
    raw["coder"]["chartPath"] = ".localplatform/charts/coder"
    [problem] = problems(raw)
    assert problem.startswith("coder-platform:coder.chartPath: cannot be set in dev/prod")


def test_a_local_chart_is_taken_when_the_stack_is_not_managed() -> None:
    config = load_config(local(chartPath=".localplatform/charts/coder"))
    assert config.coder is not None
    assert config.coder.chart_path == ".localplatform/charts/coder"


def test_a_node_port_is_refused_naming_its_key_when_the_service_is_not_a_node_port() -> None:
    raw = dev()
    raw["coder"]["httpNodePort"] = 30080
    assert problems(raw) == [
        "coder-platform:coder.httpNodePort: needs coder.serviceType: NodePort (only a NodePort "
        "has one)"
    ]
