from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from clinic.navigation import MAIN_NAVIGATION, NavItem, nav_items, reverse_once

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


@register.simple_tag
def link_to(name: str, *args: object) -> str:
    """``{% url name args %}`` for the links every page has (home, the account menu, the theme), reversed once per
    process (``navigation.reverse_once``)."""
    return reverse_once(name, *args)


@register.simple_tag(takes_context=True)
def nav_links(context, links: list[NavItem]) -> SafeString:
    """The navigation's list items, the page shown marked current for screen readers; a link's badge template is
    rendered with the page's context. Built here rather than in a template loop: the schedule pages show a dozen
    links, and the loop's tags cost as much as the page's own grid rows."""
    out = []
    for link in links:
        current = ' active" aria-current="page' if link.current else ""
        badge = f" {context.template.engine.get_template(link.badge).render(context)}" if link.badge else ""
        out.append(
            f'<li class="nav-item"><a class="nav-link{current}" href="{escape(link.href)}">{escape(link.words)}'
            f"{badge}</a></li>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 - the texts are escaped, the badges are rendered templates
