"""Real Chromium (Debian's package) driven by Playwright. Browsers are never downloaded."""

import os
import re
import shutil
from contextlib import contextmanager

import pytest

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser():
    executable = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not executable:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail("REQUIRE_BROWSER=1 but no Chromium: apt-get install chromium, or set CHROMIUM_PATH")
        pytest.skip("Chromium is not installed (apt-get install chromium); browser tests skipped")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread while it lives, and Django
    # refuses ORM calls there. So tests make their data first (request `page` last) and only
    # drive the browser afterwards; function scope closes the loop before the flush.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def opened(browser, base_url: str):
    """A fresh browser context (its own cookies) on `base_url`, 1280 px wide, and a page in it."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser, live_server):
    with opened(browser, live_server.url) as page:
        yield page


@pytest.fixture
def console(browser, asgi_server):  # noqa: F811 (the fixture imported below)
    """A page on the product's own ASGI server (WebSockets included): request it last."""
    with opened(browser, asgi_server) as page:
        yield page


def _sign_in(page, path: str, username: str, password: str, lands_on) -> None:
    page.goto(path)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(lands_on)


def sign_in(page, username: str, password: str = "pw-for-tests") -> None:
    """Sign in at the admin's sign-in page; lands on the admin."""
    _sign_in(page, "/admin/login/?next=/admin/", username, password, "**/admin/")


def console_sign_in(page, username: str, password: str = "pw-for-tests") -> None:
    """Sign in at the console's sign-in page, as a person does; lands on the role's home (a
    manager's is the analytics)."""
    _sign_in(page, "/accounts/login/", username, password, re.compile(r".*/(console|analytics)/.*"))


from tests.browser.console import asgi_daphne, asgi_server  # noqa: E402,F401 (fixtures)
