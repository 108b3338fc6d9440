"""Sending one text through Twilio Messaging: one POST, and what its failure means.

Twilio has no idempotency key for messages, so the caller must know whether a failed request
may have been sent: `MessageRetryable` when it surely was not (no connection, or Twilio failed it
with a 5xx), `MessageRefused` when Twilio refused it (4xx: sending it again would be refused
again), `MessageUnclear` when nobody can tell (a timeout, an unreadable answer).
"""

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioRestException

from apps.twilio.client import twilio_client

UNSUBSCRIBED = 21610  # Twilio: the recipient replied STOP to this number


class MessageRetryable(Exception):
    """The request never reached Twilio, or Twilio failed it (5xx): safe to send again later."""


class MessageRefused(Exception):
    """Twilio refused the message (4xx): nothing was sent, and the same request would fail again."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message

    @property
    def unsubscribed(self) -> bool:
        return self.code == UNSUBSCRIBED


class MessageUnclear(Exception):
    """No usable answer: the message may have been sent."""


def message_send(*, to: str, body: str) -> str:
    """Send one text from TWILIO_FROM_NUMBER; returns its MessageSid. Raises
    TelephonyNotConfigured (nothing sent), MessageRetryable, MessageRefused or MessageUnclear."""
    client = twilio_client()
    try:
        return client.messages.create(to=to, from_=settings.TWILIO_FROM_NUMBER, body=body).sid
    except TwilioRestException as exc:
        if exc.status >= 500:
            raise MessageRetryable(f"Twilio answered {exc.status}") from exc
        raise MessageRefused(exc.code, exc.msg) from exc
    except requests.exceptions.ConnectionError as exc:  # never connected: nothing was sent
        raise MessageRetryable(str(exc)) from exc
    except Exception as exc:  # timed out waiting, an unreadable answer: it may have been sent
        raise MessageUnclear(str(exc)) from exc
