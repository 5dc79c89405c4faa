"""The runner image's build context never carries a local secret.

The Dockerfile's `COPY . /app/` sends every file `.dockerignore` does not exclude; so does the
node's runner image (localplatform.images.runner). `localplatform.images.build_context` builds
that list the way the Docker CLI does; this module checks it against the local state this
repository writes next to the code: localkube's state directory (a `system:masters` client
certificate, the cluster CA key), the local platform's (the OpenBao root token and unseal key,
Postgres passwords), virtualenvs, the embedded Pulumi backend, run reports and key files.
"""

from __future__ import annotations

import pytest

from localkube.__main__ import DEFAULT_DIR as LOCALKUBE_DIR
from localplatform.images.build_context import context, files_on_disk
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
