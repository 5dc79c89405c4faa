"""The mission on loopback, through the runner, against a real Coder, OpenBao and PostgreSQL.

One session platform, one e2e stack: the tests run in file order, each leaving the stack
converged for the next (a fresh Coder first, then hand changes, outages and a reset).
"""

from __future__ import annotations

import pytest

from coder_platform.contracts import ExitCode
from testbed.mission import Mission

pytestmark = pytest.mark.e2e

TEMPLATE = "hello"
USERS = ("platform-admin", "template-author", "ci-robot")  # the local stack's users


def test_a_fresh_coder_is_seeded_with_admin_token_template_and_users(mission: Mission) -> None:
    assert not mission.platform.coder.has_first_user()
    run = mission.reconcile()
    assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
    assert mission.platform.coder.has_first_user()
    me = mission.coder("GET", "/users/me")
    assert me.status_code == 200 and me.json()["username"] == "coder-automation"
    template = mission.coder("GET", f"/organizations/default/templates/{TEMPLATE}").json()
    version = mission.coder("GET", f"/templateversions/{template['active_version_id']}").json()
    assert version["job"]["status"] == "succeeded"
    users = {u["username"]: u for u in mission.coder("GET", "/users").json()["users"]}
    assert users["platform-admin"]["login_type"] == "oidc"  # OpenBao is Coder's OIDC issuer
    assert users["template-author"]["login_type"] == "password"
    assert users["ci-robot"]["login_type"] == "none"  # a service account (Premium, licensed)
    # What the seed wrote to Coder, per kind: evidence in the report, counted by the providers.
    wrote = {(w["kind"], w["op"]): w for w in run.report["coder_writes"]}
    assert {k: w["resources"] for k, w in wrote.items() if k[1] == "create"} == {
        ("CoderFirstUser", "create"): 1,
        ("CoderApiToken", "create"): 1,
        ("CoderUser", "create"): len(USERS),
        ("CoderTemplate", "create"): 1,
        ("CoderLicense", "create"): 1,
        ("CoderGroup", "create"): 1,
        ("CoderTemplateAccess", "create"): 1,  # platform-team added; Everyone kept from create
        ("CoderEveryoneGroup", "create"): 1,  # its quota set
    }
    assert all(w["requests"] >= w["resources"] for w in wrote.values())


def test_a_second_reconcile_makes_no_coder_write_and_no_new_version(mission: Mission) -> None:
    before = mission.coder_fingerprint()
    versions = mission.template_versions(TEMPLATE)
    run = mission.reconcile()
    assert run.exit_code == ExitCode.OK, run.stderr[-3000:]
    assert mission.coder_fingerprint() == before
    assert mission.template_versions(TEMPLATE) == versions == 1
    assert run.report["coder"]["writes_by_runner"] == 0
    assert run.report["coder_writes"] == []  # nor by the run's resources


def test_a_template_deleted_by_hand_is_recreated(mission: Mission) -> None:
    template = mission.coder("GET", f"/organizations/default/templates/{TEMPLATE}").json()
    assert mission.coder("DELETE", f"/templates/{template['id']}").status_code == 200
    run = mission.reconcile()
    assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
    again = mission.coder("GET", f"/organizations/default/templates/{TEMPLATE}")
    assert again.status_code == 200 and again.json()["id"] != template["id"]


def test_a_user_suspended_by_hand_is_reactivated(mission: Mission) -> None:
    suspended = mission.coder("PUT", "/users/template-author/status/suspend")
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    run = mission.reconcile()
    assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
    assert mission.coder("GET", "/users/template-author").json()["status"] != "suspended"


def test_an_edited_template_gets_exactly_one_new_version(mission: Mission) -> None:
    main_tf = mission.work_dir / "localplatform" / "templates" / TEMPLATE / "main.tf"
    versions = mission.template_versions(TEMPLATE)
    main_tf.write_text(main_tf.read_text().replace('default     = "hello"', 'default     = "hi"'))
    run = mission.reconcile()
    assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
    assert mission.template_versions(TEMPLATE) == versions + 1
    assert mission.reconcile().exit_code == ExitCode.OK
    assert mission.template_versions(TEMPLATE) == versions + 1


def test_a_revoked_token_is_replaced_and_republished(mission: Mission) -> None:
    old = mission.token()
    key_id = old.split("-", 1)[0]
    assert mission.coder("DELETE", f"/users/me/keys/{key_id}").status_code == 204
    run = mission.reconcile()
    assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
    new = mission.token()
    assert new != old
    assert mission.coder("GET", "/users/me").status_code == 200


@pytest.mark.parametrize("part", ["coder", "openbao"])
def test_a_dependency_down_exits_13_naming_it_and_the_next_run_heals(
    mission: Mission, part: str
) -> None:
    endpoint = {"coder": mission.coder_url, "openbao": mission.platform.openbao.address}[part]
    before = mission.coder_fingerprint()
    mission.platform.stop(part)
    try:
        # A short bound: the default (120 s) only makes the run wait longer for the same answer.
        run = mission.reconcile("--dependency-timeout", "10")
    finally:
        mission.platform.start(part)
    assert run.exit_code == ExitCode.DEPENDENCY_UNREACHABLE, run.stderr[-3000:]
    assert endpoint.removeprefix("http://") in run.stderr
    assert mission.coder_fingerprint() == before
    assert mission.reconcile().exit_code == ExitCode.OK


def test_coder_without_its_database_exits_13_naming_its_health_and_the_next_run_converges(
    mission: Mission,
) -> None:
    before = mission.coder_fingerprint()
    mission.platform.stop("postgres")
    try:
        run = mission.reconcile("--dependency-timeout", "10")
        assert mission.platform.coder.ready()  # Coder itself still answers
    finally:
        mission.platform.start("postgres")
    assert run.exit_code == ExitCode.DEPENDENCY_UNREACHABLE, run.stderr[-3000:]
    assert "Coder answers but cannot reach its database" in run.stderr
    assert "users/first" in run.report["error"]["message"]
    assert run.report["coder_writes"] == []
    assert mission.coder_fingerprint() == before
    assert mission.reconcile().exit_code == ExitCode.OK


def test_a_missing_openbao_input_stops_the_run_naming_path_and_key_with_no_coder_write(
    mission: Mission,
) -> None:
    admin = mission.platform.openbao.read_kv("coder/bootstrap-admin")
    assert admin is not None
    before = mission.coder_fingerprint()
    mission.platform.openbao.write_kv("coder/bootstrap-admin", {**admin, "password": ""})
    try:
        run = mission.reconcile()
    finally:
        mission.platform.openbao.write_kv("coder/bootstrap-admin", admin)
    assert run.exit_code not in (ExitCode.OK, ExitCode.HEALED)
    assert "platform/coder/bootstrap-admin: key password is missing or empty" in run.stderr
    assert admin["password"] not in run.stderr
    assert mission.coder_fingerprint() == before


def test_a_database_reset_is_healed_by_one_reconcile_that_says_what_it_reseeded(
    mission: Mission,
) -> None:
    mission.platform.reset_coder_database()
    assert not mission.platform.coder.has_first_user()
    run = mission.reconcile()
    assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
    assert run.report["coder"]["reset_detected"] is True
    assert run.report["state_edit"]["reason"] == "coder-reset"
    recreated = {h["urn"].rsplit("::", 1)[1] for h in run.report["healed"]}
    assert {"coder-seed-first-user", "coder-seed-automation-token"} <= recreated
    assert {f"coder-seed-user-{u}" for u in USERS} <= recreated
    assert f"coder-seed-template-{TEMPLATE}" in recreated
    assert mission.coder("GET", "/users/me").status_code == 200
    assert mission.reconcile().exit_code == ExitCode.OK
