"""Twilio's request signatures, checked on every Twilio route before anything else happens.

The URL a signature covers is built from PUBLIC_BASE_URL (what Twilio called), never from what a
proxy hands Django. Webhooks are signed with the auth token (HMAC-SHA1), or with a SharedKey
secret (HMAC-SHA256) when the request says so in X-Twilio-Webhooks-Signature-Settings.
"""

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import HMAC_SHA1, RequestValidator, get_signature_algorithm

from apps.core import metrics, telemetry

logger = logging.getLogger(__name__)


def public_url(path: str) -> str:
    """The absolute URL Twilio uses for one of our paths."""
    return f"{settings.PUBLIC_BASE_URL}{path}"


def relay_url(path: str) -> str:
    """The absolute URL of a socket of ours at `path`, as Twilio opens it (the ConversationRelay
    socket): wss:// (ws:// only for a plain-http development origin)."""
    origin = urlsplit(settings.PUBLIC_BASE_URL)
    scheme = "wss" if origin.scheme == "https" else "ws"
    return f"{scheme}://{origin.netloc}{path}"


def signature_valid(*, url: str, params: Any, signature: str, settings_header: str = "") -> bool:
    algorithm = get_signature_algorithm(settings_header)
    secret = settings.TWILIO_WEBHOOK_SECRET if algorithm != HMAC_SHA1 else settings.TWILIO_AUTH_TOKEN
    if not secret:
        logger.error("Refusing a Twilio request: no secret configured for %s signatures", algorithm)
        return False
    if not signature:
        return False
    return RequestValidator(secret).validate(url, params, signature, algorithm=algorithm)


def twilio_webhook(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A POST from Twilio, signature-checked first: anything else gets 403 and nothing is written.
    Each is counted for /metrics and, with tracing on, a span in its call's trace: the call named
    in the path, or the one the view names (`telemetry.bind_call`) once it has found it."""

    @csrf_exempt
    @require_POST
    @wraps(view)
    def observed(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        route = "/" + request.resolver_match.route if request.resolver_match else request.path
        with telemetry.active(
            f"POST {route}",
            kind="server",
            call_id=kwargs.get("call_id"),
            **{"http.request.method": "POST", "http.route": route, "twilio.call_sid": request.POST.get("CallSid")},
        ) as span:
            response = checked(request, *args, **kwargs)
            if span is not None:
                span.set(**{"http.response.status_code": response.status_code})
        metrics.TWILIO_WEBHOOKS.labels(route, str(response.status_code)).inc()
        return response

    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        valid = signature_valid(
            url=public_url(request.get_full_path()),
            params=request.POST,
            signature=request.headers.get("X-Twilio-Signature", ""),
            settings_header=request.headers.get("X-Twilio-Webhooks-Signature-Settings", ""),
        )
        if not valid:
            logger.warning("Invalid Twilio signature on %s", request.path)
            return HttpResponseForbidden("Invalid Twilio signature.")
        return view(request, *args, **kwargs)

    return observed
