"""The supervisor's panel on a live call's page: guidance, take-over, writing as a person,
hand-back (apps/console/services.py does each). Supervisors only."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.calls.models import Channel
from apps.console import services
from apps.console.access import console_page
from apps.console.selectors import call_detail
from apps.core.errors import DomainError


def panel_context(call, user, **extra) -> dict:
    person = (call.state or {}).get("person")
    mine = person is not None and person["username"] == user.get_username()
    return {"call": call, "person": person, "mine": mine, "web_chat": call.channel == Channel.WEB_CHAT, **extra}


def _done(action: str, request: HttpRequest, call) -> tuple[str, dict]:
    """Do `action`; what the panel says after it, and how it should show the call meanwhile."""
    post, user = request.POST, request.user
    if action == "guide":
        note = services.call_guide(call_id=call.pk, text=post.get("text", ""), user=user)
        return f"Guidance sent: “{note}”. The AI reads it from its next turn.", {}
    if action == "take-over":
        services.call_take_over(call_id=call.pk, user=user)
        # The socket holding the call acts on it in a moment: a chat then waits for this person, a
        # voice call is transferred.
        return "Taking over…", {"taking_over": True}
    if action == "say":
        services.call_say(call_id=call.pk, text=post.get("text", ""), user=user)
        return "", {}
    if action == "hand-back":
        moved = services.call_hand_back(call_id=call.pk, notes=post.get("notes", ""), user=user)
        if call.channel == Channel.WEB_CHAT:
            return "Handed back to the AI: it answers the caller's next message.", {"handed_back": True}
        if moved:
            return "Handed back: the caller is with the AI again.", {"handed_back": True}
        return (
            "Handed back, but Twilio could not be reached to move the call now: the caller is back "
            "with the AI when the person on the phone hangs up.",
            {"handed_back": True},
        )
    raise Http404("No such action.")


@console_page("monitor")
@require_POST
def supervise(request: HttpRequest, call_id: int, action: str) -> HttpResponse:
    call = call_detail(call_id)
    if call is None:
        raise Http404("No such call.")
    message, error, shown = "", "", {}
    try:
        message, shown = _done(action, request, call)
    except DomainError as exc:
        error = exc.message
    if not request.htmx:
        return redirect("console:call", call_id=call_id)
    call.refresh_from_db()
    context = panel_context(call, request.user, message=message, error=error)
    if shown.get("taking_over"):
        context.update(mine=True, person={"username": request.user.get_username()})
    if shown.get("handed_back"):
        context.update(mine=False, person=None)
    return render(request, "console/_supervise.html", context)
