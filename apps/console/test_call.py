"""The test call page: staff pick a customer and a workflow and talk to the agent by text.

The page only sets the conversation up; static/console/test_call.js then runs it over the web
chat socket (`/ws/chat/`, apps/chat/consumers.py), where every conversation is a test call: what
the agent would have done to real records arrives as `test_effect` messages, shown as cards with
the labels below, and nothing real is written.
"""

from dataclasses import dataclass

from django.db.models import Q
from django.http import HttpRequest, HttpResponse

from apps.agent.workflows import WORKFLOWS
from apps.approvals.models import ApprovalKind
from apps.console.access import console_page
from apps.console.present import FIELD_LABELS, MONEY_KEYS
from apps.console.views import render_page
from apps.customers.models import Customer
from apps.dispatch.models import Severity
from apps.promises.models import PaymentMethod

CUSTOMERS_SHOWN = 50
DIRECTIONS = {"inbound": "Inbound: the customer calls in", "outbound": "Outbound: the agent calls the customer"}

# What a test call's would-be effect is called on its card (the `action` of a `test_effect`).
EFFECT_TITLES = {
    "promise_record": "Would record a promise",
    "approval_request": "Would ask a specialist for approval",
    "followup_schedule": "Would schedule a call back",
    "dispatch_create": "Would dispatch a technician",
    "customer_opt_out": "Would stop calling this customer",
}
EFFECT_FIELDS = {
    **FIELD_LABELS,
    "method": "Payment method",
    "kind": "Kind",
    "reasoning": "Why",
    "confidence": "Confidence",
    "due_at": "When",
    "reason": "Reason",
    "technician": "Technician",
    "eta_minutes": "Arrives in",
    "location": "Location",
    "issue": "Problem",
    "severity": "Severity",
    "source": "Source",
    "customer_id": "Customer",
}
# Stored codes as a person reads them, per field.
EFFECT_VALUES = {
    "method": dict(PaymentMethod.choices),
    "kind": dict(ApprovalKind.choices),
    "severity": dict(Severity.choices),
}


@dataclass(frozen=True)
class WorkflowChoice:
    name: str
    label: str
    description: str
    directions: tuple[str, ...]


def customers_to_try(query: str = "", *, limit: int = CUSTOMERS_SHOWN) -> list[Customer]:
    """Customers by name, account number or phone (any part), by name; at most `limit` + 1, so
    that the page can tell there are more."""
    customers = Customer.objects.only("id", "name", "account_number", "phone", "currency")
    query = query.strip()
    if query:
        matches = Q(name__icontains=query) | Q(account_number__icontains=query)
        digits = "".join(ch for ch in query if ch.isdigit())
        if len(digits) >= 3:
            matches |= Q(phone__contains=digits)
        customers = customers.filter(matches)
    return list(customers.order_by("name", "id")[: limit + 1])


def workflow_choices() -> list[WorkflowChoice]:
    return [
        WorkflowChoice(
            name=workflow.name,
            label=workflow.name.replace("_", " ").capitalize(),
            description=workflow.description,
            directions=tuple(direction for direction in DIRECTIONS if direction in workflow.start),
        )
        for workflow in WORKFLOWS.values()
    ]


@console_page("test_call")
def test_call(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:100]
    customers = customers_to_try(query)
    context = {
        "query": query.strip(),
        "customers": customers[:CUSTOMERS_SHOWN],
        "more_customers": len(customers) > CUSTOMERS_SHOWN,
        "shown": CUSTOMERS_SHOWN,
        "workflows": workflow_choices(),
        "directions": DIRECTIONS,
        "labels": {
            "titles": EFFECT_TITLES,
            "fields": EFFECT_FIELDS,
            "values": EFFECT_VALUES,
            "money": sorted(MONEY_KEYS),
        },
    }
    return render_page(request, "console/test_call.html", context, current="test_call")


# A view, not a test: pytest's file pattern (test_*.py) matches this module's name.
test_call.__test__ = False  # type: ignore[attr-defined]
