from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import PatchDict, Query, Router, Schema, Status
from ninja.pagination import paginate

from apps.accounts.api_auth import require
from apps.customers.models import CollectionStage, Customer, RiskCategory
from apps.customers.schemas import CustomerIn, CustomerOut
from apps.customers.selectors import customers_search
from apps.customers.services import customer_create, customer_update

router = Router(tags=["customers"])


class CustomerFilters(Schema):
    q: str = ""
    collection_stage: CollectionStage | None = None
    risk_category: RiskCategory | None = None
    phone: str = ""


def _input(payload: CustomerIn | dict) -> dict:
    data = dict(payload) if isinstance(payload, dict) else payload.model_dump()
    if "consent_source" in data:  # the model stores "no source" as an empty string
        data["consent_source"] = data["consent_source"] or ""
    return data


@router.get("", response=list[CustomerOut], auth=require("customers.view_customer"))
@paginate
def list_customers(request: HttpRequest, filters: Query[CustomerFilters]):
    return customers_search(
        query=filters.q,
        collection_stage=filters.collection_stage or "",
        risk_category=filters.risk_category or "",
        phone=filters.phone,
    )


@router.post("", response={201: CustomerOut}, auth=require("customers.add_customer"))
def create_customer(request: HttpRequest, payload: CustomerIn):
    return Status(201, customer_create(actor=request.auth, data=_input(payload)))


@router.get("/{int:customer_id}", response=CustomerOut, auth=require("customers.view_customer"))
def get_customer(request: HttpRequest, customer_id: int):
    return get_object_or_404(Customer, pk=customer_id)


@router.patch("/{int:customer_id}", response=CustomerOut, auth=require("customers.change_customer"))
def update_customer(request: HttpRequest, customer_id: int, payload: PatchDict[CustomerIn]):
    customer = get_object_or_404(Customer, pk=customer_id)
    return customer_update(actor=request.auth, customer=customer, data=_input(payload))
