"""Outbound calls through the API: `POST /api/v1/calls/outbound`, mounted beside the calls app's
router (contactcenter/api.py). It lives here because placing a call needs the compliance gate and
the workflows, which are above the calls app."""

from django.http import HttpRequest
from ninja import Router, Status

from apps.accounts.api_auth import require
from apps.calls.schemas import CallOut, OutboundCallIn
from apps.voice.outbound import call_request_outbound

router = Router(tags=["calls"])


# The operation keeps the id it had before the voice channel became its own app: generated
# clients name their methods after it.
@router.post(
    "/outbound",
    response={202: CallOut},
    auth=require("calls.place_call"),
    operation_id="apps_calls_api_place_outbound_call",
)
def place_outbound_call(request: HttpRequest, payload: OutboundCallIn):
    """Queue an outbound call; it is dialed in the background. 409 on the do-not-call list,
    503 while Twilio is not configured."""
    call = call_request_outbound(
        customer_id=payload.customer_id, workflow=payload.workflow, reason=payload.reason, actor=request.auth
    )
    return Status(202, call)
