"""A real browser for the user journeys: Playwright driving Debian's Chromium, headless, with axe-core checks.

Chromium is Debian's package (`apt-get install chromium`; `.ci/run` installs it). Without it these tests are
skipped with that reason. axe-core comes inside the axe-playwright-python wheel, so no npm is needed. Signing in
and the accessibility check are tests.support.sign_in and tests.support.assert_accessible.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import PHONE

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the machine's network is closed: keep Chromium from calling out
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser(monkeypatch):
    """One Chromium per test. Playwright's sync API runs an event loop in this thread while it is open, which
    Django would take for async code: the variable below lets the test's own ORM calls through, and both end with
    the test, so no later test (or child process, like the deploy check) runs with them."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package", autouse=True)
def _static_files_as_in_production():
    """pytest-django's live server answers /static/ itself, through the static finders, which know the source files
    but not the hashed names the pages link (the manifest storage of DEBUG=0): every stylesheet and script was a
    404 and the journeys ran unstyled and without JavaScript. Let the requests through to the app instead, where
    WhiteNoise serves the collected files (``make test`` collects them first), as in production."""
    from django.contrib.staticfiles.handlers import StaticFilesHandlerMixin

    patcher = pytest.MonkeyPatch()
    patcher.setattr(StaticFilesHandlerMixin, "_should_handle", lambda self, path: False)
    yield
    patcher.undo()


@pytest.fixture
def new_page(live_server, browser):
    """Pages in fresh browser contexts (a fresh context is a fresh device: no cookies), phone-sized by default."""
    contexts = []

    violations: list[str] = []
    unserved: list[str] = []

    def make(viewport=PHONE):
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        # The CSP stays on in these tests: anything it blocks is a defect of the page.
        page.on(
            "console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None
        )
        # Every stylesheet, script and image the pages link must load: the journeys run on the real assets.
        page.on(
            "response",
            lambda r: (
                unserved.append(f"{r.status} {r.url}") if "/static/" in r.url and r.status >= 400 else None
            ),
        )
        return page

    yield make
    for context in contexts:
        context.close()
    assert not violations, f"Content Security Policy violations: {violations}"
    assert not unserved, f"static files not served: {unserved}"
