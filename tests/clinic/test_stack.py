"""The run command, as a person uses it: it comes up with the demo clinic, a second run reuses the data, and
Ctrl-C stops every process it started."""

import contextlib
import http.client
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from tests.support import APP_ROLE, BASE_DIR, database_url, free_port, owner_settings


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _run_until_ready(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, set[int]]:
    with log_path.open("wb") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "clinic.stack", "run"], env=env, cwd=BASE_DIR, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 180
    while b"clinic: ready" not in log_path.read_bytes():
        assert launcher.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, "not ready in time:\n" + log_path.read_text()
        time.sleep(0.5)
    return launcher, _descendants(launcher.pid)


def _interrupt(launcher: subprocess.Popen, started: set[int], log_path: Path) -> None:
    launcher.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal delivers to the launcher
    assert launcher.wait(60) == 0, log_path.read_text()
    deadline = time.monotonic() + 10
    while (left := {pid for pid in started if _alive(pid)}) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"processes left behind: {left}"


@pytest.mark.slow
def test_run_command_serves_the_demo_reuses_its_data_and_ctrl_c_leaves_nothing_behind(
    tmp_path, transactional_db
):
    # transactional_db: the app's role is set up and connected, as the app runs in production.
    name = f"clinic_stack_{uuid.uuid4().hex[:8]}"
    settings_dict = {**owner_settings(), "NAME": name}
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}},
        # Two roles, as in production: the owner creates and migrates the database, the app runs as APP_ROLE.
        "MIGRATION_DATABASE_URL": database_url(settings_dict),
        "DATABASE_URL": database_url({**connection.settings_dict, "NAME": name}),
        "PORT": str(port),
        "CLINIC_DATA_DIR": str(tmp_path / "data"),
    }
    try:
        if template := os.environ.get("TEST_DATABASE_TEMPLATE"):
            # `make test` migrated a template for the test databases (clinic/stack.py): start from a copy of it, as
            # every migration from an empty database was just run there; this test is about what `run` does next.
            with contextlib.closing(_connect(settings_dict, "postgres")) as conn:
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        counts = []
        for attempt in (1, 2):
            log_path = tmp_path / f"run{attempt}.log"
            launcher, started = _run_until_ready(env, log_path)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:  # noqa: S310
                assert response.status == 200
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10) as response:  # noqa: S310
                assert b"Sign in" in response.read()
            log = log_path.read_text()
            assert "front.desk@example.org" in log
            # Emailed links follow the port served on: the demo's invitation opens its first step there.
            links = re.findall(r"(http://\S+/invite/\S+)", log)
            assert links and all(link.startswith(f"http://127.0.0.1:{port}/") for link in links), log
            with urllib.request.urlopen(links[-1], timeout=10) as response:  # noqa: S310
                assert response.status == 200
            assert _roles_connected_while_serving(port, settings_dict) == {APP_ROLE}
            counts.append(_count_rows(settings_dict))
            _interrupt(launcher, started, log_path)
        assert counts[0] == counts[1]
        assert counts[0]["patients"] == 20
        assert (tmp_path / "data" / "secret_key").exists()
    finally:
        _drop_database(settings_dict)


def _connect(settings_dict: dict, dbname: str):
    return psycopg2.connect(
        dbname=dbname, user=settings_dict["USER"] or "postgres", host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None, password=settings_dict["PASSWORD"] or None,
    )  # fmt: skip


def _roles_connected_while_serving(port: int, settings_dict: dict) -> set[str]:
    """The roles connected to the database while the web server holds a connection open: a request on a kept-alive
    HTTP connection keeps its thread, and so the thread's database connection, until the client closes it (a
    finished thread's connection lasts only until it is garbage-collected, so it may or may not be there)."""
    with contextlib.closing(http.client.HTTPConnection("127.0.0.1", port, timeout=10)) as kept_alive:
        kept_alive.request("GET", "/healthz")  # reads the database
        response = kept_alive.getresponse()
        response.read()
        assert response.status == 200 and response.getheader("Connection") != "close"
        return _roles_connected(settings_dict)


def _roles_connected(settings_dict: dict) -> set[str]:
    conn = _connect(settings_dict, "postgres")
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = %s", [settings_dict["NAME"]]
            )
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def _count_rows(settings_dict: dict) -> dict[str, int]:
    conn = _connect(settings_dict, settings_dict["NAME"])
    try:
        with conn.cursor() as cur:
            result = {}
            for key, table in (
                ("users", "clinic_user"),
                ("patients", "intake_patient"),
                ("chairs", "scheduling_resource"),
            ):
                cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed table names)
                result[key] = cur.fetchone()[0]
            return result
    finally:
        conn.close()


def _drop_database(settings_dict: dict) -> None:
    conn = _connect(settings_dict, "postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{settings_dict["NAME"]}" WITH (FORCE)')
    finally:
        conn.close()


# --- `make test`: three tiers, each must pass and run tests -------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "selected", "exit_code", "said"),
    [
        ((0, 0), False, 0, "all tiers: passed"),
        ((1, 0), False, 1, "fast tier (all but browser and slow): FAILED (pytest exit 1)"),
        ((0, 1), False, 1, "browser tier: FAILED (pytest exit 1)"),
        ((0, 0, 1), False, 1, "slow tier (real workers): FAILED (pytest exit 1)"),
        # pytest's "no tests collected" is a failure of the whole suite, never a silent pass.
        ((0, 5), False, 1, "browser tier: FAILED: no tests collected"),
        # ARGS chose tests from one tier only: the other is reported, not failed...
        ((0, 5), True, 0, "browser tier: no tests selected"),
        # ...unless no tier ran anything.
        ((5, 5), True, 1, "fast tier (all but browser and slow): FAILED: no tests collected"),
        ((5,), False, 1, "fast tier (all but browser and slow): FAILED: no tests collected"),
    ],
)
def test_the_tiers_verdict(capsys, codes, selected, exit_code, said):
    from clinic import stack

    tiers = [stack.FAST_TIER[0], stack.BROWSER_TIER[0], stack.SLOW_TIER[0]][: len(codes)]
    results = [(name, code, 61.0) for name, code in zip(tiers, codes, strict=True)]
    assert stack._report(results, selected=selected) == exit_code
    printed = capsys.readouterr().out
    assert f"clinic: {said}" in printed
    assert "in 1 min 01 s" in printed


def test_the_slow_tier_gets_a_redis_database_of_its_own():
    from clinic import stack

    assert stack._another_redis_database("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/1"
    assert stack._another_redis_database("redis://127.0.0.1:6379") == "redis://127.0.0.1:6379/1"
    assert stack._another_redis_database("redis://:secret@host:6380/15") == "redis://:secret@host:6380/0"
