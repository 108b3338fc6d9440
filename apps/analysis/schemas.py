"""What post-call analysis produces: one schema, whoever fills it (a model or the offline analyzer).

A model's answer is parsed into `CallInsights`; anything that does not fit is invalid output.
Every `evidence` must be a quote of the transcript (checked in code, not trusted).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Confidence = Field(ge=0, le=100, description="0-100: how sure you are")

INTENTS = (
    "promise_to_pay",
    "payment_plan",
    "dispute",
    "hardship",
    "callback_request",
    "fee_waiver_request",
    "settlement_request",
    "wrong_party",
    "opt_out",
    "roadside_assistance",
    "information",
    "other",
)
ACTIONS = (
    "follow_up_call",  # call again at `when`
    "fee_waiver",  # a person must approve (payload: fee, amount)
    "settlement",  # a person must approve (payload: settlement_amount, due_date)
    "human_review",  # a person should look at the account
    "none",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sentiment(_Strict):
    label: Literal["positive", "neutral", "negative", "mixed"]
    score: float = Field(ge=-1, le=1, description="-1 (negative) to 1 (positive), overall")
    trajectory: list[float] = Field(
        default_factory=list, max_length=10, description="the score at the start, middle and end of the call"
    )
    confidence: int = Confidence
    evidence: str = Field(default="", description="a short exact quote from the transcript")


class PromiseExtraction(_Strict):
    made: bool = Field(description="the customer committed to pay an amount by a date")
    amount: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)
    due_date: date | None = None
    method: Literal["card", "bank_transfer", "check", "cash", "online_portal", "other", ""] = ""
    confidence: int = Confidence
    reasoning: str = ""
    evidence: str = Field(default="", description="the customer's words making the promise, quoted exactly")


class NextAction(_Strict):
    type: Literal[ACTIONS]  # type: ignore[valid-type]
    when: datetime | None = Field(default=None, description="ISO 8601 with offset, for follow_up_call")
    urgency: Literal["low", "normal", "high", "immediate"] = "normal"
    reason: str = ""
    payload: dict[str, str] = Field(default_factory=dict, description="for fee_waiver and settlement")
    has_business_override: bool = False
    override_reason: str = ""
    confidence: int = Confidence


class FieldEvidence(_Strict):
    confidence: int = Confidence
    evidence: str = ""


class CallInsights(_Strict):
    sentiment: Sentiment
    intent: Literal[INTENTS]  # type: ignore[valid-type]
    promise: PromiseExtraction
    next_action: NextAction
    summary: str = Field(min_length=1, max_length=2000)
    fields: dict[Literal["sentiment", "intent", "promise", "next_action", "summary"], FieldEvidence] = Field(
        default_factory=dict, description="per field: your confidence and the quote it rests on"
    )

    def confidences(self) -> dict[str, int]:
        """Each field's confidence, the per-field entry winning over the field's own."""
        own = {
            "sentiment": self.sentiment.confidence,
            "intent": self.fields["intent"].confidence if "intent" in self.fields else None,
            "promise": self.promise.confidence,
            "next_action": self.next_action.confidence,
            "summary": self.fields["summary"].confidence if "summary" in self.fields else None,
        }
        for name, entry in self.fields.items():
            own[name] = entry.confidence
        return {name: value for name, value in own.items() if value is not None}

    def quotes(self) -> dict[str, str]:
        """Every evidence quote, by where it sits; each must occur in the transcript."""
        quotes = {"sentiment.evidence": self.sentiment.evidence, "promise.evidence": self.promise.evidence}
        quotes.update({f"fields.{name}.evidence": entry.evidence for name, entry in self.fields.items()})
        return {where: quote for where, quote in quotes.items() if quote.strip()}
