"""A person at the dashboard: the seeded owner signs in through OpenBao (Coder's OIDC issuer)
and sees the seeded template; after a database wipe the dashboard shows /setup, and one
reconcile lets the owner in again; a password user signs in on Coder's own form.

Headless Chromium from Debian's packages (scripts/install-browser). A missing browser fails
here, and scripts/test reports the browser tests NOT RUN before they are reached. Screenshots
land next to the e2e stack's run reports (``<project>/.reports/e2e/browser/``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coder_platform.contracts import PASSWORD_KEY, ExitCode
from testbed.browser import (
    BrowserMissingError,
    InstalledBrowser,
    browser,
    sign_in_with_openbao,
    sign_in_with_password,
)
from testbed.mission import Mission

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TEMPLATE = "hello"
OWNER = "platform-admin"
PASSWORD_USER = "template-author"


@pytest.fixture(scope="module")
def installed() -> InstalledBrowser:
    try:
        return InstalledBrowser.find()
    except BrowserMissingError as error:
        pytest.fail(f"NOT RUN: the browser tests need Debian's chromium: {error}", pytrace=False)


@pytest.fixture
def screenshots(mission: Mission) -> Path:
    return mission.work_dir / ".reports" / "e2e" / "browser"


@pytest.fixture
def seeded(mission: Mission) -> str:
    """A seeded Coder (whatever the tests before left); the template's display name."""
    if not mission.platform.coder.has_first_user():
        run = mission.reconcile()
        assert run.exit_code in (ExitCode.OK, ExitCode.HEALED), run.stderr[-3000:]
    template = mission.coder("GET", f"/organizations/default/templates/{TEMPLATE}")
    assert template.status_code == 200, template.text
    return str(template.json()["display_name"] or TEMPLATE)


def _openbao_password(mission: Mission, username: str) -> str:
    logins = json.loads(mission.platform.openbao.sso_logins_file.read_text())["logins"]
    return str(next(login["password"] for login in logins if login["username"] == username))


def _me(page_json: dict[str, object]) -> tuple[str, str, list[str]]:
    roles = page_json["roles"]
    assert isinstance(roles, list)
    return str(page_json["username"]), str(page_json["login_type"]), [r["name"] for r in roles]


def test_the_seeded_owner_signs_in_through_openbao_and_sees_the_template(
    mission: Mission, installed: InstalledBrowser, screenshots: Path, seeded: str
) -> None:
    url = mission.coder_url
    with browser(screenshots, installed) as page:
        sign_in_with_openbao(page, url, OWNER, _openbao_password(mission, OWNER))
        assert _me(page.json(f"{url}/api/v2/users/me")) == (OWNER, "oidc", ["owner"])
        page.open(f"{url}/templates")
        page.wait_for_text("the seeded template on the templates page", seeded)
        assert page.shot("owner-templates").stat().st_size > 0


def test_a_wiped_database_shows_setup_and_one_reconcile_lets_the_owner_in_again(
    mission: Mission, installed: InstalledBrowser, screenshots: Path, seeded: str
) -> None:
    url = mission.coder_url
    mission.platform.reset_coder_database()
    with browser(screenshots, installed) as page:
        page.open(url)
        page.wait_for_path("Coder's first-user setup page", url, "/setup")
        page.shot("wiped-setup")
        run = mission.reconcile()
        assert run.exit_code == ExitCode.HEALED, run.stderr[-3000:]
        page.forget_session()
        sign_in_with_openbao(page, url, OWNER, _openbao_password(mission, OWNER))
        assert _me(page.json(f"{url}/api/v2/users/me")) == (OWNER, "oidc", ["owner"])
        page.open(f"{url}/templates")
        page.wait_for_text("the reseeded template on the templates page", seeded)
        page.shot("healed-owner-templates")


def test_a_password_user_signs_in_on_coders_form_and_sees_the_template(
    mission: Mission, installed: InstalledBrowser, screenshots: Path, seeded: str
) -> None:
    url = mission.coder_url
    user = mission.coder("GET", f"/users/{PASSWORD_USER}").json()
    secret = mission.platform.openbao.read_kv(f"coder/users/{PASSWORD_USER}")
    assert secret is not None
    with browser(screenshots, installed) as page:
        sign_in_with_password(page, url, user["email"], secret[PASSWORD_KEY])
        assert _me(page.json(f"{url}/api/v2/users/me")) == (
            PASSWORD_USER,
            "password",
            ["template-admin"],
        )
        page.open(f"{url}/templates")
        page.wait_for_text("the seeded template on the templates page", seeded)
        page.shot("password-user-templates")
