"""Daily rollups of what the contact center did, per business day (BUSINESS_TIME_ZONE) and the
dimensions managers filter by. Written only by apps/analytics/rollups.py, which recomputes a day's
rows from the raw rows (calls, promises, the audit trail) whenever something of that day changed,
so a rollup always equals a rebuild, however often it is refreshed. Test calls never count.
"""

from decimal import Decimal

from django.db import models


class Outcome(models.TextChoices):
    COMPLETED = "completed", "Completed"
    HANDED_OFF = "handed_off", "Handed to a person"
    ABANDONED = "abandoned", "Ended before the end"
    NOT_REACHED = "not_reached", "Not reached"
    IN_PROGRESS = "in_progress", "In progress"


class Dimensions(models.Model):
    """The filters: which workflow (and version), which way, over which channel."""

    day = models.DateField()
    workflow = models.CharField(max_length=50, blank=True)
    version = models.CharField(max_length=64, blank=True)
    direction = models.CharField(max_length=10, blank=True)
    channel = models.CharField(max_length=10, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.day} {self.workflow or '-'} {self.direction or '-'} {self.channel or '-'}"


class CallFigures(Dimensions):
    """Calls by outcome (CallDay: of one day; CallMonth: of a month)."""

    outcome = models.CharField(max_length=12, choices=Outcome)
    calls = models.PositiveIntegerField(default=0)
    meaningful = models.PositiveIntegerField(default=0, help_text="Analysed as meaningful conversations.")
    analysed = models.PositiveIntegerField(default=0, help_text="Judged (meaningful or not) by the analysis.")
    timed = models.PositiveIntegerField(default=0, help_text="Calls with a duration (for the handle time).")
    handle_seconds = models.BigIntegerField(default=0)
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=16, decimal_places=6, default=Decimal("0"))
    first_contacts = models.PositiveIntegerField(
        default=0, help_text="Calls of a customer with no completed call of theirs in the 7 days before."
    )
    first_contacts_resolved = models.PositiveIntegerField(
        default=0, help_text="Of those, ended with a promise or a dispatch."
    )

    class Meta:
        abstract = True


CALL_KEY = ["day", "workflow", "version", "direction", "channel", "outcome"]


class CallDay(CallFigures):
    """Calls of one day, by outcome."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=CALL_KEY, name="call_day_unique")]


class CallMonth(CallFigures):
    """CallDay summed over a calendar month (`day` is its first; see LatencyMonth)."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=CALL_KEY, name="call_month_unique")]


class HandoffFigures(Dimensions):
    """Calls handed to a person, by reason."""

    reason = models.CharField(max_length=255)
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


HANDOFF_KEY = ["day", "workflow", "version", "direction", "channel", "reason"]


class HandoffDay(HandoffFigures):
    """Calls of one day handed to a person."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=HANDOFF_KEY, name="handoff_day_unique")]


class HandoffMonth(HandoffFigures):
    """HandoffDay summed over a calendar month (`day` is its first)."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=HANDOFF_KEY, name="handoff_month_unique")]


class PromiseFigures(Dimensions):
    """Promises made (the cohort), and what became of them by now, by the customer's collection
    stage and risk category. The dimensions are those of the call it was made on."""

    stage = models.CharField(max_length=20, blank=True)
    risk = models.CharField(max_length=10, blank=True)
    promises = models.PositiveIntegerField(default=0)
    promised = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    kept = models.PositiveIntegerField(default=0)
    kept_amount = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    partial = models.PositiveIntegerField(default=0)
    partial_amount = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    broken = models.PositiveIntegerField(default=0)
    broken_amount = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    collected = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))

    class Meta:
        abstract = True


PROMISE_KEY = ["day", "workflow", "version", "direction", "channel", "stage", "risk"]


class PromiseDay(PromiseFigures):
    """Promises made on one day."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=PROMISE_KEY, name="promise_day_unique")]


class PromiseMonth(PromiseFigures):
    """PromiseDay summed over a calendar month (`day` is its first)."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=PROMISE_KEY, name="promise_month_unique")]


class AnalysisFigures(Dimensions):
    """Completed analyses of calls, by sentiment and intent: how many a person was asked to review,
    reviewed, and corrected (at least one field changed)."""

    sentiment = models.CharField(max_length=10, blank=True)
    intent = models.CharField(max_length=100, blank=True)
    analyses = models.PositiveIntegerField(default=0)
    to_review = models.PositiveIntegerField(default=0)
    reviewed = models.PositiveIntegerField(default=0)
    corrected = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


ANALYSIS_KEY = ["day", "workflow", "version", "direction", "channel", "sentiment", "intent"]


class AnalysisDay(AnalysisFigures):
    """Analyses of one day's calls."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=ANALYSIS_KEY, name="analysis_day_unique")]


class AnalysisMonth(AnalysisFigures):
    """AnalysisDay summed over a calendar month (`day` is its first)."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=ANALYSIS_KEY, name="analysis_month_unique")]


class GuardrailFigures(Dimensions):
    """Guardrail hits on calls, by kind (apps/agent: a prompt injection, a reply held back as
    ungrounded, a holding phrase, ...)."""

    name = models.CharField(max_length=100)
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


GUARDRAIL_KEY = ["day", "workflow", "version", "direction", "channel", "name"]


class GuardrailDay(GuardrailFigures):
    """Guardrail hits on one day's calls."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=GUARDRAIL_KEY, name="guardrail_day_unique")]


class GuardrailMonth(GuardrailFigures):
    """GuardrailDay summed over a calendar month (`day` is its first)."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=GUARDRAIL_KEY, name="guardrail_month_unique")]


class TurnFigures(Dimensions):
    """Turns of calls by who answered (the model, the offline engine, or a rule: a hand-off, a
    goodbye), how many of them said a holding phrase first, and how many a fallback model answered."""

    mode = models.CharField(max_length=10)
    turns = models.PositiveIntegerField(default=0)
    held = models.PositiveIntegerField(default=0)
    fallback = models.PositiveIntegerField(default=0, help_text="Answered by a model after the first in the chain.")

    class Meta:
        abstract = True


TURN_KEY = ["day", "workflow", "version", "direction", "channel", "mode"]


class TurnDay(TurnFigures):
    """Turns of one day's calls."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=TURN_KEY, name="turn_day_unique")]


class TurnMonth(TurnFigures):
    """TurnDay summed over a calendar month (`day` is its first)."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=TURN_KEY, name="turn_month_unique")]


class Histogram(Dimensions):
    """How one measure of turns was spread: the turns in each bucket (its lower bound,
    apps/analytics/latency.py), from which any percentile of any range is read."""

    metric = models.CharField(max_length=20)
    bucket_ms = models.PositiveIntegerField()
    turns = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


HISTOGRAM_KEY = ["day", "workflow", "version", "direction", "channel", "metric", "bucket_ms"]


class LatencyDay(Histogram):
    """One day's turns."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=HISTOGRAM_KEY, name="latency_day_unique")]


class LatencyMonth(Histogram):
    """LatencyDay summed over a calendar month (`day` is its first): a long range reads its whole
    months here and only its odd days from LatencyDay. Rebuilt with the days of its month; so are
    the other monthly tables (MONTHLY)."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=HISTOGRAM_KEY, name="latency_month_unique")]


# Each daily rollup a long range reads by month, with its monthly table.
MONTHLY: dict[type[Dimensions], type[Dimensions]] = {
    CallDay: CallMonth,
    HandoffDay: HandoffMonth,
    PromiseDay: PromiseMonth,
    AnalysisDay: AnalysisMonth,
    GuardrailDay: GuardrailMonth,
    TurnDay: TurnMonth,
    LatencyDay: LatencyMonth,
}


class BreakerDay(Dimensions):
    """A model endpoint's circuit breaker opening during one day's calls."""

    name = models.CharField(max_length=100)
    openings = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "workflow", "version", "direction", "channel", "name"], name="breaker_day_unique"
            )
        ]


class ComplianceEvent(models.TextChoices):
    BLOCKED = "blocked", "A follow-up call held back (kind: the rule)"
    OPT_OUT = "opt_out", "An opt-out (kind: how it came: a STOP text, on a call, ...)"
    DIALED = "dialed", "A call placed (kind: in_window, outside_window, or unknown)"
    FOLLOWUP = "followup", "A follow-up finished (kind: done or failed), on its last attempt's day"


class ComplianceDay(models.Model):
    """The calling rules at work on one day: the compliance gate's refusals, opt-outs, where in the
    calling window each placed call went out, follow-ups finished. Not by workflow or channel:
    these happen to customers and numbers, before or apart from a conversation."""

    day = models.DateField()
    event = models.CharField(max_length=10, choices=ComplianceEvent)
    kind = models.CharField(max_length=40)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "event", "kind"], name="compliance_day_unique")]

    def __str__(self) -> str:
        return f"{self.day} {self.event} {self.kind}: {self.count}"


class Watermark(models.Model):
    """How far the rollups have taken in changes to the raw rows."""

    name = models.CharField(max_length=40, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
