"""Every contract in ``coder_platform.contracts`` has one literal: its definition.

Each check reads the tracked Python tree and fails when a string or number literal outside
``coder_platform/contracts.py`` spells a contract again (docstrings and comments may name them):
the program, the runner, the local platform, the bench, the shared rigs in ``testbed/`` and the
test support code (fixtures, conftests) import the contract. Test modules (``test_*.py``) may
spell a value on purpose: that pins it, since a rename breaks CronJobs and dashboards already
deployed.
The policy pack cannot import the program; its copies are compared in
``tests/policy/test_contracts_copy.py`` and left out here.
"""

from __future__ import annotations

import ast
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

from coder_platform import contracts
from coder_platform.contracts import (
    DNS_LABEL,
    DRILL_METRICS,
    GROUPS_FEATURE,
    PROJECT,
    PUBLISHED_TOKEN_KEY,
    RUN_JOB,
    RUN_METRICS,
    ExitCode,
)
from components.providers.coder_everyone_group import CoderEveryoneGroup
from components.providers.coder_first_user import CoderFirstUser
from components.providers.coder_group import CoderGroup
from components.providers.coder_license import CoderLicense
from components.providers.coder_template import CoderTemplate
from components.providers.coder_template_access import CoderTemplateAccess
from components.providers.coder_token import CoderApiToken
from components.providers.coder_user import CoderUser
from components.providers.generated_password import GeneratedPassword
from components.providers.vault_api import VaultKvSecret
from testbed.harness import ROOT

CONTRACTS = Path("coder_platform/contracts.py")
EXEMPT_DIRS = ("policy/", "sdks/")  # the pack keeps compared copies; sdks/ is generated


@dataclass(frozen=True)
class Literal:
    path: Path
    line: int
    value: str | int
    node: ast.Constant
    parent: ast.AST | None
    grandparent: ast.AST | None
    source: str


def _docstrings(tree: ast.Module) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def literals_of(path: Path, source: str) -> list[Literal]:
    """Every str and int literal of one module, docstrings left out, with its parents."""
    tree = ast.parse(source, filename=str(path))
    docstrings = _docstrings(tree)
    parents = {id(child): node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[Literal] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str | int)
            and not isinstance(node.value, bool)
            and id(node) not in docstrings
        ):
            parent = parents.get(id(node))
            grandparent = parents.get(id(parent)) if parent is not None else None
            found.append(Literal(path, node.lineno, node.value, node, parent, grandparent, source))
    return found


@cache
def tree_literals() -> tuple[Literal, ...]:
    listed = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    found: list[Literal] = []
    for name in listed:
        path = Path(name)
        if (
            name.startswith(EXEMPT_DIRS)
            or (name.startswith("tests/") and path.name.startswith("test_"))
            or path == CONTRACTS
            or not (ROOT / path).exists()
        ):
            continue
        found.extend(literals_of(path, (ROOT / path).read_text(encoding="utf-8")))
    return tuple(found)


def text(literal: Literal) -> str:
    return literal.value if isinstance(literal.value, str) else ""


# -- the checks: one predicate per contract -------------------------------------------------------

ENV_NAMES = frozenset(v for k, v in vars(contracts).items() if k.endswith("_ENV"))


def env_copy(lit: Literal) -> bool:
    return text(lit) in ENV_NAMES or text(lit).startswith(contracts.DRILL_ENV_PREFIX)


def project_copy(lit: Literal) -> bool:
    return text(lit) == PROJECT or text(lit).startswith((f"{PROJECT}:", f"{PROJECT}.io/"))


def dynamic_type_copy(lit: Literal) -> bool:
    return text(lit).startswith("pulumi-python:dynamic/")


VAULT_KEYS = frozenset(
    {
        PUBLISHED_TOKEN_KEY,
        contracts.OIDC_CLIENT_SECRET_KEY,
        contracts.ADMIN_EMAIL_KEY,
        contracts.ADMIN_USERNAME_KEY,
        contracts.PASSWORD_KEY,
        contracts.LICENSE_KEY,
    }
)


def vault_key_copy(lit: Literal) -> bool:
    """In a module that reads or writes Vault: a Vault KV key as a dict key (data written), or
    the published token's key as an index or a ``.get`` argument (read). Config keys of the same
    spelling (``seeding["license"]``) are read by index, so input keys are checked where written.
    """
    parent = lit.parent
    as_key = isinstance(parent, ast.Dict) and any(key is lit.node for key in parent.keys)
    as_index = isinstance(parent, ast.Subscript) and parent.slice is lit.node
    as_get = (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Attribute)
        and parent.func.attr == "get"
    )
    vault = any(
        word in lit.source.lower()
        for word in ("hvac", "pulumi_vault", "openbao", "read_kv", "vault_data")
    )
    read = (as_index or as_get) and lit.value == PUBLISHED_TOKEN_KEY
    return lit.value in VAULT_KEYS and (as_key or read) and vault


def metric_copy(lit: Literal) -> bool:
    """A metric name spelled out, or a family built by hand from a prefix (``RunMetric`` and
    ``DrillMetric`` name every family)."""
    if text(lit).startswith((RUN_METRICS, DRILL_METRICS, RUN_JOB)):
        return True
    parent = lit.parent
    if not isinstance(parent, ast.JoinedStr) or not text(lit).startswith("_"):
        return False
    index = next(i for i, value in enumerate(parent.values) if value is lit.node)
    before = parent.values[index - 1] if index else None
    return (
        isinstance(before, ast.FormattedValue)
        and isinstance(before.value, ast.Name)
        and before.value.id in ("RUN_METRICS", "DRILL_METRICS")
    )


def groups_feature_copy(lit: Literal) -> bool:
    return lit.value == GROUPS_FEATURE


def dns_label_copy(lit: Literal) -> bool:
    return "[a-z0-9]([-a-z0-9]" in text(lit)


def label_key_copy(lit: Literal) -> bool:
    return text(lit).startswith("app.kubernetes.io/")


RUNNER_CODES = frozenset(code.value for code in ExitCode if code >= ExitCode.HEALED)
EXIT_NAME = re.compile(rf"(^EXIT_|^(?:{'|'.join(code.name for code in ExitCode)})$)")


def _names(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Tuple):
        for element in node.elts:
            yield from _names(element)


def exit_code_copy(lit: Literal) -> bool:
    """A runner exit code assigned to an ``EXIT_*``/``HEALED``-like name or compared with an
    ``exit_code``/``returncode`` (directly or inside a tuple)."""
    if isinstance(lit.value, str) or lit.value not in RUNNER_CODES:
        return False
    holder = lit.grandparent if isinstance(lit.parent, ast.Tuple) else lit.parent
    if isinstance(holder, ast.Assign):
        return any(EXIT_NAME.search(name) for t in holder.targets for name in _names(t))
    if isinstance(holder, ast.Compare):
        return any(
            isinstance(side, ast.Attribute) and side.attr in ("exit_code", "returncode")
            for side in (holder.left, *holder.comparators)
        )
    return False


CHECKS: dict[str, tuple[Callable[[Literal], bool], str, str]] = {
    "environment variable names": (env_copy, 'env["CODER_PLATFORM_VAULT_ROLE"] = role', "_ENV"),
    "the project name and its keys": (
        project_copy,
        'GROUP = "coder-platform:seeding:CoderSeed"',
        "PROJECT / ComponentType",
    ),
    "dynamic type tokens": (
        dynamic_type_copy,
        'KIND = "pulumi-python:dynamic/coder:CoderTemplate"',
        "the *_TYPE tokens",
    ),
    "Vault keys": (
        vault_key_copy,
        'import hvac\nvalue = data["token"]',
        "PUBLISHED_TOKEN_KEY and the *_KEY input keys",
    ),
    "metric names": (metric_copy, 'NAME = f"{RUN_METRICS}_exit_code"', "RunMetric/DrillMetric"),
    "the groups entitlement": (groups_feature_copy, 'allows("template_rbac")', "GROUPS_FEATURE"),
    "the DNS label pattern": (
        dns_label_copy,
        'P = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"',
        "DNS_LABEL",
    ),
    "Kubernetes label keys": (
        label_key_copy,
        'labels = {"app.kubernetes.io/part-of": "x"}',
        "labels() / *_LABEL",
    ),
    "runner exit codes": (exit_code_copy, "EXIT_HEALED, EXIT_DRIFT = 10, 11", "ExitCode"),
}


@pytest.mark.parametrize("contract", sorted(CHECKS))
def test_contract_is_spelled_only_in_contracts_when_the_tree_is_read(contract: str) -> None:
    check, _, fix = CHECKS[contract]
    found = [f"{lit.path}:{lit.line}: {lit.value!r}" for lit in tree_literals() if check(lit)]
    assert found == [], f"import {fix} from coder_platform.contracts instead"


@pytest.mark.parametrize("contract", sorted(CHECKS))
def test_check_flags_a_planted_copy_when_a_module_spells_the_contract(contract: str) -> None:
    check, planted, _ = CHECKS[contract]
    assert any(check(lit) for lit in literals_of(Path("planted.py"), planted))


def test_scan_reads_the_program_when_the_tree_is_listed() -> None:
    """The checks pass vacuously if the scan reads nothing: it must see this repo's code."""
    paths = {lit.path for lit in tree_literals()}
    assert {Path("automation/cli.py"), Path("components/seeding.py")} <= paths
    assert Path("testbed/harness.py") in paths and CONTRACTS not in paths


def test_project_matches_pulumi_yaml_when_the_project_is_loaded() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["name"] == PROJECT


@pytest.mark.parametrize(
    ("resource", "token"),
    [
        (CoderFirstUser, contracts.CODER_FIRST_USER_TYPE),
        (CoderApiToken, contracts.CODER_API_TOKEN_TYPE),
        (CoderUser, contracts.CODER_USER_TYPE),
        (CoderGroup, contracts.CODER_GROUP_TYPE),
        (CoderLicense, contracts.CODER_LICENSE_TYPE),
        (CoderTemplate, contracts.CODER_TEMPLATE_TYPE),
        (CoderTemplateAccess, contracts.CODER_TEMPLATE_ACCESS_TYPE),
        (CoderEveryoneGroup, contracts.CODER_EVERYONE_GROUP_TYPE),
        (GeneratedPassword, contracts.GENERATED_PASSWORD_TYPE),
        (VaultKvSecret, contracts.VAULT_KV_SECRET_TYPE),
    ],
)
def test_dynamic_type_tokens_are_what_pulumi_registers_when_the_provider_class_is_declared(
    resource: type, token: str
) -> None:
    # pulumi.dynamic.Resource registers f"pulumi-python:{cls._resource_type_name}".
    assert f"pulumi-python:{resource._resource_type_name}" == token  # type: ignore[attr-defined]


def test_every_component_type_is_registered_when_the_components_are_read() -> None:
    sources = "".join(
        (ROOT / path).read_text(encoding="utf-8") for path in (ROOT / "components").rglob("*.py")
    )
    unused = [
        member.name
        for member in contracts.ComponentType
        if f"super().__init__(ComponentType.{member.name}," not in sources
    ]
    assert unused == []


def test_dns_label_is_limited_to_63_characters_when_matched() -> None:
    assert re.fullmatch(DNS_LABEL, "a" * 63) and not re.fullmatch(DNS_LABEL, "a" * 64)
    assert not re.fullmatch(DNS_LABEL, "-a") and not re.fullmatch(DNS_LABEL, "A")
