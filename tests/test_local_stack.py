"""The ``local`` stack is the whole mission on loopback: it seeds the local platform's Coder
(no Helm release), takes its inputs from the local OpenBao and writes there through Vault's API
(no pulumi-vault resource: that plugin cannot be built here), and publishes the template the
local Coder can import offline."""

from __future__ import annotations

import copy
from typing import Any

from localplatform.platform import CODER_PORT, OPENBAO_PORT
from testbed.harness import load_stack_file, run_program


def local() -> dict[str, Any]:
    return copy.deepcopy(load_stack_file("local"))


def test_the_stack_names_the_urls_the_local_platform_listens_on() -> None:
    config = local()
    assert config["coder"]["url"] == f"http://127.0.0.1:{CODER_PORT}"
    assert config["vault"]["address"] == f"http://127.0.0.1:{OPENBAO_PORT}"


def test_an_existing_coder_is_seeded_and_no_helm_release_is_deployed_when_deploy_is_false() -> None:
    mocks = run_program(local(), stack="local")
    assert mocks.of_type("kubernetes:helm.sh/v3:Release") == []
    first_user = mocks.one("pulumi-python:dynamic/coder:CoderFirstUser").inputs
    assert first_user["url"] == f"http://127.0.0.1:{CODER_PORT}"
    templates = mocks.of_type("pulumi-python:dynamic/coder:CoderTemplate")
    assert [t.inputs["directory"] for t in templates] == ["localplatform/templates/hello"]


def test_vault_objects_go_through_the_api_when_the_plugin_is_not_used() -> None:
    mocks = run_program(local(), stack="local")
    plugin_types = ("vault:", "pulumi:providers:vault")
    assert [r.type for r in mocks.resources if r.type.startswith(plugin_types)] == []
    published = mocks.one("pulumi-python:dynamic/vault:VaultKvSecret").inputs
    assert (published["mount"], published["path"]) == ("platform", "coder/coder-cli-session-token")
    policy = mocks.one("pulumi-python:dynamic/vault:VaultPolicy").inputs
    assert policy["name"] == "coder-reconciler"
    assert 'path "platform/data/coder/coder-cli-session-token"' in policy["policy"]


def test_templates_come_from_the_configured_folder_when_it_is_not_templates() -> None:
    config = local()
    config["seeding"]["templates"]["nope"] = {"displayName": "missing"}
    from coder_platform.config import ConfigError, load_config
    from coder_platform.template_sources import discover
    from localplatform.binaries import ROOT

    loaded = load_config(config)
    assert loaded.seeding is not None
    try:
        discover(ROOT, loaded.seeding.templates, loaded.seeding.templates_directory)
    except ConfigError as error:
        assert [str(i) for i in error.issues] == [
            "coder-platform:seeding.templates.nope: names no directory under "
            "localplatform/templates/ (found: hello)"
        ]
    else:
        raise AssertionError("a settings key without a directory must fail")
