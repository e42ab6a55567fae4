from django.conf import settings
from django.http import HttpRequest

from clinic.roles import Role


def clinic(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    role = user.role if user is not None and user.is_authenticated else None
    context = {
        "clinic_name": settings.CLINIC_NAME,
        "self_registration": settings.INTAKE_SELF_REGISTRATION,
        "user_role": role.value if role else "",
        "Role": Role,
    }
    if role is Role.CLINICIAN:
        # Open urgent alerts and the queue size for the navigation and the alert banner (lazy: two queries, fewer
        # when the view read them already).
        from intake.review_selectors import review_navigation

        context["review_nav"] = review_navigation(request)
    return context
