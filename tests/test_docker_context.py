"""The runner image's build context never carries a local secret.

The Dockerfile's `COPY . /app/` sends every file `.dockerignore` does not exclude. This module
builds that list the way the Docker CLI does (moby/patternmatcher: patterns are cleaned paths
where `*` and `?` stay inside one path segment, `**` spans segments, a pattern that matches a
directory excludes everything under it, a later `!pattern` re-includes, the last match wins) and
checks it against the local state this repository writes next to the code: localkube's state
directory (a `system:masters` client certificate, the cluster CA key), the local platform's (the
OpenBao root token and unseal key, Postgres passwords), virtualenvs, the embedded Pulumi backend,
run reports and key files.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from localkube.__main__ import DEFAULT_DIR as LOCALKUBE_DIR
from localplatform.platform import DEFAULT_DIR as LOCALPLATFORM_DIR
from testbed.harness import ROOT

# Files the local stack, the test tiers and a developer write beside the code; each one either
# holds a secret or could (a Pulumi state file holds ciphertext next to its salt).
SECRET_BEARING = (
    f"{LOCALKUBE_DIR.relative_to(ROOT)}/pki/ca.key",
    f"{LOCALKUBE_DIR.relative_to(ROOT)}/kubeconfig",
    f"{LOCALPLATFORM_DIR.relative_to(ROOT)}/openbao/init.json",
    f"{LOCALPLATFORM_DIR.relative_to(ROOT)}/postgres/passwords.env",
    ".venv/lib/python3.11/site-packages/x.py",
    "policy/.venv/bin/python",
    ".pulumi-state/.pulumi/stacks/coder-platform/dev.json",
    ".reports/run-1.json",
    ".env",
    "stacks/.env.local",
    "stacks/backup-writer.key",
    "templates/docker/tls.pem",
    "admin.kubeconfig",
    ".git/config",
)

# What the runner needs at run time (Dockerfile: `python -m automation`, Pulumi.yaml's program,
# the policy pack, the stack configs and the templates the program archives).
NEEDED = (
    "__main__.py",
    "Pulumi.yaml",
    "requirements.txt",
    "automation/__main__.py",
    "coder_platform/config/__init__.py",
    "policy/PulumiPolicy.yaml",
    "stacks/Pulumi.prod.yaml",
)


def _segment_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i + 1)
            out.append(pattern[i : end + 1].replace("[!", "[^"))
            i = end + 1
        elif pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def read_dockerignore(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """(negated, regex) per pattern, as the Docker CLI reads `.dockerignore`."""
    rules: list[tuple[bool, re.Pattern[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:].strip()
        line = posixpath.normpath(line).lstrip("/")
        rules.append((negated, _segment_regex(line)))
    return rules


def excluded(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for negated, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            result = not negated
    return result


def context(paths: Iterable[str], dockerignore: str) -> set[str]:
    rules = read_dockerignore(dockerignore)
    return {path for path in paths if not excluded(path, rules)}


def files_on_disk(root: Path, dockerignore: str) -> list[str]:
    """Every file under root, skipping (as the Docker CLI does) directories excluded outright."""
    rules = read_dockerignore(dockerignore)
    prune = not any(negated for negated, _ in rules)
    found: list[str] = []
    for directory, dirs, files in os.walk(root):
        rel = Path(directory).relative_to(root).as_posix()
        prefix = "" if rel == "." else f"{rel}/"
        if prune:
            dirs[:] = [d for d in dirs if not excluded(prefix + d, rules)]
        found += [prefix + name for name in files]
    return found


DOCKERIGNORE = (ROOT / ".dockerignore").read_text()


@pytest.mark.parametrize("path", SECRET_BEARING)
def test_the_docker_context_leaves_out_a_local_secret_when_it_is_on_disk(path: str) -> None:
    assert context([path], DOCKERIGNORE) == set(), f"{path} would be baked into the image"


def test_the_docker_context_keeps_what_the_runner_runs() -> None:
    assert context(files_on_disk(ROOT, DOCKERIGNORE), DOCKERIGNORE) >= set(NEEDED)


def test_the_docker_context_of_this_checkout_holds_no_hidden_or_key_file() -> None:
    shipped = context(files_on_disk(ROOT, DOCKERIGNORE), DOCKERIGNORE)

    leaks = sorted(
        path
        for path in shipped
        if any(part.startswith(".") for part in path.split("/"))
        or path.endswith((".key", ".pem", ".p12", ".pfx"))
        or "kubeconfig" in path.rsplit("/", 1)[-1]
    )
    assert leaks == []


def test_the_context_check_fails_when_dockerignore_omits_the_state_directories() -> None:
    """The check itself can fail: the .dockerignore of before this test existed leaked both."""
    old = ".git\n**/.venv\n**/__pycache__\n.pulumi-state\n.reports\ntests\n"

    leaked = context(SECRET_BEARING, old)

    assert f"{LOCALKUBE_DIR.relative_to(ROOT)}/pki/ca.key" in leaked
    assert f"{LOCALPLATFORM_DIR.relative_to(ROOT)}/openbao/init.json" in leaked


def test_a_negated_pattern_re_includes_what_an_earlier_one_excluded() -> None:
    assert context(["docs/a.md", "docs/keep.md"], "docs\n!docs/keep.md\n") == {"docs/keep.md"}
