"""Shared personas and real services for the tests (the helpers behind them: tests/factories.py, tests/support.py).

Personas: `patient` and `second_patient` (who must never see the first one's data), `front_desk`, `clinician`,
`clinic_admin`. Real things: an SMTP server on localhost (`smtp_server`), a Celery worker process
(`celery_worker`) consuming from the same Redis as the tests and writing to the test database.

Passwords are hashed with a fast hasher (MD5) unless a test is marked `real_password_hashers`: Argon2 is slow on
purpose, and every persona and clinician built for a test has a password.

The tests connect to the database as the app does in production: as a role that owns nothing and holds only what
`manage.py setup_db_roles` grants (`APP_ROLE`), so a missing grant fails a test. The tables' owner (DATABASE_URL's
user, or MIGRATION_DATABASE_URL's) creates the test database, migrates it, and empties it after each transactional
test; `connected_as_owner()` and `owner_settings()` (tests/support.py) lend a test the owner's connection for
set-up only an owner can do.
"""

from __future__ import annotations

import os
import uuid
from datetime import date

import pytest
from django.conf import settings

from clinic.roles import Role
from tests import factories
from tests.support import (
    APP_ROLE,
    APP_ROLE_PASSWORD,
    FAST_PASSWORD_HASHERS,
    OWNER,
    SmtpServer,
    connect_as,
    connected_as_owner,
    free_port,
    purge_queue,
    start_worker,
    stop_worker,
)

# The database DATABASE_URL names; pytest-django renames the connection's to the test database's once it makes one.
REAL_DATABASE_NAME: list[str] = []


def pytest_configure(config):
    default = settings.DATABASES["default"]
    assert default["ENGINE"].endswith("postgresql"), "the tests need PostgreSQL"
    REAL_DATABASE_NAME[:] = [default["NAME"]]
    # The test database is created and migrated by the tables' owner; the app's role takes over once it exists.
    default.update(settings.DATABASE_OWNER)
    # `make test` migrates one database before its tiers (clinic/stack.py, _migrated_template) and each test database
    # starts as a copy of it: pytest-django's migrate then finds nothing to apply.
    if template := os.environ.get("TEST_DATABASE_TEMPLATE"):
        default.setdefault("TEST", {})["TEMPLATE"] = template
    OWNER.update({key: default[key] for key in ("USER", "PASSWORD", "HOST", "PORT")})


def pytest_collection_modifyitems(config, items):
    """The walks of every URL first: they are the browser tier's longest tests, and its processes take tests in
    this order, so started last they would leave one process walking while the other has nothing left to do."""
    items.sort(key=lambda item: item.get_closest_marker("walk") is None)


@pytest.fixture(autouse=True)
def _isolated_cache_prefix(settings):
    """Each test gets its own cache namespace in the shared Redis, so rate limits and caches never leak."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}"},
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    """The fast hasher for every test but those whose subject is passwords (marked `real_password_hashers`), which
    keep the production hashers of clinic/settings.py (Argon2)."""
    if request.node.get_closest_marker("real_password_hashers") is None:
        settings.PASSWORD_HASHERS = FAST_PASSWORD_HASHERS


# --- Personas ---------------------------------------------------------------------------------------------------


@pytest.fixture
def make_user(db):
    """``make_user(role, email=None, full_name=..., password=PASSWORD)`` (tests.factories.make_user)."""
    return factories.make_user


@pytest.fixture
def patient(db):
    """Pat One: a patient with an account and a patient record (`patient.patient`)."""
    return factories.patient_with_account("pat.one@example.org", "Pat", "One", date(1985, 4, 12))


@pytest.fixture
def second_patient(db):
    """Sam Two: another patient, who must never see Pat One's data."""
    return factories.patient_with_account("sam.two@example.org", "Sam", "Two", date(1979, 11, 3))


@pytest.fixture
def front_desk(db):
    return factories.make_user(Role.FRONT_DESK, email="desk@example.org", full_name="Fran Desk")


@pytest.fixture
def clinician(db):
    return factories.make_user(Role.CLINICIAN, email="doc@example.org", full_name="Casey Doc")


@pytest.fixture
def clinic_admin(db):
    return factories.make_user(Role.CLINIC_ADMIN, email="boss@example.org", full_name="Ada Admin")


@pytest.fixture
def patient_records(patient, front_desk):
    """The first patient with a record of every kind (tests.factories.make_patient_records)."""
    return factories.make_patient_records(patient, front_desk)


@pytest.fixture(autouse=True)
def _test_logins_include_the_second_step(monkeypatch):
    """The test client's login() and force_login() sign a person in fully, which for staff includes the second
    step (a confirmed authenticator, verified in the session). The tests of the second step itself go through the
    sign-in form, which this does not touch."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from clinic.models import User

    original_force_login, original_login = Client.force_login, Client.login

    def verify(client, user) -> None:
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
            verify(self, User.objects.get(pk=self.session["_auth_user_id"]))
        return signed_in

    monkeypatch.setattr(Client, "force_login", force_login)
    monkeypatch.setattr(Client, "login", login)


# --- Real services ----------------------------------------------------------------------------------------------


@pytest.fixture
def smtp_server(settings):
    """aiosmtpd on a free localhost port; Django's SMTP backend is pointed at it for the test."""
    from email import message_from_bytes

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


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    """A real worker process on the test database. Tests using it commit their data (transactional_db)."""
    purge_queue()
    worker = start_worker(tmp_path)
    try:
        yield worker
    finally:
        stop_worker(worker)


@pytest.fixture
def mailing_worker(transactional_db, tmp_path, smtp_server, live_server):
    """A real Celery worker whose emails go to `smtp_server` and whose links point at `live_server`."""
    purge_queue()
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


# --- The app's database role --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, then the app's role on it, and the tests connected as that role."""
    from django.core.management import call_command
    from django.db import connection
    from django.test import TransactionTestCase

    if connection.settings_dict["NAME"] in REAL_DATABASE_NAME:
        # No selected test asks for the database (pure functions, the tiers' verdict), so pytest-django made no
        # test database: there is nothing to set the role up on, and nothing here may touch the real database.
        yield
        return
    password = APP_ROLE_PASSWORD if OWNER.get("PASSWORD") else ""
    with django_db_blocker.unblock():
        call_command("setup_db_roles", APP_ROLE, *(["--password", password] if password else []), verbosity=0)
    connect_as({"USER": APP_ROLE, "PASSWORD": password})

    django_teardown = TransactionTestCase._fixture_teardown

    def flush_as_owner(test_case) -> None:
        # A transactional test's data is emptied with TRUNCATE (the audit tables too), then post_migrate's
        # handlers put back the groups and the triggers: clean-up only the owner may do.
        with connected_as_owner():
            django_teardown(test_case)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", flush_as_owner)
        yield

    connect_as(OWNER)
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
