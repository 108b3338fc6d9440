"""Who may open which console page, and watch which live group.

Roles are the Django groups of apps/accounts/roles.py (a superuser holds them all). A page or a
subscription names the roles it is for; everyone else gets 403 on a page, and a socket closed
with 4403.
"""

import re
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from apps.accounts.roles import AGENTS, MANAGERS, ROLES, SUPERVISORS

EVERYONE = frozenset(ROLES)

# page -> the roles that may open it
PAGES: dict[str, frozenset[str]] = {
    "monitor": frozenset({SUPERVISORS}),
    "approvals": frozenset({AGENTS, SUPERVISORS}),
    "calls": EVERYONE,
    "call": EVERYONE,  # managers read it, without the live view
    "test_call": frozenset({AGENTS, SUPERVISORS}),
    "review": frozenset({SUPERVISORS}),
    "scenario": frozenset({SUPERVISORS}),  # a call exported as an evaluation scenario
    "analytics": frozenset({MANAGERS, SUPERVISORS}),  # apps/analytics
}

# Where /console/ takes each role, the first that applies.
HOMES = ((SUPERVISORS, "console:monitor"), (AGENTS, "console:approvals"), (MANAGERS, "analytics:page"))

_CALL_GROUP = re.compile(r"call-[1-9][0-9]{0,11}")


def roles_of(user) -> frozenset[str]:
    """The console roles of a signed-in user (one database read, then kept on the user object)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return EVERYONE
    if not hasattr(user, "_console_roles"):
        user._console_roles = frozenset(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    return user._console_roles


def may_open(roles: frozenset[str], page: str) -> bool:
    return bool(roles & PAGES[page])


def may_watch(roles: frozenset[str], group: str) -> bool:
    """Whether these roles may subscribe to a live group: the monitor (supervisors), the approvals
    (agents and supervisors), or one call's lines (`call-<id>`: supervisors and agents)."""
    if group == "monitor":
        return SUPERVISORS in roles
    if group == "approvals":
        return bool(roles & {AGENTS, SUPERVISORS})
    if _CALL_GROUP.fullmatch(group):
        return bool(roles & {AGENTS, SUPERVISORS})
    return False


def console_page(page: str | None) -> Callable:
    """A console view for the roles of `page` (None: any console role). Signed out: to sign in."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            roles = roles_of(request.user)
            if not roles or (page is not None and not may_open(roles, page)):
                raise PermissionDenied("Your role does not include this page.")
            request.console_roles = roles
            return view(request, *args, **kwargs)

        return guarded

    return decorate
