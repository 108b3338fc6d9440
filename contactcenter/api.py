"""The REST API at /api/v1/: one router per app, errors as {"detail": ...}."""

import json

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.parser import Parser

from apps.analysis.api import router as call_detail_router
from apps.analytics.api import router as analytics_router
from apps.approvals.api import router as approvals_router
from apps.calls.api import router as calls_router
from apps.collections.api import payments_router
from apps.core.errors import DomainError, InvalidReference
from apps.customers.api import router as customers_router
from apps.outreach.api import router as followups_router
from apps.promises.api import router as promises_router
from apps.voice.api import router as outbound_calls_router

NUL = "\x00"


class UnparsableBody(ValueError):
    """The body is JSON, but not JSON we can take; the message says why."""


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class RefusingNulParser(Parser):
    """Text with NUL characters is refused before it reaches a query: PostgreSQL cannot store or
    compare it (a 500 before), and no field of ours means anything with it."""

    def parse_body(self, request: HttpRequest) -> dict:
        data = json.loads(request.body)
        # JSON carries a NUL only as the escape \u0000: walk the parsed body only when it is there.
        if b"\\u0000" in request.body and _has_nul(data):
            raise UnparsableBody("The request body must not contain NUL (\\u0000) characters.")
        return data

    def parse_querydict(self, data: MultiValueDict, list_fields: list[str], request: HttpRequest) -> dict:
        if any(NUL in key or any(NUL in value for value in values) for key, values in data.lists()):
            raise HttpError(400, "Query parameters must not contain NUL (\\u0000) characters.")
        return super().parse_querydict(data, list_fields, request)


api = NinjaAPI(
    title="Contact center API",
    version="1",
    description=(
        "Authenticate with an `X-API-Key` header (`python manage.py create_api_key NAME`) "
        'or a signed-in session. Errors are JSON `{"detail": ...}`; lists are paginated '
        'with `limit` and `offset` and return `{"items": [...], "count": N}`.'
    ),
    urls_namespace="api",
    docs_decorator=staff_member_required,
    parser=RefusingNulParser(),
)

api.add_router("/customers", customers_router)
api.add_router("/calls", calls_router)
api.add_router("/calls", call_detail_router)  # GET /calls/{id}, with its analysis: above the calls app
api.add_router("/calls", outbound_calls_router)  # POST /calls/outbound: above the calls app
api.add_router("/promises", promises_router)
api.add_router("/payments", payments_router)
api.add_router("/followups", followups_router)
api.add_router("/approvals", approvals_router)
api.add_router("/analytics", analytics_router)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    detail = str(exc) if str(exc) != "Unauthorized" else "Authentication required: send an X-API-Key header or sign in."
    response = api.create_response(request, {"detail": detail}, status=401)
    response["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    return response


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja answers every body it cannot parse with one message; ours says what was wrong.
    detail = str(exc.__cause__) if isinstance(exc.__cause__, UnparsableBody) else str(exc)
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


@api.exception_handler(RequestDataTooBig)
def too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    """Bodies past DATA_UPLOAD_MAX_MEMORY_SIZE (bigger ones are refused before Django, see
    apps/core/body_limit.py)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return api.create_response(
        request, {"detail": f"The request body is too large: the limit is {limit} bytes."}, status=413
    )


@api.exception_handler(OverflowError)
def out_of_range(request: HttpRequest, exc: OverflowError) -> HttpResponse:
    """A number too large for the database (SQLite raises where PostgreSQL matches nothing)."""
    return api.create_response(request, {"detail": "A number in the request is out of range."}, status=422)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Not found."}, status=404)


def _field_errors(field: str, messages: list[str]) -> list[dict]:
    loc = ["body"] if field == NON_FIELD_ERRORS else ["body", field]
    return [{"loc": loc, "msg": message, "type": "value_error"} for message in messages]


@api.exception_handler(DjangoValidationError)
def invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    """Model validation (full_clean) reads like schema validation: 422, naming each field."""
    if hasattr(exc, "error_dict"):
        errors = [e for field, messages in exc.message_dict.items() for e in _field_errors(field, messages)]
    else:
        errors = _field_errors(NON_FIELD_ERRORS, exc.messages)
    return api.create_response(request, {"detail": errors}, status=422)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    if isinstance(exc, InvalidReference):
        return api.create_response(request, {"detail": _field_errors(exc.field, [exc.message])}, status=422)
    return api.create_response(request, {"detail": exc.message}, status=exc.status_code)
