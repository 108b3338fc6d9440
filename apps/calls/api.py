"""The calls list, `GET /api/v1/calls`. The other operations under /calls (a call's detail, placing
one) read apps above this one, so their routers live there, mounted at the same prefix
(contactcenter/api.py)."""

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from apps.accounts.api_auth import require
from apps.calls.models import CallStatus, Channel, Direction
from apps.calls.schemas import CallOut
from apps.calls.selectors import calls_list

router = Router(tags=["calls"])


class CallFilters(Schema):
    customer_id: int | None = None
    status: CallStatus | None = None
    direction: Direction | None = None
    channel: Channel | None = None
    is_test: bool | None = None


@router.get("", response=list[CallOut], auth=require("calls.view_call"))
@paginate
def list_calls(request: HttpRequest, filters: Query[CallFilters]):
    return calls_list(
        customer_id=filters.customer_id,
        status=filters.status or "",
        direction=filters.direction or "",
        channel=filters.channel or "",
        is_test=filters.is_test,
    )
