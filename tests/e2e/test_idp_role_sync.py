"""The IdP's site role sync on a real Coder: a platform of this module's own, whose Coder runs
with ``CODER_OIDC_USER_ROLE_FIELD`` set, licensed by the stack (Premium grants
``user_role_management``). coderd's ``putUserRoles`` then refuses to set an OIDC user's site
roles (``enidpsync.SiteRoleSyncEnabled``: the field AND the entitlement).

The stack is the local one with ``platform-admin`` (an OIDC user) leaving its roles to the IdP,
so the first reconcile converges; declaring them fails that user's update alone, naming it and
the fix; unsetting them again converges with zero Coder writes. The shared role-sync scenarios
(tests/scenarios/coder_seeding.py) run here too; the unit tier runs them against the double.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from coder_platform.contracts import (
    OIDC_USER_ROLE_FIELD_ENV,
    PROJECT,
    USER_ROLE_MANAGEMENT_FEATURE,
    ExitCode,
)
from localplatform.daemon import PartError
from testbed.mission import Mission, start_mission
from tests.scenarios.coder_seeding import ROLE_SYNC_SCENARIOS, CoderUnderTest, new_suffix

pytestmark = pytest.mark.e2e

ROLE_FIELD = "roles"  # the claim Coder would read site roles from (OpenBao sends none)
PERSON = "platform-admin"  # the local stack's OIDC user
DECLARED = ["owner"]  # what the local stack declares for it


def _set_roles(roles: list[str] | None) -> Callable[[dict[str, Any]], None]:
    """A stack edit: PERSON's ``roles`` declared, or unset (None: the IdP owns them)."""

    def edit(config: dict[str, Any]) -> None:
        [user] = [u for u in config[f"{PROJECT}:seeding"]["users"] if u["username"] == PERSON]
        if roles is None:
            user.pop("roles", None)
        else:
            user["roles"] = roles

    return edit


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mission]:
    """A platform whose Coder syncs site roles from OIDC, its stack seeded and converged."""
    try:
        mission = start_mission(
            tmp_path_factory.mktemp("role-sync"),
            oidc_user_role_field=ROLE_FIELD,
            edit_stack=_set_roles(None),
        )
    except PartError as error:
        pytest.fail(f"the e2e tier needs the local platform: {error}", pytrace=False)
    try:
        run = mission.reconcile()
        assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
        yield mission
    finally:
        mission.platform.down()


def test_site_role_sync_is_on_with_the_role_field_and_the_license(synced: Mission) -> None:
    config = synced.coder("GET", "/deployment/config").json()["config"]
    assert config["oidc"]["user_role_field"] == ROLE_FIELD
    features = synced.coder("GET", "/entitlements").json()["features"]
    assert features[USER_ROLE_MANAGEMENT_FEATURE]["enabled"] is True
    refused = synced.coder("PUT", f"/users/{PERSON}/roles", json={"roles": []})
    assert refused.status_code == 400, refused.text
    assert (
        refused.json()["message"] == "Cannot modify roles for OIDC users when role sync is enabled."
    )
    # Other login types keep API-managed roles: the stack set template-author's under sync.
    author = synced.coder("GET", "/users/template-author").json()
    assert author["login_type"] == "password"
    assert [r["name"] for r in author["roles"]] == ["template-admin"]


def test_declared_roles_of_an_oidc_user_fail_naming_the_user_and_the_fix(synced: Mission) -> None:
    before = synced.coder_fingerprint()
    synced.edit_stack(_set_roles(DECLARED))
    run = synced.reconcile()
    assert run.exit_code == ExitCode.UPDATE_FAILED, run.stderr[-3000:]
    [failed] = run.report["failed"]
    said = " ".join(failed["messages"])
    assert failed["op"] == "update" and "CoderUser" in failed["urn"], failed
    assert repr(PERSON) in said and "Remove roles" in said and OIDC_USER_ROLE_FIELD_ENV in said
    # The refused PUT was the run's one Coder write request; Coder holds what it held.
    writes = run.report["coder_writes"]
    assert writes == [{"kind": "CoderUser", "op": "update", "resources": 1, "requests": 1}]
    assert synced.coder_fingerprint() == before
    assert synced.coder("GET", f"/users/{PERSON}").json()["roles"] == []


def test_the_same_user_with_roles_unset_converges_with_zero_coder_writes(synced: Mission) -> None:
    """The IdP's sync sets the user's roles (here as coderd's sync writes them: the users row);
    with ``roles`` unset the stack neither compares nor writes them."""
    synced.edit_stack(_set_roles(None))
    synced.sql(f"update users set rbac_roles = '{{auditor}}' where username = '{PERSON}'")
    before = synced.coder_fingerprint()
    run = synced.reconcile()
    assert run.exit_code == ExitCode.OK, run.stderr[-3000:]
    assert run.report["coder"]["writes_by_runner"] == 0
    assert run.report["coder_writes"] == []
    assert synced.coder_fingerprint() == before
    roles = synced.coder("GET", f"/users/{PERSON}").json()["roles"]
    assert [r["name"] for r in roles] == ["auditor"]


@pytest.mark.parametrize("scenario", ROLE_SYNC_SCENARIOS, ids=lambda s: s.__name__)
def test_the_real_coder_under_role_sync_agrees_when(
    synced: Mission, scenario: Callable[[CoderUnderTest], None]
) -> None:
    scenario(CoderUnderTest(synced.coder_url, synced.token(), None, new_suffix()))
