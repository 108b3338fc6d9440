from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from apps.accounts.api_auth import require
from apps.promises.models import PromiseStatus
from apps.promises.schemas import PromiseOut
from apps.promises.selectors import promises_list

router = Router(tags=["promises"])


class PromiseFilters(Schema):
    customer_id: int | None = None
    status: PromiseStatus | None = None


@router.get("", response=list[PromiseOut], auth=require("promises.view_promise"))
@paginate
def list_promises(request: HttpRequest, filters: Query[PromiseFilters]):
    return promises_list(customer_id=filters.customer_id, status=filters.status or "")
