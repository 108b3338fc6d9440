from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from apps.accounts.api_auth import require
from apps.calls.models import CallStatus, Channel, Direction
from apps.calls.schemas import CallDetailOut, CallOut
from apps.calls.selectors import call_detail, calls_list

router = Router(tags=["calls"])


class CallFilters(Schema):
    customer_id: int | None = None
    status: CallStatus | None = None
    direction: Direction | None = None
    channel: Channel | None = None


@router.get("", response=list[CallOut], auth=require("calls.view_call"))
@paginate
def list_calls(request: HttpRequest, filters: Query[CallFilters]):
    return calls_list(
        customer_id=filters.customer_id,
        status=filters.status or "",
        direction=filters.direction or "",
        channel=filters.channel or "",
    )


@router.get("/{int:call_id}", response=CallDetailOut, auth=require("calls.view_call"))
def get_call(request: HttpRequest, call_id: int):
    call = call_detail(call_id=call_id)
    if call is None:
        raise Http404(f"No call with id {call_id}.")
    return call
