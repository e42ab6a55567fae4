"""clinic.urls plus /bench/trivial: the baseline every page is compared with (same server, same middleware)."""

from django.http import HttpResponse
from django.urls import include, path


def trivial(request):
    """Does nothing: what the middleware stack alone costs."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/trivial", trivial, name="bench_trivial"),
    path("", include("clinic.urls")),
]
