import json
import subprocess
import sys

import pytest

from tests.support import BASE_DIR, worker_env


@pytest.mark.slow
def test_healthz_is_ok_when_database_redis_and_a_worker_answer(client, celery_worker):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok" and body["redis"] == "ok"
    assert body["worker"].startswith("ok")


def test_healthz_is_503_when_no_worker_answers(client, db):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["database"] == "ok" and body["redis"] == "ok"
    assert body["worker"].startswith("down")


def _healthz_in_child(**env: str) -> tuple[int, dict]:
    """Ask /healthz in a fresh process whose settings point at a server that is not there."""
    code = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz');"
        "print(json.dumps([r.status_code, r.json()]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**worker_env(**env), "DJANGO_SETTINGS_MODULE": "clinic.settings", "ALLOWED_HOSTS": "testserver"},
        cwd=BASE_DIR, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    return status, body


@pytest.mark.django_db
def test_healthz_is_503_and_names_redis_when_redis_is_down():
    status, body = _healthz_in_child(REDIS_URL="redis://127.0.0.1:1/0")
    assert status == 503
    assert body["redis"].startswith("down")
    assert body["database"] == "ok"


@pytest.mark.django_db
def test_healthz_is_503_and_names_the_database_when_it_is_down():
    status, body = _healthz_in_child(DATABASE_URL="postgres://postgres@127.0.0.1:1/clinic")
    assert status == 503
    assert body["database"].startswith("down")
