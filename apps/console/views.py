"""The console's pages. Each view checks the role (access.py), reads through selectors, and
changes things only through the owning app's services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.approvals.services import approval_decide
from apps.calls.models import TERMINAL_STATUSES
from apps.console import fragments
from apps.console.access import HOMES, may_open, may_watch
from apps.console.access import console_page as page
from apps.console.call_record import call_outcomes
from apps.console.selectors import (
    approval_card,
    approvals_pending,
    call_detail,
    call_events,
    call_lines,
    calls_recent,
    monitor_calls,
    nav_counts,
)
from apps.console.supervise import panel_context
from apps.console.timeline import timeline_for
from apps.core.errors import DomainError


def _nav(request: HttpRequest) -> dict:
    """The navigation: the pages this person's roles open, with the counts beside them."""
    nav = {
        name: may_open(request.console_roles, name)
        for name in ("monitor", "approvals", "calls", "test_call", "analytics")
    }
    return {"nav": nav, "counts": nav_counts()}


def render_page(request: HttpRequest, template: str, context: dict, *, current: str) -> HttpResponse:
    return render(request, template, {**context, **_nav(request), "current": current})


@page(None)
def home(request: HttpRequest) -> HttpResponse:
    roles = request.console_roles
    return redirect(next(url for role, url in HOMES if role in roles))


@page(None)
def counts(request: HttpRequest) -> HttpResponse:
    """The navigation's counts, swapped in place (htmx out-of-band) as lists change."""
    return render(request, "console/_counts.html", _nav(request))


@page("monitor")
def monitor(request: HttpRequest) -> HttpResponse:
    return render_page(request, "console/monitor.html", {"calls": monitor_calls()}, current="monitor")


@page("calls")
def calls(request: HttpRequest) -> HttpResponse:
    return render_page(request, "console/calls.html", {"calls": calls_recent()}, current="calls")


@page("call")
def call(request: HttpRequest, call_id: int) -> HttpResponse:
    found = call_detail(call_id)
    if found is None:
        raise Http404("No such call.")
    context = {
        "call": found,
        "lines": [fragments.line(entry) for entry in call_lines(call_id)],
        "events": [fragments.event(trace) for trace in call_events(call_id)],
        "speakers": fragments.SPEAKERS,
        "watch": found.ended_at is None and may_watch(request.console_roles, f"call-{call_id}"),
        "approvals": found.approvals.order_by("created_at", "id"),
        "timeline": timeline_for(found),
        "outcomes": call_outcomes(found),
        # An ended call can become a regression scenario (apps/console/scenario_export.py).
        "export": found.status in TERMINAL_STATUSES and may_open(request.console_roles, "scenario"),
    }
    state = found.state or {}
    # Live: the agent has it, or a person took it over (and may hand it back).
    live = found.status not in TERMINAL_STATUSES and state and (not state.get("ended") or state.get("person"))
    if live and may_open(request.console_roles, "monitor"):  # supervisors guide, take over, hand back
        context["supervise"] = panel_context(found, request.user)
    return render_page(request, "console/call.html", context, current="calls")


@page("call")
def call_timeline(request: HttpRequest, call_id: int) -> HttpResponse:
    """The call's trace timeline alone: the call page draws it again as a live call goes on."""
    found = call_detail(call_id)
    if found is None:
        raise Http404("No such call.")
    return render(request, "console/_timeline.html", {"timeline": timeline_for(found)})


@page("call")
def call_outcomes_part(request: HttpRequest, call_id: int) -> HttpResponse:
    """What the call led to, alone: the call page draws it again as a live call goes on (a promise
    made, an approval asked for)."""
    found = call_detail(call_id)
    if found is None:
        raise Http404("No such call.")
    context = {"call": found, "outcomes": call_outcomes(found), "watch": found.ended_at is None}
    return render(request, "console/_call_outcomes.html", context)


@page("approvals")
def approvals(request: HttpRequest) -> HttpResponse:
    context = {
        "approvals": approvals_pending(),
        "can_decide": request.user.has_perm("approvals.decide_approval"),
    }
    return render_page(request, "console/approvals.html", context, current="approvals")


@page("approvals")
@require_POST
def decide(request: HttpRequest, approval_id: int) -> HttpResponse:
    """Approve or reject (the note is required to reject). Answers the approval's card, showing
    who decided or why it could not be decided; without htmx, back to the list."""
    if not request.user.has_perm("approvals.decide_approval"):
        raise PermissionDenied("Your role may not decide approvals.")
    if approval_card(approval_id) is None:
        raise Http404("No such approval.")
    decision, note = request.POST.get("decision", ""), request.POST.get("note", "")
    error = ""
    try:
        approval_decide(approval_id=approval_id, decision=decision, note=note, actor=request.user)
    except DomainError as exc:
        error = exc.message
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("console:approvals")
    card = approval_card(approval_id)
    return HttpResponse(fragments.approval_html(card, can_decide=True, error=error))
