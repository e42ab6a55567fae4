from django import template

from clinic.navigation import MAIN_NAVIGATION, NavItem, nav_items

register = template.Library()


@register.simple_tag(takes_context=True)
def main_navigation(context) -> list[NavItem]:
    """The main navigation's links for the signed-in person's role (none for visitors and people without one)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    role = user.role if user is not None and user.is_authenticated else None
    if role is None:
        return []
    match = getattr(request, "resolver_match", None)
    return nav_items(MAIN_NAVIGATION[role], here=match.view_name if match is not None else "")
