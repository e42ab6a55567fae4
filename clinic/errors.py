"""Errors said to people: a refused action in their own words (``Refused``), and a missing or unreachable
PostgreSQL or Redis turned into one line that says what to set (``explain_service_errors``)."""

import contextlib
import os
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit


class Refused(Exception):
    """An action refused for a reason the person can act on, every app's one refusal family.

    ``message`` is written for the person who tried; ``field`` names the form field it belongs next to (None: the
    form as a whole); ``status_code`` is the HTTP answer an API caller gets. Subclasses exist only where callers
    tell them apart (a conflict offers alternatives, a wrong state is a 409).
    """

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _where(url: str) -> str:
    """The server part of a URL, without any password."""
    parts = urlsplit(url)
    host = parts.hostname or "(socket)"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextlib.contextmanager
def explain_service_errors() -> Iterator[None]:
    # Imported when used: the launcher calls this before Django or the drivers are needed.
    from django.core.exceptions import ImproperlyConfigured

    try:
        yield
    except ImproperlyConfigured as exc:
        sys.exit(f"clinic: configuration error: {exc}")
    except Exception as exc:
        from django.db.utils import OperationalError
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        if isinstance(exc, OperationalError):
            url = os.environ.get("DATABASE_URL", "")
            sys.exit(
                f"clinic: cannot reach PostgreSQL at {_where(url)} ({_first_line(exc)}); "
                "set DATABASE_URL to a running server, or unset it and use `make run` / `make test`."
            )
        if isinstance(exc, RedisConnectionError | RedisTimeoutError):
            url = os.environ.get("REDIS_URL", "")
            sys.exit(
                f"clinic: cannot reach Redis at {_where(url)} ({_first_line(exc)}); "
                "set REDIS_URL to a running server, or unset it and use `make run` / `make test`."
            )
        raise
