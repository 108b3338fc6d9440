from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from apps.accounts.api_auth import require
from apps.approvals.models import Approval, ApprovalStatus
from apps.approvals.schemas import ApprovalDecisionIn, ApprovalOut
from apps.approvals.services import approval_decide

router = Router(tags=["approvals"])


class ApprovalFilters(Schema):
    customer_id: int | None = None
    status: ApprovalStatus | None = None


@router.get("", response=list[ApprovalOut], auth=require("approvals.view_approval"))
@paginate
def list_approvals(request: HttpRequest, filters: Query[ApprovalFilters]):
    approvals = Approval.objects.all()
    if filters.customer_id is not None:
        approvals = approvals.filter(customer_id=filters.customer_id)
    if filters.status:
        approvals = approvals.filter(status=filters.status)
    return approvals.order_by("-created_at", "-id")


@router.get("/{int:approval_id}", response=ApprovalOut, auth=require("approvals.view_approval"))
def get_approval(request: HttpRequest, approval_id: int):
    return get_object_or_404(Approval, pk=approval_id)


@router.post("/{int:approval_id}/decide", response=ApprovalOut, auth=require("approvals.decide_approval"))
def decide_approval(request: HttpRequest, approval_id: int, payload: ApprovalDecisionIn):
    get_object_or_404(Approval, pk=approval_id)  # approvals are never deleted, so this holds
    return approval_decide(approval_id=approval_id, decision=payload.decision, note=payload.note, actor=request.auth)
