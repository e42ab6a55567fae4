"""What tests use besides builders: the real services they start (an SMTP server, Celery worker processes), the
database roles they connect as, the codes a person's authenticator shows, the app's routes, and the browser
journeys' sign-in and accessibility check.

The fixtures that wrap these live in the conftests; the conftests are never imported.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from base64 import b32decode
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.celery import app as celery_app
from clinic.mfa import PENDING_KEY
from clinic.models import User

if TYPE_CHECKING:
    from tests.factories import PatientRecords

BASE_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "a-long-test-password-42"
FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- A real SMTP server on localhost (the `smtp_server` fixture) ----------------------------------------------


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        with self.lock:
            raise AssertionError(f"expected {count} email(s) within {timeout} s, got {len(self.messages)}")


# --- Real Celery worker processes -------------------------------------------------------------------------------


def database_url(db: dict[str, Any]) -> str:
    """A DATABASE_URL for the connection settings ``db`` (a socket directory as host is quoted)."""
    host = db.get("HOST") or ""
    host = quote(host, safe="") if host.startswith("/") else host
    port = f":{db['PORT']}" if db.get("PORT") else ""
    auth = quote(db.get("USER") or "postgres", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


def worker_env(**extra: str) -> dict[str, str]:
    """The environment for a child process that must use the test database (not the development one)."""
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url(connection.settings_dict)
    # A worker runs as the app's role, and migrates nothing (the owner's URL names the real database anyway).
    env.pop("MIGRATION_DATABASE_URL", None)
    env.update(extra)
    return env


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_worker(
    tmp_path: Path, *, name: str = "test", concurrency: int = 1, extra_env: dict[str, str] | None = None
) -> WorkerProcess:
    """A Celery worker process on the test database, answering pings before this returns."""
    log_path = tmp_path / f"worker-{name}.log"
    args = [
        str(Path(sys.executable).parent / "celery"), "-A", "clinic", "worker",
        "--loglevel", "INFO", "--concurrency", str(concurrency), "--pool", "prefork",
        "--hostname", f"{name}-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, env=worker_env(**(extra_env or {})), cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    worker = WorkerProcess(process=process, log_path=log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the Celery worker exited at start-up:\n{worker.log()}")
        replies = celery_app.control.ping(timeout=0.5) or []
        if any(name in host for reply in replies for host in reply):
            return worker
    stop_worker(worker)
    raise AssertionError(f"the Celery worker did not answer a ping within 60 s:\n{worker.log()}")


def stop_worker(worker: WorkerProcess) -> None:
    if worker.process.poll() is None:
        os.killpg(worker.process.pid, signal.SIGTERM)
        try:
            worker.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait(5)


def purge_queue() -> None:
    celery_app.control.purge()


# --- The app's database role (set up by the conftest's `django_db_setup`) ----------------------------------------

# Roles belong to the whole server, so the tests' app role has a name of its own, apart from any real app's.
APP_ROLE = "clinic_test_app"
# Only used where the owner signs in with a password too (so the server asks for one); the role can reach nothing
# but test databases, which are dropped at the end of the run.
APP_ROLE_PASSWORD = "clinic-test-app-only"  # noqa: S105
# The tables' owner's credentials (USER, PASSWORD, HOST, PORT), filled in by the conftest's pytest_configure.
OWNER: dict[str, str | int] = {}


def connect_as(credentials: dict[str, Any]) -> None:
    """From now on every new connection, in every thread and in worker processes started later, uses these."""
    connection.close()
    connection.settings_dict.update(credentials)


@contextlib.contextmanager
def connected_as_owner() -> Iterator[None]:
    """Django's connection in this thread, for the block, is the tables' owner's: for clean-up and set-up that the
    app's role must not be able to do."""
    from clinic.db_roles import connected_as_owner as as_owner

    with as_owner(owner=OWNER):
        yield


def owner_settings() -> dict[str, Any]:
    """The test database's connection settings, with the owner's credentials."""
    return {**connection.settings_dict, **OWNER}


# --- Two-step sign-in -------------------------------------------------------------------------------------------


def totp_code(user: User) -> str:
    """The code the person's authenticator app shows now."""
    return _code_for(TOTPDevice.objects.filter(user=user).latest("id"))


def pending_totp_code(browser) -> str:
    """The code an app shows for the key the setup page offered this browser (confirmed by nothing yet)."""
    return _code_for(TOTPDevice(key=browser.session[PENDING_KEY]))


def authenticator_code(base32_key: str) -> str:
    """The code an app shows for a key typed from the setup page."""
    return f"{totp(b32decode(base32_key)):06d}"


def _code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


# --- The app's routes -------------------------------------------------------------------------------------------


def every_url() -> list[tuple[str, str]]:
    """Every URL the app serves, with sample values for its parameters (names, paths)."""
    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                path = re.sub(r"<(?:int|id):\w+>", "1", route)
                path = re.sub(r"<(?:slug|str):\w+>", "x", path)
                path = re.sub(r"<(?:path):\w+>", "x/y", path)
                if "<" in path or "(?P" in path or path.startswith("^"):
                    continue  # regex patterns (the admin's) are covered by the admin index
                found.append((pattern.name or "", "/" + path))

    walk(get_resolver().url_patterns)
    return found


def app_routes() -> list[str]:
    """Every route of the app outside the admin, as "/pattern/with/<id:pk>/" strings."""
    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and not route.startswith(("admin/", "^")):
                found.append("/" + route)

    walk(get_resolver().url_patterns)
    return found


ID_PARAMETER = re.compile(r"<(?:id|int):(\w+)>")
SAMPLE_WORDS = {"step": "contact", "action": "confirm", "fmt": "json"}  # any other word: "x"


def fill_route(route: str, records: PatientRecords) -> str:
    """The route with the patient's own records for its ids (a patient's page takes the patient, any other the
    appointment, a submission's the submission) and a sample for each word (a step, an action, a format)."""
    patient_page = "patients/" in route and "appointments/" not in route

    def record(match: re.Match) -> str:
        if match.group(1) == "submission_pk":
            return str(records.submission_id)
        return str(records.patient_id if patient_page else records.appointment_id)

    path = ID_PARAMETER.sub(record, route)
    return re.sub(r"<(?:slug|str):(\w+)>", lambda match: SAMPLE_WORDS.get(match.group(1), "x"), path)


# --- Browser journeys (tests/browser) ---------------------------------------------------------------------------

PHONE = {"width": 360, "height": 780}


def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def assert_times_inside(block) -> None:
    """A time-sized calendar block (week grid, series preview) draws its start and end times wholly within it:
    neither cut off nor spilling over, however narrow the block."""
    box = block.bounding_box()
    times = block.locator(".tblock-times > span").all()
    assert len(times) == 2, f"{len(times)} times in {block.inner_text()!r}"
    for part in times:
        inner = part.bounding_box()
        assert box["x"] <= inner["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"], (box, inner)


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
        page.get_by_label("Code from your app", exact=True).fill(authenticator_code(key))
        page.get_by_role("button", name="Confirm").click()
        page.get_by_role("heading", name="Two-step sign-in is on").wait_for()
        page.get_by_role("link", name="I have saved them, continue").click()
        page.wait_for_load_state()
    elif "/accounts/two-step/" in page.url:
        page.get_by_label("Code from your app", exact=True).fill(totp_code(User.objects.get(email=email)))
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()


def pdf_text(content: bytes) -> str:
    """The text a PDF draws, in drawing order, whitespace collapsed: each content stream unwrapped (ASCII85,
    zlib) and the strings of its Tj / TJ operators read back, escapes undone. Enough for reportlab's own output,
    with no PDF library installed."""
    import base64
    import re
    import zlib

    strings: list[str] = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\n?endstream", content, re.S):
        stream = raw.strip()
        if stream.endswith(b"~>"):  # reportlab's ASCII85 wrapping (rl_config.useA85)
            stream = base64.a85decode(stream if stream.startswith(b"<~") else b"<~" + stream, adobe=True)
        with contextlib.suppress(zlib.error):  # a stream that was not compressed
            stream = zlib.decompress(stream)
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*(?:Tj|')|\[((?:[^\]])*)\]\s*TJ", stream, re.S):
            parts = [literal[0]] if literal[0] else re.findall(rb"\(((?:\\.|[^\\)])*)\)", literal[1])
            for part in parts:
                text = re.sub(
                    rb"\\([0-7]{1,3}|.)",
                    lambda m: bytes([int(m[1], 8)]) if m[1][:1].isdigit() else m[1],
                    part,
                    flags=re.S,
                )
                strings.append(text.decode("cp1252", errors="replace"))
    return " ".join(" ".join(strings).split())


def policy_form(**changes: str) -> dict[str, str]:
    """The clinic settings page's fields as it shows them (the policies in force), with ``changes`` typed over."""
    from clinic import policies

    data = {}
    for policy in policies.POLICIES:
        current = policies.value(policy.key)
        if policy.kind == "bool":
            if current:
                data[policy.key] = "on"
        elif policy.kind == "image":
            continue  # a file: posted only when one is uploaded
        else:
            data[policy.key] = policy.as_text(current)
    data.update(changes)
    return data


def assert_navigation_on_one_line(page) -> None:
    """No link of the main navigation breaks inside, none starts below another's bottom, nothing spills out."""
    boxes = page.evaluate(
        "Array.from(document.querySelectorAll('#main-nav .navbar-nav .nav-link, #main-nav .user-chip'))"
        ".map(e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);"
        " return [r.top, r.bottom, r.height, parseFloat(s.lineHeight) + parseFloat(s.paddingTop)"
        " + parseFloat(s.paddingBottom), e.textContent.trim()]; })"
    )
    assert len(boxes) >= 4, boxes
    assert all(height < line * 1.5 for _, _, height, line, _ in boxes), f"a link breaks at 1366 px: {boxes}"
    assert max(b[0] for b in boxes) < min(b[1] for b in boxes), f"the navigation wraps at 1366 px: {boxes}"
    widths = page.evaluate(
        "(() => { const n = document.querySelector('.site-header .container');"
        " return [n.scrollWidth, n.clientWidth, Array.from(n.querySelectorAll('.navbar-brand, .navbar-nav, .account-menu'))"
        ".map(e => [e.className, Math.round(e.getBoundingClientRect().width)])]; })()"
    )
    assert widths[0] <= widths[1], f"the navigation spills out of the bar at 1366 px: {widths}"
