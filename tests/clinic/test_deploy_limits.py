"""Deployment limits: the app's cap on request bodies, and gunicorn as configured in deploy/gunicorn.conf.py (read as
a module, then started for real: oversized bodies are refused unread and slow clients do not stall it)."""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from clinic.models import User
from clinic.request_size import RequestBodyLimitMiddleware
from tests.support import BASE_DIR, free_port, worker_env

GUNICORN_CONF = BASE_DIR / "deploy" / "gunicorn.conf.py"
MB = 1024 * 1024


def _nothing_recorded() -> bool:
    return not (
        AccessAttempt.objects.exists()
        or AccessFailureLog.objects.exists()
        or AccessLog.objects.exists()
        or Session.objects.exists()
        or User.objects.exists()
    )


def test_a_20_mb_upload_to_the_sign_in_page_is_refused_and_creates_nothing(client, db):
    upload = SimpleUploadedFile("big.bin", b"x" * (20 * MB), content_type="application/octet-stream")
    response = client.post(
        reverse("login"), {"username": "someone@example.org", "password": "wrong", "file": upload}
    )
    assert response.status_code == 413
    assert b"more than we can accept" in response.content and b"1024 KB" in response.content
    assert response["Content-Security-Policy"]  # the friendly page carries the usual headers
    assert _nothing_recorded()


def test_a_large_form_body_is_refused_before_it_is_read(client, db, settings):
    body = "username=someone%40example.org&password=wrong&padding=" + "x" * (settings.REQUEST_BODY_MAX_BYTES)
    response = client.post(reverse("login"), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert _nothing_recorded()


def test_a_body_within_the_cap_reaches_the_view(client, db, settings):
    body = "username=someone%40example.org&password=wrong&padding=" + "x" * (
        settings.REQUEST_BODY_MAX_BYTES // 2
    )
    response = client.post(reverse("login"), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and b"did not match" in response.content


def _chunked_request(stream: io.BytesIO):
    """A POST as a WSGI server hands on a chunked body: no Content-Length, the decoded body in wsgi.input."""
    wsgi_input: dict[str, Any] = {"wsgi.input": stream}
    return RequestFactory().generic(
        "POST",
        "/accounts/login/",
        b"",
        CONTENT_TYPE="application/x-www-form-urlencoded",
        HTTP_TRANSFER_ENCODING="chunked",
        **wsgi_input,
    )


def test_a_chunked_body_is_read_only_up_to_the_cap(settings, db):
    # db: the refusal page names the clinic, a policy read from the database (clinic/policies.py).
    settings.REQUEST_BODY_MAX_BYTES = 1000
    seen = {}

    def view(request):
        seen["post"] = request.POST.dict()
        return HttpResponse("ok")

    middleware = RequestBodyLimitMiddleware(view)
    stream = io.BytesIO(b"a=" + b"x" * 5000)
    assert middleware(_chunked_request(stream)).status_code == 413
    assert stream.tell() == 1001  # one byte past the cap, no more
    assert "post" not in seen

    assert middleware(_chunked_request(io.BytesIO(b"a=1&b=two"))).status_code == 200
    assert seen["post"] == {"a": "1", "b": "two"}


# --- gunicorn ---------------------------------------------------------------------------------------------------


def _gunicorn_conf():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", GUNICORN_CONF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_gunicorn_configuration_survives_slow_clients_and_bounds_requests():
    from gunicorn.config import Config

    conf = _gunicorn_conf()
    assert conf.worker_class == "gthread" and conf.threads >= 4
    assert conf.wsgi_app == "clinic.wsgi:application"
    assert 0 < conf.timeout <= 60 and 0 < conf.graceful_timeout <= 60 and 0 < conf.keepalive <= 10
    assert conf.limit_request_line <= 4094
    assert conf.limit_request_fields <= 100
    assert conf.limit_request_field_size <= 8190
    assert conf.bind == ["127.0.0.1:8000"]  # only the proxy in front reaches it
    # Every name in the file is a setting gunicorn knows, with a value it accepts (a typo would be ignored).
    gunicorn_config = Config()
    names = [name for name in vars(conf) if not name.startswith("_") and name != "os"]
    for name in names:
        assert name in gunicorn_config.settings, f"{name} is not a gunicorn setting"
        gunicorn_config.set(name, getattr(conf, name))
    assert gunicorn_config.worker_class_str == "gthread"


@pytest.fixture
def gunicorn_server(transactional_db, tmp_path):
    """gunicorn started with deploy/gunicorn.conf.py (one worker) on a free port, serving the test database."""
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    env = worker_env(
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
        CACHE_KEY_PREFIX=f"test-{uuid.uuid4().hex[:12]}",
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)],
            env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            try:
                if _get(port, "/accounts/login/").status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _get(port: int, path: str, timeout: float = 10) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def _status_line(sock: socket.socket) -> str:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode()


@pytest.mark.slow
def test_gunicorn_keeps_serving_while_two_clients_send_their_headers_slowly(gunicorn_server):
    port = gunicorn_server
    stop = threading.Event()
    slow_sockets = []

    def trickle() -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        slow_sockets.append(sock)
        sock.sendall(b"GET /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        while not stop.is_set():
            with contextlib.suppress(OSError):
                sock.sendall(b"a")
            stop.wait(0.25)

    slow = [threading.Thread(target=trickle, daemon=True) for _ in range(2)]
    for thread in slow:
        thread.start()
    try:
        time.sleep(1.5)  # both are inside a request, sending a byte at a time
        # A sync worker would be held by the first slow client until its timeout (30 s); here the page comes back
        # while both are still trickling (the 10 s socket timeout fails the test otherwise).
        for _ in range(3):
            assert _get(port, "/accounts/login/", timeout=10).status == 200
        assert all(thread.is_alive() for thread in slow)
    finally:
        stop.set()
        for sock in slow_sockets:
            sock.close()


@pytest.mark.slow
def test_gunicorn_refuses_an_oversized_body_before_reading_it(gunicorn_server):
    port = gunicorn_server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {20 * MB}\r\n\r\n".encode()
            + b"x" * 65536
        )
        # Only 64 KB of the announced 20 MB were sent: the answer cannot have waited for the rest.
        assert _status_line(sock) == "HTTP/1.1 413 Request Entity Too Large"


@pytest.mark.slow
def test_gunicorn_refuses_an_oversized_chunked_body_and_passes_a_small_one(gunicorn_server):
    port = gunicorn_server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        )
        chunk = b"x" * 65536
        with contextlib.suppress(OSError):  # the server may answer and close before all is sent
            for _ in range(32):  # 2 MB
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        assert _status_line(sock) == "HTTP/1.1 413 Request Entity Too Large"

    # A small chunked sign-in reaches the form (a wrong password is reported, so the body was read).
    page = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    page.request("GET", "/accounts/login/")
    response = page.getresponse()
    html = response.read().decode()
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    body = f"csrfmiddlewaretoken={token}&username=someone%40example.org&password=wrong".encode()
    page.putrequest("POST", "/accounts/login/")
    page.putheader("Content-Type", "application/x-www-form-urlencoded")
    page.putheader("Cookie", f"csrftoken={cookie}")
    page.putheader("Transfer-Encoding", "chunked")
    page.endheaders()
    page.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    answer = page.getresponse()
    assert answer.status == 200 and b"did not match" in answer.read()
    page.close()
