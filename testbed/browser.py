"""A headless Chromium (Debian's, with its chromedriver: ``scripts/install-browser``) driven by
Selenium, walking Coder's login pages as a person does.

Selenium Manager and Playwright download browsers from hosts this machine cannot reach, so the
driver is always given Debian's paths. Each step waits for what a person would see (a URL, an
element) with a bounded timeout, and a failure names the page it was on, never a password.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
INSTALL = ROOT / "scripts" / "install-browser"
TIMEOUT = 60.0


class BrowserMissingError(RuntimeError):
    """Debian's chromium or chromedriver is not installed (the message names the command)."""


class BrowserStepError(AssertionError):
    """A step did not reach what a person would see; names the step and the page's URL."""


@dataclass(frozen=True)
class InstalledBrowser:
    chromium: Path
    chromedriver: Path
    version: str

    @classmethod
    def find(cls) -> InstalledBrowser:
        out = subprocess.run(
            [str(INSTALL), "--print-json"], capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            raise BrowserMissingError(out.stderr.strip() or f"{INSTALL} --print-json failed")
        paths = json.loads(out.stdout)
        return cls(Path(paths["chromium"]), Path(paths["chromedriver"]), paths["chromium_version"])


@dataclass
class Browser:
    """One browser session; ``screenshots`` is where ``shot`` writes its PNGs."""

    driver: WebDriver
    screenshots: Path

    def shot(self, name: str) -> Path:
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def open(self, url: str) -> None:
        self.driver.get(url)

    def wait_for(self, what: str, condition: Any, timeout: float = TIMEOUT) -> Any:
        try:
            return WebDriverWait(self.driver, timeout).until(condition)
        except TimeoutException:
            self.shot(f"failed-{what.replace(' ', '-')}")
            raise BrowserStepError(
                f"{what}: not seen within {timeout:.0f}s (at {self.driver.current_url})"
            ) from None

    def wait_for_path(self, what: str, base_url: str, path: str) -> None:
        self.wait_for(what, lambda d: d.current_url.startswith(f"{base_url}{path}"))

    def wait_for_text(self, what: str, text: str) -> None:
        self.wait_for(
            what, expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "body"), text)
        )

    def click(self, what: str, by: str, selector: str) -> None:
        self.wait_for(what, expected_conditions.element_to_be_clickable((by, selector))).click()

    def type_into(self, what: str, by: str, selector: str, text: str) -> None:
        field = self.wait_for(
            what, expected_conditions.visibility_of_element_located((by, selector))
        )
        field.clear()
        field.send_keys(text)

    def json(self, url: str) -> Any:
        """A JSON document fetched in the page's session (its cookies), as the dashboard does."""
        script = (
            "const done = arguments[arguments.length - 1];"
            "fetch(arguments[0], {credentials: 'same-origin'})"
            ".then(r => r.text().then(t => done([r.status, t])))"
            ".catch(e => done([0, String(e)]));"
        )
        status, body = self.driver.execute_async_script(script, url)
        if status != 200:
            raise BrowserStepError(f"GET {url} in the browser answered {status}")
        return json.loads(body)

    def forget_session(self) -> None:
        """Signed out as a person would be after closing the browser: every cookie dropped."""
        self.driver.delete_all_cookies()


@contextmanager
def browser(screenshots: Path, installed: InstalledBrowser | None = None) -> Iterator[Browser]:
    installed = installed or InstalledBrowser.find()
    options = webdriver.ChromeOptions()
    options.binary_location = str(installed.chromium)
    # --no-sandbox: Chromium's sandbox refuses to run as root, which the test tiers may be.
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--no-first-run",
    ):
        options.add_argument(argument)
    try:
        driver = webdriver.Chrome(options=options, service=Service(str(installed.chromedriver)))
    except WebDriverException as error:
        message = f"chromium {installed.version} did not start: {error.msg}"
        raise BrowserMissingError(message) from None
    driver.set_script_timeout(TIMEOUT)
    try:
        yield Browser(driver, screenshots)
    finally:
        driver.quit()


def sign_in_with_openbao(page: Browser, coder_url: str, username: str, password: str) -> None:
    """Coder's login page -> "Sign in with OpenBao" -> OpenBao's Userpass form -> back in Coder.

    Without the dashboard (a slim Coder), the same flow starts at Coder's OIDC callback, which
    redirects to OpenBao's authorize step just as the button's link does.
    """
    page.open(f"{coder_url}/login")
    page.click("Coder's login page offers OpenBao", By.PARTIAL_LINK_TEXT, "OpenBao")
    page.wait_for("OpenBao's sign-in page", expected_conditions.title_contains("OpenBao"))
    page.type_into("OpenBao's username field", By.ID, "username", username)
    page.type_into("OpenBao's password field", By.ID, "password", password)
    page.shot(f"openbao-sign-in-{username}")
    page.click("OpenBao's Sign In button", By.ID, "auth-submit")
    page.wait_for(
        "back in Coder, signed in",
        lambda d: (
            d.current_url.startswith(coder_url)
            and "/login" not in d.current_url
            and "/api/v2/users/oidc/callback" not in d.current_url
        ),
    )


def sign_in_with_password(page: Browser, coder_url: str, email: str, password: str) -> None:
    """Coder's login page, its email and password form."""
    page.open(f"{coder_url}/login")
    page.type_into("Coder's email field", By.CSS_SELECTOR, "input[name=email]", email)
    page.type_into("Coder's password field", By.CSS_SELECTOR, "input[name=password]", password)
    sign_in = "//button[@type='submit'][contains(., 'Sign In')]"
    page.click("Coder's Sign In button", By.XPATH, sign_in)
    page.wait_for(
        "in Coder, signed in",
        lambda d: d.current_url.startswith(coder_url) and "/login" not in d.current_url,
    )
