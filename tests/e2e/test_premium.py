"""Premium on the real Coder: the local platform signs a license with a key only it holds, the
local Coder build trusts that key (tools/coder/cmd/coder), and the stack seeds the license, a
group with members and quota, a service account and template access through Coder's own
entitlement checks.

Runs after test_mission.py (file order): the stack is converged, and has been healed from a
database reset, license first.
"""

from __future__ import annotations

import pytest

from coder_platform.contracts import ExitCode
from testbed.mission import Mission

pytestmark = pytest.mark.e2e

GROUP = "platform-team"
TEMPLATE = "hello"
MEMBERS = ["ci-robot", "platform-admin", "template-author"]


@pytest.fixture(autouse=True, scope="module")
def seeded(mission: Mission) -> None:
    """Run alone, this file reconciles once first (after test_mission.py it is converged)."""
    if not mission.platform.coder.has_first_user():
        run = mission.reconcile()
        assert run.exit_code in (ExitCode.OK, ExitCode.HEALED), run.stderr[-3000:]


def _group(mission: Mission) -> dict[str, object]:
    answer = mission.coder("GET", f"/organizations/default/groups/{GROUP}")
    assert answer.status_code == 200, answer.text
    group: dict[str, object] = answer.json()
    return group


def _member_names(group: dict[str, object]) -> list[str]:
    members = group.get("members")
    assert isinstance(members, list)
    return sorted(str(member["username"]) for member in members)


def test_the_platform_signed_license_is_real_to_coder_and_grants_premium(
    mission: Mission,
) -> None:
    entitlements = mission.coder("GET", "/entitlements").json()
    assert entitlements["has_license"] is True
    for feature in ("template_rbac", "service_accounts"):
        assert entitlements["features"][feature]["entitlement"] == "entitled", feature
    assert len(mission.coder("GET", "/licenses").json()) == 1


def test_the_group_and_the_service_account_are_seeded_through_coders_checks(
    mission: Mission,
) -> None:
    group = _group(mission)
    assert _member_names(group) == MEMBERS and group["quota_allowance"] == 10
    robot = mission.coder("GET", "/users/ci-robot").json()
    assert (robot["login_type"], robot["email"]) == ("none", "")


def test_a_member_removed_by_hand_is_taken_back_then_converged(mission: Mission) -> None:
    group = _group(mission)
    robot = mission.coder("GET", "/users/ci-robot").json()
    removed = mission.coder("PATCH", f"/groups/{group['id']}", json={"remove_users": [robot["id"]]})
    assert removed.status_code == 200 and "ci-robot" not in _member_names(removed.json())
    run = mission.reconcile()
    assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
    assert _member_names(_group(mission)) == MEMBERS
    again = mission.reconcile()
    assert again.exit_code == ExitCode.OK, again.stderr[-3000:]
    assert again.report["coder"]["writes_by_runner"] == 0


def test_a_license_deleted_by_hand_is_added_again_then_converged(mission: Mission) -> None:
    [license_] = mission.coder("GET", "/licenses").json()
    assert mission.coder("DELETE", f"/licenses/{license_['id']}").status_code == 200
    assert mission.coder("GET", "/entitlements").json()["has_license"] is False
    run = mission.reconcile()
    assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
    assert mission.coder("GET", "/entitlements").json()["has_license"] is True
    again = mission.reconcile()
    assert again.exit_code == ExitCode.OK, again.stderr[-3000:]
    assert again.report["coder"]["writes_by_runner"] == 0


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]
SETTINGS = {
    "allow_user_cancel_workspace_jobs": False,
    "require_active_version": True,  # Premium: access_control
    "failure_ttl_ms": 86_400_000,  # Premium: advanced_template_scheduling
    "autostop_requirement": {"days_of_week": ["sunday"], "weeks": 2},  # the same
    "autostart_requirement": {"days_of_week": WEEKDAYS},  # the same
    "max_port_share_level": "authenticated",  # Premium: control_shared_ports
}


def test_lifecycle_settings_changed_by_hand_are_taken_back_then_converged(
    mission: Mission,
) -> None:
    template = mission.coder("GET", f"/organizations/default/templates/{TEMPLATE}").json()
    assert {key: template[key] for key in SETTINGS} == SETTINGS
    by_hand = {
        "allow_user_cancel_workspace_jobs": True,
        "require_active_version": False,
        "failure_ttl_ms": 0,
        "autostop_requirement": {"days_of_week": [], "weeks": 1},
        "autostart_requirement": {"days_of_week": [*WEEKDAYS, "saturday", "sunday"]},
        "max_port_share_level": "public",
    }
    answer = mission.coder("PATCH", f"/templates/{template['id']}", json=by_hand)
    assert answer.status_code == 200, answer.text
    changed = mission.coder("GET", f"/templates/{template['id']}").json()
    assert all(changed[key] != value for key, value in SETTINGS.items()), changed
    run = mission.reconcile()
    assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
    again = mission.coder("GET", f"/templates/{template['id']}").json()
    assert {key: again[key] for key in SETTINGS} == SETTINGS
    converged = mission.reconcile()
    assert converged.exit_code == ExitCode.OK, converged.stderr[-3000:]
    assert converged.report["coder"]["writes_by_runner"] == 0


def _acl(mission: Mission, template_id: str) -> dict[str, str]:
    answer = mission.coder("GET", f"/templates/{template_id}/acl")
    assert answer.status_code == 200, answer.text
    acl = answer.json()
    groups = {f"group:{g['name']}": g["role"] for g in acl["group"]}
    return groups | {f"user:{u['username']}": u["role"] for u in acl["users"]}


def test_template_access_changed_by_hand_is_taken_back_then_converged(mission: Mission) -> None:
    """The stack declares hello's access: platform-team administers, Everyone uses."""
    template = mission.coder("GET", f"/organizations/default/templates/{TEMPLATE}").json()
    declared = {"group:Everyone": "use", f"group:{GROUP}": "admin"}
    assert _acl(mission, template["id"]) == declared
    group, robot = _group(mission), mission.coder("GET", "/users/ci-robot").json()
    by_hand = {
        "group_perms": {str(group["id"]): "", str(template["organization_id"]): ""},
        "user_perms": {str(robot["id"]): "admin"},
    }
    answer = mission.coder("PATCH", f"/templates/{template['id']}/acl", json=by_hand)
    assert answer.status_code == 200, answer.text
    assert _acl(mission, template["id"]) == {"user:ci-robot": "admin"}
    run = mission.reconcile()
    assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
    assert _acl(mission, template["id"]) == declared
    converged = mission.reconcile()
    assert converged.exit_code == ExitCode.OK, converged.stderr[-3000:]
    assert converged.report["coder"]["writes_by_runner"] == 0
    assert converged.report["coder_writes"] == []


def test_the_everyone_quota_changed_by_hand_is_taken_back_then_converged(
    mission: Mission,
) -> None:
    """The Everyone group's id is the organization's; the stack owns only its quota."""
    template = mission.coder("GET", f"/organizations/default/templates/{TEMPLATE}").json()
    everyone = f"/groups/{template['organization_id']}"
    assert mission.coder("GET", everyone).json()["quota_allowance"] == 2
    answer = mission.coder("PATCH", everyone, json={"quota_allowance": 9})
    assert answer.status_code == 200, answer.text
    run = mission.reconcile()
    assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
    assert mission.coder("GET", everyone).json()["quota_allowance"] == 2
    converged = mission.reconcile()
    assert converged.exit_code == ExitCode.OK, converged.stderr[-3000:]
    assert converged.report["coder"]["writes_by_runner"] == 0
