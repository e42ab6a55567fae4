"""Role gates for pages. A person outside the role gets a 404, so a page never confirms that it exists."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse

from clinic.models import User
from clinic.roles import Role


class SignedInRequest(HttpRequest):
    """The request of a view behind ``role_required`` or ``login_required``: its user is signed in. Annotating the
    view's ``request`` with it tells the type checker so (Django types ``request.user`` as possibly anonymous)."""

    user: User


def role_required(*roles: Role) -> Callable:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.user.role not in roles:
                raise Http404("No such page.")
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorator
