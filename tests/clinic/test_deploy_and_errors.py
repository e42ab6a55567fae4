"""The production settings pass Django's deploy check, and a missing or unreachable service gives one clear line."""

import os
import subprocess
import sys

import pytest

from tests.support import BASE_DIR

# The production environment documented in the README ("Production"), less real secrets.
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "n7Qx-3vLk9pZ2wR8tY5uJ1mB6cF0hD4gS-aE7iO9qW3rT6yU8pA2sD5fG1hJ4kL0",
    "ALLOWED_HOSTS": "clinic.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://clinic.example.org",
    "SECURE_PROXY_SSL_HEADER": "1",
    "TRUSTED_PROXY_COUNT": "1",
    "EMAIL_HOST": "smtp.example.org",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECURE_SSL_REDIRECT"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args], env={**base, **env}, cwd=BASE_DIR,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_deploy_check_is_clean_under_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr
    assert "no issues" in result.stdout


def test_production_defaults_are_safe():
    code = (
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS >= 31536000, s.X_FRAME_OPTIONS)"
    )
    result = manage("shell", "--no-imports", "-c", code, env=PRODUCTION_ENV)
    assert result.stdout.split() == ["False", "True", "True", "True", "True", "DENY"], result.stderr


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"DATABASE_URL": "postgres://postgres@127.0.0.1:1/clinic"}, "DATABASE_URL"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"REDIS_URL": ""}, "REDIS_URL"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
    ],
)
def test_a_missing_or_unreachable_service_gives_one_clear_line(env, names):
    result = manage("migrate", "--noinput", env={**PRODUCTION_ENV, **env})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert names in lines[0]


def test_unreachable_redis_gives_one_clear_line():
    code = "from django.core.cache import cache; cache.get('anything')"
    result = manage(
        "shell", "--no-imports", "-c", code, env={**PRODUCTION_ENV, "REDIS_URL": "redis://127.0.0.1:1/0"}
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "REDIS_URL" in result.stderr and "127.0.0.1:1" in result.stderr
