"""Shared personas and real services for the tests.

Personas: `patient` and `second_patient` (who must never see the first one's data), `front_desk`, `clinician`,
`clinic_admin`. Real things: an SMTP server on localhost (`smtp_server`), a Celery worker process
(`celery_worker`) consuming from the same Redis as the tests and writing to the test database.

The tests connect to the database as the app does in production: as a role that owns nothing and holds only what
`manage.py setup_db_roles` grants (`APP_ROLE`), so a missing grant fails a test. The tables' owner (DATABASE_URL's
user, or MIGRATION_DATABASE_URL's) creates the test database, migrates it, and empties it after each transactional
test; `connected_as_owner()` lends a test the owner's connection for set-up only an owner can do.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "a-long-test-password-42"


def every_url() -> list[tuple[str, str]]:
    """Every URL the app serves, with sample values for its parameters (names, paths)."""
    from django.urls import URLPattern, URLResolver, get_resolver

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def make_user(db):
    from clinic.models import User
    from clinic.roles import assign_role

    def make(role, email: str | None = None, full_name: str = "Test Person", password: str = PASSWORD):
        user = User.objects.create_user(
            email=email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.org",
            password=password,
            full_name=full_name,
        )
        assign_role(user=user, role=role)
        return user

    return make


def _patient_with_record(make_user, email: str, first: str, last: str, born):
    from clinic.roles import Role
    from intake.models import Patient

    user = make_user(Role.PATIENT, email=email, full_name=f"{first} {last}")
    Patient.objects.create(
        user=user, legal_first_name=first, legal_last_name=last, email=email, date_of_birth=born
    )
    return user


@pytest.fixture
def patient(make_user):
    """Pat One: a patient with an account and a patient record (`patient.patient`)."""
    from datetime import date

    return _patient_with_record(make_user, "pat.one@example.org", "Pat", "One", date(1985, 4, 12))


@pytest.fixture
def second_patient(make_user):
    """Sam Two: another patient, who must never see Pat One's data."""
    from datetime import date

    return _patient_with_record(make_user, "sam.two@example.org", "Sam", "Two", date(1979, 11, 3))


@pytest.fixture
def front_desk(make_user):
    from clinic.roles import Role

    return make_user(Role.FRONT_DESK, email="desk@example.org", full_name="Fran Desk")


@pytest.fixture
def clinician(make_user):
    from clinic.roles import Role

    return make_user(Role.CLINICIAN, email="doc@example.org", full_name="Casey Doc")


@pytest.fixture
def clinic_admin(make_user):
    from clinic.roles import Role

    return make_user(Role.CLINIC_ADMIN, email="boss@example.org", full_name="Ada Admin")


# --- A real SMTP server on localhost ---------------------------------------------------------------------------


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


@pytest.fixture
def smtp_server(settings):
    """aiosmtpd on a free localhost port; Django's SMTP backend is pointed at it for the test."""
    from aiosmtpd.controller import Controller

    server = SmtpServer(host="127.0.0.1", port=free_port())

    class Handler:
        async def handle_DATA(self, smtp, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            with server.lock:
                server.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname=server.host, port=server.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def eager_celery():
    """Tasks run in the calling process (used where the worker is not what is being tested)."""
    from clinic.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


# --- A real Celery worker --------------------------------------------------------------------------------------


def worker_env(**extra: str) -> dict[str, str]:
    """The environment for a child process that must use the test database (not the development one)."""
    from django.db import connection

    env = dict(os.environ)
    db = connection.settings_dict
    env["DATABASE_URL"] = _database_url(db)
    # A worker runs as the app's role, and migrates nothing (the owner's URL names the real database anyway).
    env.pop("MIGRATION_DATABASE_URL", None)
    env.update(extra)
    return env


def _database_url(db: dict) -> str:
    from urllib.parse import quote

    host = db.get("HOST") or ""
    host = quote(host, safe="") if host.startswith("/") else host
    port = f":{db['PORT']}" if db.get("PORT") else ""
    auth = quote(db.get("USER") or "postgres", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_worker(
    tmp_path: Path, *, name: str = "test", concurrency: int = 1, extra_env=None
) -> WorkerProcess:
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
    from clinic.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the Celery worker exited at start-up:\n{worker.log()}")
        if any(name in host for reply in app.control.ping(timeout=0.5) for host in reply):
            return worker
    stop_worker(worker)
    raise AssertionError(f"the Celery worker did not answer a ping within 60 s:\n{worker.log()}")


def stop_worker(worker: WorkerProcess) -> None:
    import signal

    if worker.process.poll() is None:
        os.killpg(worker.process.pid, signal.SIGTERM)
        try:
            worker.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait(5)


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    """A real worker process on the test database. Tests using it commit their data (transactional_db)."""
    _purge_queue()
    worker = start_worker(tmp_path)
    try:
        yield worker
    finally:
        stop_worker(worker)


def _purge_queue() -> None:
    from clinic.celery import app

    app.control.purge()


@pytest.fixture(autouse=True)
def _isolated_cache_prefix(settings):
    """Each test gets its own cache namespace in the shared Redis, so rate limits and caches never leak."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}"},
    }
    yield


def pytest_configure(config):
    default = settings.DATABASES["default"]
    assert default["ENGINE"].endswith("postgresql"), "the tests need PostgreSQL"
    # The test database is created and migrated by the tables' owner; the app's role takes over once it exists.
    default.update(settings.DATABASE_OWNER)
    OWNER.update({key: default[key] for key in ("USER", "PASSWORD", "HOST", "PORT")})


@pytest.fixture
def mailing_worker(transactional_db, tmp_path, smtp_server, live_server):
    """A real Celery worker whose emails go to `smtp_server` and whose links point at `live_server`."""
    _purge_queue()
    worker = start_worker(
        tmp_path,
        name="mail",
        extra_env={
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": smtp_server.host,
            "EMAIL_PORT": str(smtp_server.port),
            "SITE_URL": live_server.url,
        },
    )
    try:
        yield worker
    finally:
        stop_worker(worker)


@pytest.fixture(autouse=True)
def _test_logins_include_the_second_step(monkeypatch):
    """The test client's login() and force_login() sign a person in fully, which for staff includes the second
    step (a confirmed authenticator, verified in the session). The tests of the second step itself go through the
    sign-in form, which this does not touch."""
    from django.test import Client

    original_force_login, original_login = Client.force_login, Client.login

    def verify(client, user) -> None:
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        role = user.role if user is not None else None
        if role is None or not role.is_staff_role:
            return
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

    def force_login(self, user, backend=None):
        original_force_login(self, user, backend)
        verify(self, user)

    def login(self, **credentials):
        signed_in = original_login(self, **credentials)
        if signed_in:
            from clinic.models import User

            verify(self, User.objects.get(pk=self.session["_auth_user_id"]))
        return signed_in

    monkeypatch.setattr(Client, "force_login", force_login)
    monkeypatch.setattr(Client, "login", login)


def totp_code(user) -> str:
    """The code the person's authenticator app shows now."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return _code_for(TOTPDevice.objects.filter(user=user).latest("id"))


def pending_totp_code(browser) -> str:
    """The code an app shows for the key the setup page offered this browser (confirmed by nothing yet)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from clinic.mfa import PENDING_KEY

    return _code_for(TOTPDevice(key=browser.session[PENDING_KEY]))


def _code_for(device) -> str:
    from django_otp.oath import totp

    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


# --- The app's database role --------------------------------------------------------------------------------

# Roles belong to the whole server, so the tests' app role has a name of its own, apart from any real app's.
APP_ROLE = "clinic_test_app"
# Only used where the owner signs in with a password too (so the server asks for one); the role can reach nothing
# but test databases, which are dropped at the end of the run.
APP_ROLE_PASSWORD = "clinic-test-app-only"  # noqa: S105
OWNER: dict[str, str | int] = {}


def _connect_as(credentials: dict) -> None:
    """From now on every new connection, in every thread and in worker processes started later, uses these."""
    from django.db import connection

    connection.close()
    connection.settings_dict.update(credentials)


@contextlib.contextmanager
def connected_as_owner() -> Iterator[None]:
    """Django's connection in this thread, for the block, is the tables' owner's: for clean-up and set-up that the
    app's role must not be able to do."""
    from clinic.db_roles import connected_as_owner as as_owner

    with as_owner(owner=OWNER):
        yield


def owner_settings() -> dict:
    """The test database's connection settings, with the owner's credentials."""
    from django.db import connection

    return {**connection.settings_dict, **OWNER}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, then the app's role on it, and the tests connected as that role."""
    from django.core.management import call_command
    from django.db import connection
    from django.test import TransactionTestCase

    password = APP_ROLE_PASSWORD if OWNER.get("PASSWORD") else ""
    with django_db_blocker.unblock():
        call_command("setup_db_roles", APP_ROLE, *(["--password", password] if password else []), verbosity=0)
    _connect_as({"USER": APP_ROLE, "PASSWORD": password})

    django_teardown = TransactionTestCase._fixture_teardown

    def flush_as_owner(test_case) -> None:
        # A transactional test's data is emptied with TRUNCATE (the audit tables too), then post_migrate's
        # handlers put back the groups and the triggers: clean-up only the owner may do.
        with connected_as_owner():
            django_teardown(test_case)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", flush_as_owner)
        yield

    _connect_as(OWNER)
    # pytest-django's live server lives for the whole session and its thread still holds a connection when the
    # test database is dropped; end such connections first, so the drop succeeds.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session", autouse=True)
def _test_database(django_db_setup):
    """The test database and the app's role exist before the first test, so that a child process started by a test
    that asks for no database (`worker_env`) still reaches the test database as the app's role."""


@pytest.fixture
def patient_records(patient, front_desk):
    """The first patient with a record of every kind (tests/records.py)."""
    from tests.records import make_patient_records

    return make_patient_records(patient, front_desk)
