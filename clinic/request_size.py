"""A hard cap on the size of every request body, checked before anything reads it.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE counts only form fields, not files, and only once a view reads request.POST:
without more, a 20 MB file posted to the sign-in page would be read, parsed and spooled to disk. This middleware answers 413 to a body
announced larger than REQUEST_BODY_MAX_BYTES, unread. A chunked body announces no length; it is read here up to one
byte past the cap, refused if it reaches that, and otherwise handed on with its length, so nothing further down
reads an unbounded stream. (Under WSGI Django would otherwise read a chunked body as empty.)

The app accepts no uploads (no FileField, no request.FILES), so the cap is sized for its largest forms, a few
kilobytes. The reverse proxy (deploy/nginx.conf) enforces the same cap before a byte reaches gunicorn; this one
holds when the app is reached any other way. Under ASGI, Django reads the whole body before any middleware runs:
deploy with gunicorn's WSGI workers (deploy/gunicorn.conf.py) or keep the proxy's cap.
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _read_at_most(stream, size: int) -> bytes:
    # A WSGI server may return less than asked for before the end of the body.
    chunks, total = [], 0
    while total < size:
        chunk = stream.read(min(65536, size - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.REQUEST_BODY_MAX_BYTES
        announced = request.META.get("CONTENT_LENGTH")
        if announced:
            try:
                too_large = int(announced) > limit
            except ValueError:
                too_large = False  # Django reads an unreadable length as no body
            if too_large:
                return self.too_large(request, limit)
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            body = _read_at_most(request.META["wsgi.input"], limit + 1)
            if len(body) > limit:
                return self.too_large(request, limit)
            request.META["CONTENT_LENGTH"] = str(len(body))
            # The stream Django's WSGIRequest makes for a body of known length (typed there as a plain file).
            request._stream = LimitedStream(BytesIO(body), len(body))  # type: ignore[assignment]
        return self.get_response(request)

    @staticmethod
    def too_large(request: HttpRequest, limit: int) -> HttpResponse:
        return render(request, "413.html", {"limit_kb": limit // 1024}, status=413)
