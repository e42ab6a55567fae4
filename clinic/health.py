"""Checks behind /healthz: can we reach PostgreSQL, Redis and at least one Celery worker?"""

import redis
from django.conf import settings
from django.db import connection

from clinic.celery import app


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_redis() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def check_worker() -> str:

    replies = app.control.ping(timeout=1.0)
    if not replies:
        raise RuntimeError("no Celery worker answered within 1 s")
    return f"ok ({len(replies)} worker{'s' if len(replies) != 1 else ''})"


CHECKS = {"database": check_database, "redis": check_redis, "worker": check_worker}


def run_checks() -> tuple[bool, dict[str, str]]:
    results: dict[str, str] = {}
    healthy = True
    for name, check in CHECKS.items():
        if name == "worker" and results.get("redis", "ok") != "ok":
            results[name] = "down: Redis is down, so no worker can be asked"
            healthy = False
            continue
        try:
            results[name] = check()
        except Exception as exc:  # any failure of a dependency is reported, never raised
            healthy = False
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            results[name] = f"down: {first_line}"
    return healthy, results
