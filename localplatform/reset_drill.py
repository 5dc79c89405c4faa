"""The reset drill: do to the local Coder what the incident did, and time the heal.

Drop and recreate Coder's database, restart Coder, show it is back at /setup (no first user),
run ONE ``reconcile``, then check through Coder's API (with the token the run published to
OpenBao) that the first user, the token, every seeded user, the license, each group and its
members, every template, each declared template ACL (exactly the declared entries: a reset
leaves a re-created template open to Everyone alone) and the Everyone group's quota (a reset
sets it back to 0) are back. It prints each check, the time from the wipe to healed and what
the run re-created; it succeeds only if all of that holds. Refused on any stack but local and
e2e: it destroys Coder's data on purpose.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coder_platform.coder_api import CoderApiError, CoderClient
from coder_platform.coder_api.access import EVERYONE_GROUP
from coder_platform.coder_api.models import TemplateAcl
from coder_platform.config.seeded_state import TemplateAccess, UserConfig
from coder_platform.contracts import PUBLISHED_TOKEN_KEY, ExitCode
from localplatform.binaries import ROOT
from localplatform.platform import LocalPlatform
from localplatform.stack import read_stack

DRILL_STACKS = ("local", "e2e")


class DrillRefusedError(RuntimeError):
    """The drill would wipe a Coder it must not touch; the message says why."""


@dataclass(frozen=True)
class Expected:
    """What the stack seeds: the names to find in Coder after the heal, and where the run
    publishes its token."""

    users: dict[str, UserConfig]
    templates: list[str]
    token_path: str
    license: bool = False
    groups: dict[str, list[str]] = field(default_factory=dict)  # name -> member usernames
    # template name -> its ACL as "group:<name>" / "user:<name>" -> role (see declared_acl)
    template_access: dict[str, dict[str, str]] = field(default_factory=dict)
    everyone_quota: int | None = None  # None: the stack does not manage it


def declared_acl(access: TemplateAccess) -> dict[str, str]:
    """A declared template access as the entries Coder's ACL then holds, exactly."""
    entries: dict[str, str] = {f"group:{name}": role for name, role in access.groups.items()}
    entries |= {f"user:{name}": role for name, role in access.users.items()}
    if access.everyone == "use":
        entries[f"group:{EVERYONE_GROUP}"] = "use"
    return entries


def acl_entries(acl: TemplateAcl) -> dict[str, str]:
    """A template's live ACL (``GET /templates/{id}/acl``) in ``declared_acl``'s shape."""
    entries = {f"group:{group.name}": group.role for group in acl.groups}
    return entries | {f"user:{user.username}": user.role for user in acl.users}


def expected_from(stack_file: Path, root: Path = ROOT) -> Expected:
    """Read the stack's own config; refuse anything but a local/e2e stack on an existing Coder."""
    config = read_stack(stack_file)
    if config.environment not in DRILL_STACKS:
        raise DrillRefusedError(
            f"{stack_file.name}: environment is {config.environment!r}; the reset drill wipes "
            f"Coder's database and runs only on {' or '.join(DRILL_STACKS)} stacks"
        )
    if config.coder is None or config.coder.deploy or config.coder.url is None:
        raise DrillRefusedError(
            f"{stack_file.name}: the drill needs coder.deploy: false and coder.url (the local "
            "platform's Coder)"
        )
    seeding = config.seeding
    folder = root / (seeding.templates_directory if seeding else "templates")
    settings = seeding.templates if seeding else {}
    return Expected(
        users={u.username: u for u in (seeding.users if seeding else [])},
        templates=sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else [],
        token_path=config.vault.cli_token_path,
        license=bool(seeding and seeding.license),
        groups={g.name: sorted(g.members) for g in (seeding.groups if seeding else [])},
        template_access={
            (s.name or directory): declared_acl(s.access)
            for directory, s in settings.items()
            if s.access is not None
        },
        everyone_quota=seeding.everyone_quota_allowance if seeding else None,
    )


@dataclass
class ResetDrillResult:
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


def verify(url: str, token: str | None, expected: Expected, result: ResetDrillResult) -> None:
    """Everything the stack seeds, read back through Coder's API."""
    with CoderClient(url) as coder:
        first = coder.has_first_user()
        result.check(
            "first user", first, "exists" if first else "missing: Coder is still at /setup"
        )
        if token is None:
            result.check("token", False, "no token published to OpenBao")
            return
        coder.authenticate(token)
        try:
            me = coder.me()
        except CoderApiError as error:
            result.check("token", False, f"/users/me answered {error.status}")
            return
        result.check("token", True, f"the published token authenticates as {me.username}")
        verify_seeded(coder, expected, result)


def verify_seeded(coder: CoderClient, expected: Expected, result: ResetDrillResult) -> None:
    users = {user.username: user for user in coder.list_users()}
    for name, want in expected.users.items():
        got = users.get(name)
        ok = got is not None and got.login_type == want.login_type
        detail = f"{want.login_type} user present" if ok else "missing or wrong"
        result.check(f"user {name}", ok, detail)
    if expected.license:
        ok = bool(coder.list_licenses())
        result.check("license", ok, "added again" if ok else "missing")
    for name, members in expected.groups.items():
        group = coder.get_group_by_name("default", name)
        names = group.member_usernames if group else None
        ok = names == members
        result.check(f"group {name}", ok, "members back" if ok else f"missing or {names}")
    templates = {template.name: template for template in coder.list_templates()}
    for name in expected.templates:
        got_template = templates.get(name)
        ok = got_template is not None and bool(got_template.active_version_id)
        result.check(f"template {name}", ok, "active version set" if ok else "missing")
    for name, declared in expected.template_access.items():
        found = templates.get(name)
        acl = coder.get_template_acl(found.id) if found else None
        live = acl_entries(acl) if acl else None
        ok = live == declared
        shown = ", ".join(f"{entry} {role}" for entry, role in sorted(declared.items())) or "none"
        result.check(f"template {name} access", ok, shown if ok else f"missing or {live}")
    if expected.everyone_quota is not None:
        everyone = coder.get_group_by_name("default", EVERYONE_GROUP)
        quota = everyone.quota_allowance if everyone else None
        ok = quota == expected.everyone_quota
        detail = (
            f"{expected.everyone_quota} back" if ok else f"{quota}, not {expected.everyone_quota}"
        )
        result.check(f"{EVERYONE_GROUP} quota", ok, detail)


def run_reset_drill(
    platform: LocalPlatform,
    stack: str,
    reconcile: Callable[[], tuple[int, dict[str, Any]]],
    say: Callable[[str], None],
) -> ResetDrillResult:
    stack_file = ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    expected = expected_from(stack_file)
    result = ResetDrillResult()
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
    data = platform.openbao.read_kv(expected.token_path)
    verify(platform.coder.url, data.get(PUBLISHED_TOKEN_KEY) if data else None, expected, result)
    return result
