from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel
from apps.core.validators import validate_e164


class SmsPurpose(models.TextChoices):
    PROMISE_CONFIRMATION = "promise_confirmation", "Promise confirmation"
    OPT_OUT = "opt_out", "STOP (opt-out)"
    OPT_IN = "opt_in", "START (opt back in)"
    HELP = "help", "HELP"
    REPLY = "reply", "Reply"


class SmsDirection(models.TextChoices):
    OUTBOUND = "outbound", "To the customer"
    INBOUND = "inbound", "From the customer"


class SmsStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent (accepted by Twilio)"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not sent"
    RECEIVED = "received", "Received"


class SmsMessage(TimeStampedModel):
    """A text message: one row per message we mean to send (before it is sent), and per message
    received (STOP, START, HELP and replies)."""

    direction = models.CharField(max_length=8, choices=SmsDirection, default=SmsDirection.OUTBOUND)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="sms_messages"
    )
    promise = models.ForeignKey(
        "promises.Promise", null=True, blank=True, on_delete=models.SET_NULL, related_name="sms_messages"
    )
    purpose = models.CharField(max_length=32, choices=SmsPurpose)
    from_number = models.CharField(max_length=16, blank=True)
    to_number = models.CharField(max_length=16, validators=[validate_e164])
    body = models.TextField()
    status = models.CharField(max_length=10, choices=SmsStatus, default=SmsStatus.QUEUED)
    status_reason = models.CharField(
        max_length=255, blank=True, help_text="Why it was not sent, or failed; for one received, what was done."
    )
    twilio_sid = models.CharField(max_length=34, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "text message"
        ordering = ["-created_at", "-id"]
        constraints = [
            # A promise is confirmed once, however often the code that records it runs.
            models.UniqueConstraint(
                fields=["promise", "purpose"], condition=Q(promise__isnull=False), name="sms_once_per_promise"
            ),
            models.UniqueConstraint(fields=["twilio_sid"], condition=~Q(twilio_sid=""), name="sms_unique_sid"),
            models.CheckConstraint(
                condition=~Q(status__in=["failed", "skipped"]) | ~Q(status_reason=""),
                name="sms_unsent_has_reason",
                violation_error_message="A message that was not sent needs the reason.",
            ),
        ]

    def __str__(self) -> str:
        if self.direction == SmsDirection.INBOUND:
            return f"{self.get_purpose_display()} from {self.from_number}"
        return f"{self.get_purpose_display()} to {self.to_number} ({self.get_status_display()})"


class RelaySession(models.Model):
    """One ConversationRelay socket the TwiML allowed for a call. Its token (in the socket URL,
    which Twilio signs) opens one socket, once, until `expires_at`; when a newer session of the
    call connects, this one is superseded and says nothing more. Written only by
    apps.telephony.relay_sessions."""

    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="relay_sessions", editable=False)
    issued_at = models.DateTimeField(editable=False)
    expires_at = models.DateTimeField(editable=False)
    connected_at = models.DateTimeField(null=True, blank=True, editable=False)
    superseded_at = models.DateTimeField(null=True, blank=True, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)
    twilio_session_id = models.CharField(max_length=64, blank=True, editable=False)  # setup's sessionId

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Relay session {self.pk} of call {self.call_id}"
