"""The pack as a whole: every rule of the issue present once, citing its clause, configurable."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
from pathlib import Path

import grpc  # type: ignore[import-untyped]  # no stubs are pinned for grpc or protobuf
import pytest
from google.protobuf import empty_pb2  # type: ignore[import-untyped]
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, Policy, StackValidationPolicy

from policy.pack import PACK_NAME, POLICIES
from testbed.policy_engine import CONFIG_DIR, ROOT
from tests.policy.spec import RULES

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "array": (list,),
}
LEVELS = {level.value for level in EnforcementLevel}


def test_pack_lists_every_rule_exactly_once_when_imported_without_serving() -> None:
    names = [policy.name for policy in POLICIES]
    assert PACK_NAME == "seeding-contract"
    assert sorted(names) == sorted(RULES)
    assert len(names) == len(set(names))


@pytest.mark.parametrize("policy", POLICIES, ids=lambda policy: policy.name)
def test_description_cites_the_clause_when_a_policy_is_listed(policy: Policy) -> None:
    rule = RULES[policy.name]
    for clause in rule.clauses:
        assert clause in policy.description
    assert isinstance(policy, StackValidationPolicy) is rule.stack


@pytest.mark.parametrize("policy", POLICIES, ids=lambda policy: policy.name)
def test_policy_defaults_every_setting_when_no_config_is_given(policy: Policy) -> None:
    assert policy.enforcement_level is EnforcementLevel.MANDATORY
    schema = policy.config_schema
    assert schema is not None and schema.properties
    for key, spec in schema.properties.items():
        assert "default" in spec, key
        assert isinstance(spec["default"], JSON_TYPES[spec["type"]]), key
        assert spec.get("description"), key


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_config_file_matches_the_schemas_when_loaded(env: str) -> None:
    config = json.loads((CONFIG_DIR / f"{env}.json").read_text())
    schemas = {policy.name: policy.config_schema for policy in POLICIES}
    assert set(config) == set(schemas), "configure every policy explicitly, per environment"
    for name, entry in config.items():
        settings = dict(entry)
        assert settings.pop("enforcementLevel") in LEVELS
        schema = schemas[name]
        assert schema is not None
        for key, value in settings.items():
            assert key in schema.properties, f"{name}.{key} is not in the schema"
            expected = JSON_TYPES[schema.properties[key]["type"]]
            assert isinstance(value, expected) and not (
                isinstance(value, bool) and bool not in expected
            ), f"{name}.{key}"


def first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return process.stdout.readline().strip()


def test_pack_serves_every_rule_when_started_like_the_analyzer_from_any_directory(
    tmp_path: Path,
) -> None:
    # An installed pack lives in a directory not named `policy`: serve a copy from one.
    pack_dir = tmp_path / "seeding-contract-1.0.0"
    shutil.copytree(
        ROOT / "policy", pack_dir, ignore=shutil.ignore_patterns(".venv", "__pycache__")
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULUMI_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi.policy", "127.0.0.1:0", str(pack_dir)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = first_line(process, timeout=60)
        assert port.isdigit(), f"the pack did not start: {process.poll()}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(
                empty_pb2.Empty(), timeout=30
            )
    finally:
        process.kill()
        process.wait(timeout=30)
    assert info.name == PACK_NAME
    assert sorted(policy.name for policy in info.policies) == sorted(RULES)
