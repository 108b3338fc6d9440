from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from apps.core.models import TimeStampedModel


class Channel(models.TextChoices):
    VOICE = "voice", "Voice"
    WEB_CHAT = "web_chat", "Web chat"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class CallStatus(models.TextChoices):
    """Twilio's call statuses; web chats use in-progress and completed."""

    QUEUED = "queued", "Queued"
    INITIATED = "initiated", "Initiated"
    RINGING = "ringing", "Ringing"
    IN_PROGRESS = "in-progress", "In progress"
    COMPLETED = "completed", "Completed"
    BUSY = "busy", "Busy"
    FAILED = "failed", "Failed"
    NO_ANSWER = "no-answer", "No answer"
    CANCELED = "canceled", "Canceled"


TERMINAL_STATUSES = frozenset(
    {CallStatus.COMPLETED, CallStatus.BUSY, CallStatus.FAILED, CallStatus.NO_ANSWER, CallStatus.CANCELED}
)


class AnsweredBy(models.TextChoices):
    HUMAN = "human", "Human"
    MACHINE_START = "machine_start", "Machine (start)"
    MACHINE_END_BEEP = "machine_end_beep", "Machine (beep)"
    MACHINE_END_SILENCE = "machine_end_silence", "Machine (silence)"
    MACHINE_END_OTHER = "machine_end_other", "Machine (other)"
    FAX = "fax", "Fax"
    UNKNOWN = "unknown", "Unknown"


class Call(TimeStampedModel):
    twilio_call_sid = models.CharField("CallSid", max_length=34, blank=True, default="")
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calls",
        db_index=False,  # covered by call_customer_idx
    )
    channel = models.CharField(max_length=10, choices=Channel, default=Channel.VOICE)
    direction = models.CharField(max_length=10, choices=Direction)
    status = models.CharField(max_length=12, choices=CallStatus, default=CallStatus.QUEUED)
    # The SequenceNumber of the last status callback applied: older or repeated ones change nothing.
    status_sequence = models.IntegerField(null=True, blank=True, editable=False)
    # Set just before the REST request that places an outbound call: never dial twice. Cleared only
    # when Twilio answered 429 (nothing was placed) or the dial gave its send slot up unsent.
    dialed_at = models.DateTimeField(null=True, blank=True, editable=False)
    from_number = models.CharField(max_length=32, blank=True)
    to_number = models.CharField(max_length=32, blank=True)
    reason = models.CharField(max_length=255, blank=True, help_text="Why an outbound call was placed.")
    followup = models.ForeignKey(
        "outreach.FollowUp",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        help_text="The follow-up this call is an attempt of.",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    answered_by = models.CharField(max_length=20, choices=AnsweredBy, blank=True)
    workflow_name = models.CharField(max_length=50, blank=True)
    workflow_version = models.CharField(max_length=64, blank=True, help_text="Content hash of the workflow definition.")
    current_step = models.CharField(max_length=50, blank=True)
    state = models.JSONField(default=dict, blank=True, help_text="Conversation state, saved after every turn.")
    handoff_reason = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    # ConversationRelay sessions of this call that failed (e.g. a web process died mid-call): the
    # first RELAY_RECONNECTS are reconnected, then a person takes over. The last one counted is
    # kept so that Twilio's retry of the same failure does not count twice.
    relay_failures = models.PositiveSmallIntegerField(default=0, editable=False)
    relay_failed_session = models.CharField(max_length=64, blank=True, editable=False)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=6, default=Decimal("0"))
    # A conversation a staff member started (web chat, simulate_call) is a test call: what it
    # would do to real records is recorded on the call instead (trace kind "sandboxed"), and it
    # counts in no compliance counter, sweep or report.
    is_test = models.BooleanField(
        "test call", default=False, editable=False, help_text="Started by staff: nothing it does touches real records."
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The person who started this test conversation; only they may type into it.",
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        permissions = [("place_call", "Can place outbound calls")]
        indexes = [
            models.Index(fields=["customer", "-started_at"], name="call_customer_idx"),
            models.Index(fields=["-started_at"], name="call_started_idx"),
            # Reconciliation looks for calls stuck in a non-terminal status.
            models.Index(fields=["status", "started_at"], name="call_status_idx"),
            # The calls live now (the console's monitor and its count on every page), among millions.
            models.Index(fields=["started_at"], condition=~Q(status__in=TERMINAL_STATUSES), name="call_live_idx"),
            # The analytics' rollups find the calls changed since their last run (apps/analytics).
            models.Index(fields=["updated_at"], name="call_updated_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["twilio_call_sid"], condition=~Q(twilio_call_sid=""), name="call_sid_unique_when_present"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(started_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="call_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        who = self.customer.name if self.customer_id else (self.from_number or "unknown caller")
        when = f"{self.started_at:%Y-%m-%d %H:%M}" if self.started_at else "not started"
        return f"{self.get_direction_display()} {self.get_channel_display().lower()} · {who} · {when}"


class Speaker(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    AGENT = "agent", "AI agent"
    HUMAN_AGENT = "human_agent", "Human agent"
    SYSTEM = "system", "System"


class TranscriptEntry(models.Model):
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="transcript", db_index=False)
    sequence = models.PositiveIntegerField()
    speaker = models.CharField(max_length=12, choices=Speaker)
    text = models.TextField()
    spoken_at = models.DateTimeField(default=timezone.now)
    interrupted = models.BooleanField(default=False, help_text="Cut off by the caller; text is what was heard.")
    redacted = models.BooleanField(default=False, help_text="Sensitive data was removed before storage.")

    class Meta:
        verbose_name_plural = "transcript entries"
        ordering = ["call", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["call", "sequence"], name="transcript_call_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.get_speaker_display()}: {self.text[:60]}"


class TraceKind(models.TextChoices):
    LLM_CALL = "llm_call", "LLM call"
    TOOL_CALL = "tool_call", "Tool call"
    GUARDRAIL = "guardrail", "Guardrail"
    STEP_CHANGE = "step_change", "Step change"
    TURN = "turn", "Turn"
    ERROR = "error", "Error"
    BREAKER = "breaker", "Circuit breaker"
    SANDBOXED = "sandboxed", "Not done (test call)"
    SUPERVISOR = "supervisor", "Supervisor"  # guidance, take-over, a person's words, hand-back


class TraceEvent(models.Model):
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="trace", db_index=False)
    turn = models.PositiveIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=12, choices=TraceKind)
    name = models.CharField(max_length=100)
    ok = models.BooleanField(default=True)
    payload = models.JSONField(default=dict, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=6, default=Decimal("0"))
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["call", "at", "id"]
        indexes = [
            models.Index(fields=["call", "at"], name="trace_call_idx"),
            models.Index(fields=["kind", "at"], name="trace_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name}"
