"""`/api/v1/payments`: a payment posted by another system keeps promises, and so ends their
follow-ups (apps/collections/actions.py): the router lives here, above both apps."""

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from apps.accounts.api_auth import require
from apps.collections.actions import payment_record
from apps.promises.schemas import PaymentIn, PaymentOut
from apps.promises.selectors import payments_list

payments_router = Router(tags=["payments"])


class PaymentFilters(Schema):
    customer_id: int | None = None


# Both operations keep the ids they had when this router lived in apps/promises: generated
# clients name their methods after them.
@payments_router.post(
    "",
    response={200: PaymentOut, 201: PaymentOut},
    auth=require("promises.add_payment"),
    operation_id="apps_promises_api_post_payment",
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


@payments_router.get(
    "", response=list[PaymentOut], auth=require("promises.view_payment"), operation_id="apps_promises_api_list_payments"
)
@paginate
def list_payments(request: HttpRequest, filters: Query[PaymentFilters]):
    return payments_list(customer_id=filters.customer_id)
