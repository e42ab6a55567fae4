"""A real browser for the user journeys: Playwright driving Debian's Chromium, headless, with axe-core checks.

Chromium is Debian's package (`apt-get install chromium`; `.ci/run` installs it). Without it these tests are
skipped with that reason. axe-core comes inside the axe-playwright-python wheel, so no npm is needed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
PHONE = {"width": 360, "height": 780}


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


def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def assert_accessible(page) -> None:
    """Run axe-core on the page; serious or critical violations fail the test, with what and where."""
    # Evaluated through the DevTools protocol, which the page's CSP does not govern (an injected <script> would be
    # blocked by it, rightly).
    page.evaluate(_axe_source())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    details = "\n".join(
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']][:3]}" for v in bad
    )
    assert not bad, f"accessibility violations on {page.url}:\n{details}"


def sign_in(page, email: str, password: str) -> None:
    """Sign in through the form; staff then set up or pass the second step, reading the key the setup page shows
    into an "authenticator" (the TOTP algorithm), as a person with an app would."""
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if "/accounts/two-step/setup/" in page.url:
        assert_accessible(page)
        key = page.locator("#mfa-key").inner_text()
        page.get_by_label("Code from your app", exact=True).fill(_authenticator_code(key))
        page.get_by_role("button", name="Confirm").click()
        page.get_by_role("heading", name="Two-step sign-in is on").wait_for()
        page.get_by_role("link", name="I have saved them, continue").click()
        page.wait_for_load_state()
    elif "/accounts/two-step/" in page.url:
        from clinic.models import User
        from tests.conftest import totp_code

        page.get_by_label("Code from your app", exact=True).fill(totp_code(User.objects.get(email=email)))
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()


def _authenticator_code(base32_key: str) -> str:
    from base64 import b32decode

    from django_otp.oath import totp

    return f"{totp(b32decode(base32_key)):06d}"
