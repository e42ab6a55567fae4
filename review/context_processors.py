from django.http import HttpRequest

from clinic.roles import Role
from review.selectors import review_navigation
from scheduling.access import restricts_to_locations


def review(request: HttpRequest) -> dict:
    """What every page shows a clinician: the queue size and open alerts for the navigation and the urgent-alert
    banner (read lazily, only by a page that shows them), and whether they see only their locations' patients, where
    a 404 and the queue offer emergency access to another location's patient."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.role is not Role.CLINICIAN:
        return {}
    return {"review_nav": review_navigation(request), "locations_restricted": restricts_to_locations()}
