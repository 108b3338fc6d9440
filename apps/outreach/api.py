from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from apps.accounts.api_auth import require
from apps.outreach.models import FollowUp, FollowUpStatus
from apps.outreach.schemas import FollowUpIn, FollowUpOut
from apps.outreach.selectors import followups_list
from apps.outreach.services import followup_schedule

router = Router(tags=["follow-ups"])


class FollowUpFilters(Schema):
    customer_id: int | None = None
    status: FollowUpStatus | None = None


@router.get("", response=list[FollowUpOut], auth=require("outreach.view_followup"))
@paginate
def list_followups(request: HttpRequest, filters: Query[FollowUpFilters]):
    return followups_list(customer_id=filters.customer_id, status=filters.status or "")


@router.post("", response={201: FollowUpOut}, auth=require("outreach.add_followup"))
def create_followup(request: HttpRequest, payload: FollowUpIn):
    return Status(201, followup_schedule(actor=request.auth, **payload.model_dump()))


@router.get("/{int:followup_id}", response=FollowUpOut, auth=require("outreach.view_followup"))
def get_followup(request: HttpRequest, followup_id: int):
    return get_object_or_404(FollowUp, pk=followup_id)
