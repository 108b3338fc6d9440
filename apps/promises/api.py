from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from apps.accounts.api_auth import require
from apps.promises.models import PromiseStatus
from apps.promises.schemas import PaymentIn, PaymentOut, PromiseOut
from apps.promises.selectors import payments_list, promises_list
from apps.promises.services import payment_record

router = Router(tags=["promises"])
payments_router = Router(tags=["payments"])


class PromiseFilters(Schema):
    customer_id: int | None = None
    status: PromiseStatus | None = None


@router.get("", response=list[PromiseOut], auth=require("promises.view_promise"))
@paginate
def list_promises(request: HttpRequest, filters: Query[PromiseFilters]):
    return promises_list(customer_id=filters.customer_id, status=filters.status or "")


class PaymentFilters(Schema):
    customer_id: int | None = None


@payments_router.post(
    "",
    response={200: PaymentOut, 201: PaymentOut},
    auth=require("promises.add_payment"),
    summary="Post a payment",
    description=(
        "Records the payment and applies it to the customer's open promise (kept when paid in full, "
        "else partially kept). Idempotent by `reference`: posting it again answers 200 with the first "
        "payment and changes nothing; the same reference for another customer or amount is a 409."
    ),
)
def post_payment(request: HttpRequest, payload: PaymentIn):
    payment, created = payment_record(actor=request.auth, **payload.model_dump())
    return Status(201 if created else 200, payment)


@payments_router.get("", response=list[PaymentOut], auth=require("promises.view_payment"))
@paginate
def list_payments(request: HttpRequest, filters: Query[PaymentFilters]):
    return payments_list(customer_id=filters.customer_id)
