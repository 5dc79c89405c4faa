"""The reset drill: do to the local Coder what the incident did, and time the heal.

Drop and recreate Coder's database, restart Coder, show it is back at /setup (no first user),
run ONE ``reconcile``, then check through Coder's API (with the token the run published to
OpenBao) that the first user, the token, every seeded user and every template are back. It
prints the time from the wipe to healed and what the run re-created; it succeeds only if all of
that holds. Refused on any stack but local and e2e: it destroys Coder's data on purpose.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from coder_platform.contracts import PROJECT, ExitCode
from localplatform.binaries import ROOT
from localplatform.platform import LocalPlatform
from localplatform.summary import published_token

DRILL_STACKS = ("local", "e2e")


class DrillRefusedError(RuntimeError):
    """The drill would wipe a Coder it must not touch; the message says why."""


@dataclass(frozen=True)
class Expected:
    """What the stack seeds: the names to find in Coder after the heal."""

    users: dict[str, dict[str, Any]]
    templates: list[str]


def expected_from(stack_file: Path, root: Path = ROOT) -> Expected:
    """Read the stack's own config; refuse anything but a local/e2e stack on an existing Coder."""
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config", {})
    environment = config.get(f"{PROJECT}:environment")
    if environment not in DRILL_STACKS:
        raise DrillRefusedError(
            f"{stack_file.name}: environment is {environment!r}; the reset drill wipes Coder's "
            f"database and runs only on {' or '.join(DRILL_STACKS)} stacks"
        )
    coder = config.get(f"{PROJECT}:coder") or {}
    if coder.get("deploy", True) or not coder.get("url"):
        raise DrillRefusedError(
            f"{stack_file.name}: the drill needs coder.deploy: false and coder.url (the local "
            "platform's Coder)"
        )
    seeding = config.get(f"{PROJECT}:seeding") or {}
    folder = root / seeding.get("templatesDirectory", "templates")
    return Expected(
        users={u["username"]: u for u in seeding.get("users") or []},
        templates=sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else [],
    )


@dataclass
class DrillResult:
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    seconds: float = 0.0
    recreated: list[str] = field(default_factory=list)
    exit_code: int | None = None

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.checks)

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append((name, ok, detail))
        return ok


def verify(url: str, token: str | None, expected: Expected, result: DrillResult) -> None:
    """Everything the stack seeds, read back through Coder's API."""
    first = httpx.get(f"{url}/api/v2/users/first", timeout=10).status_code == 200
    result.check("first user", first, "exists" if first else "missing: Coder is still at /setup")
    if token is None:
        result.check("token", False, "no token published to OpenBao")
        return
    headers = {"Coder-Session-Token": token}
    me = httpx.get(f"{url}/api/v2/users/me", headers=headers, timeout=10)
    result.check(
        "token",
        me.status_code == 200,
        f"the published token authenticates as {me.json().get('username')}"
        if me.status_code == 200
        else f"/users/me answered {me.status_code}",
    )
    if me.status_code != 200:
        return
    users = {
        u["username"]: u
        for u in httpx.get(f"{url}/api/v2/users", headers=headers, timeout=10).json()["users"]
    }
    for name, want in expected.users.items():
        got = users.get(name)
        login = want.get("loginType", "oidc")
        ok = got is not None and got.get("login_type") == login
        result.check(f"user {name}", ok, f"{login} user present" if ok else "missing or wrong")
    templates = {
        t["name"]: t
        for t in httpx.get(f"{url}/api/v2/templates", headers=headers, timeout=10).json()
    }
    for name in expected.templates:
        got = templates.get(name)
        ok = got is not None and bool(got.get("active_version_id"))
        result.check(f"template {name}", ok, "active version set" if ok else "missing")


def run_drill(
    platform: LocalPlatform,
    stack: str,
    reconcile: Callable[[], tuple[int, dict[str, Any]]],
    say: Callable[[str], None],
) -> DrillResult:
    stack_file = ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    expected = expected_from(stack_file)
    result = DrillResult()
    say(f"wiping Coder's database (Coder at {platform.coder.url}) ...")
    wiped = time.monotonic()
    platform.reset_coder_database()
    at_setup = not platform.coder.has_first_user()
    say(f"Coder restarted on an empty database: {'at /setup' if at_setup else 'NOT at /setup'}")
    if not result.check("wiped", at_setup, "Coder had no first user after the wipe"):
        return result
    say("running one reconcile ...")
    result.exit_code, report = reconcile()
    result.seconds = time.monotonic() - wiped
    result.recreated = [
        h["urn"].rsplit("::", 1)[1] for h in report.get("healed") or [] if h.get("op") == "create"
    ]
    reset_seen = bool((report.get("coder") or {}).get("reset_detected"))
    result.check(
        "reconcile",
        result.exit_code == ExitCode.HEALED and reset_seen,
        f"exit {result.exit_code}, reset detected: {reset_seen}",
    )
    verify(platform.coder.url, published_token(platform, stack_file), expected, result)
    return result


def runner_reconcile(stack: str) -> tuple[int, dict[str, Any]]:
    """``python -m automation reconcile`` as the scheduler runs it; its JSON report."""
    out = subprocess.run(
        [sys.executable, "-m", "automation", "reconcile", "--stack", stack, "--output", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    try:
        report: dict[str, Any] = json.loads(out.stdout)
    except json.JSONDecodeError:
        report = {}
    return out.returncode, report
