"""Placing one call through Twilio's REST API: the one POST, and what its failure means.

Twilio has no idempotency key for creating a call: the caller claims its attempt before this
request and never repeats it blindly. `rest_error` says what Twilio answered: a 429 placed nothing
(try again later), another 4xx placed nothing (trying again would be refused again), and anything
else (a timeout, a connection error, a 5xx) may have placed the call.
"""

from typing import Any

import requests

# The client imports its Calls resource on first use (~30-80 ms): imported here, when the process
# starts, so that cost never falls between a dial's send slot and its request (see pacing).
import twilio.rest.api.v2010.account.call  # noqa: F401
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException

from apps.twilio.client import twilio_client

STATUS_CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"]
# Failures of a request to Twilio: the network, Twilio's errors, and nothing else.
NETWORK_ERRORS = (TwilioException, requests.RequestException)
TOO_MANY_REQUESTS = 429


def call_create(*, to: str, from_: str, answer_url: str, status_url: str, amd_url: str) -> Any:
    """The one POST that places a call, with status callbacks and asynchronous answering-machine
    detection. Twilio asks `answer_url` for the call's TwiML and reports to `status_url` and
    `amd_url`: absolute URLs the caller builds from its own routes (this module knows none).
    Returns Twilio's call resource. Raises TelephonyNotConfigured (nothing sent) or the client's
    error."""
    client = twilio_client()
    return client.calls.create(
        to=to,
        from_=from_,
        url=answer_url,
        method="POST",
        status_callback=status_url,
        status_callback_method="POST",
        status_callback_event=STATUS_CALLBACK_EVENTS,
        machine_detection="DetectMessageEnd",
        # Twilio wants the string "true"; a Python bool would be sent as "True".
        async_amd="true",
        async_amd_status_callback=amd_url,
        async_amd_status_callback_method="POST",
        time_limit=settings.OUTBOUND_CALL_TIME_LIMIT,
    )


def call_redirect(*, call_sid: str, url: str) -> None:
    """Move a live call to new TwiML, asked of `url` now: whatever it was doing (a <Dial> to a
    person, a queue) ends for it. Raises TelephonyNotConfigured (nothing sent) or the client's error;
    the one request is never repeated (the call may have moved)."""
    twilio_client().calls(call_sid).update(url=url, method="POST")


def rest_error(exc: Exception) -> tuple[int, str] | None:
    """(HTTP status, "<code>: <message>") for an error response from Twilio, else None."""
    if isinstance(exc, TwilioRestException):
        message = str(exc.msg).removeprefix("Unable to create record: ")
        return exc.status, f"{exc.code}: {message}"
    if isinstance(exc, TwilioServiceException):
        return exc.status, f"{exc.code}: {exc.detail or exc.title}"
    return None
