from django.conf import settings
from django.http import HttpRequest

from clinic.roles import Role


def clinic(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    role = user.role if user is not None and user.is_authenticated else None
    return {
        "clinic_name": settings.CLINIC_NAME,
        "user_role": role.value if role else "",
        "Role": Role,
    }
