from functools import cache

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.utils.functional import SimpleLazyObject

from clinic import policies
from clinic.roles import Role


@cache
def assets() -> dict[str, str]:
    """The addresses of the files every page loads (hashed names from the static manifest: fixed for the process)."""
    return {
        "bootstrap_css": static("bootstrap/css/bootstrap.min.css"),
        "clinic_css": static("css/clinic.css"),
        "mark": static("img/mark.svg"),
        "bootstrap_js": static("bootstrap/js/bootstrap.bundle.min.js"),
        "clinic_js": static("js/clinic.js"),
        "scheduling_css": static("scheduling/scheduling.css"),
        "scheduling_js": static("scheduling/scheduling.js"),
        "scheduling_move_js": static("scheduling/move.js"),
        "calendar_live_js": static("scheduling/calendar_live.js"),
        "scheduling_plan_css": static("scheduling/calendar-plan.css"),
        "scheduling_grid_css": static("scheduling/calendar-grid.css"),
    }


def clinic(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    role = user.role if user is not None and user.is_authenticated else None
    policy = policies.in_force(request)  # one cache read for the page
    return {
        "clinic_name": policy["CLINIC_NAME"],
        "self_registration": policy["INTAKE_SELF_REGISTRATION"],
        "user_role": role.value if role else "",
        "Role": Role,
        "assets": assets(),
        # The brand color's style sheet and the logo, addressed by version (clinic.views.theme_css, clinic_logo).
        "theme": {
            "version": policies.theme_version(policy["CLINIC_COLOR"], policy["CLINIC_LOGO"]),
            "has_logo": bool(policy["CLINIC_LOGO"]),
        },
        # What templates/clinic/_crisis.html, the one crisis block, shows (clinic policy: settings).
        "crisis": {
            "text": policy["CLINIC_CRISIS_TEXT"],
            "emergency_number": settings.CLINIC_EMERGENCY_NUMBER,
            "lifeline": settings.CLINIC_CRISIS_LINE,
        },
    }


def page_csrf_token(request: HttpRequest) -> str:
    """The request's CSRF token, masked once for everything the response shows. Django's ``get_token`` masks the
    secret anew at each call (each template render, each ``get_token``); a page's forms may share one masking, as
    the forms of one template render already do: the masking varies the token between responses (BREACH), and one
    response holds it however many times. A new secret (sign-in rotates it) is masked anew."""
    secret = request.META.get("CSRF_COOKIE")
    kept = getattr(request, "_page_csrf_token", None)
    if kept is not None and kept[0] == secret:
        return kept[1]
    token = get_token(request)
    request._page_csrf_token = (request.META.get("CSRF_COOKIE"), token)  # type: ignore[attr-defined]
    return token


def csrf(request: HttpRequest) -> dict:
    """Django's ``csrf_token`` for templates (django.template.context_processors.csrf, which every engine runs
    first and this one overrides), from ``page_csrf_token``."""
    return {"csrf_token": SimpleLazyObject(lambda: page_csrf_token(request))}
