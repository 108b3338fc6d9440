from datetime import datetime
from decimal import Decimal

from ninja import Schema
from pydantic import Field


class TranscriptEntryOut(Schema):
    sequence: int
    speaker: str
    text: str
    spoken_at: datetime
    interrupted: bool
    redacted: bool


class CallOut(Schema):
    id: int
    twilio_call_sid: str
    customer_id: int | None
    channel: str
    direction: str
    status: str
    from_number: str
    to_number: str
    reason: str
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    duration_seconds: int | None
    answered_by: str
    workflow_name: str
    workflow_version: str
    current_step: str
    handoff_reason: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    is_test: bool  # a test call staff made (console, web chat, simulate_call): its effects were not real


class OutboundCallIn(Schema):
    customer_id: int
    # Checked against the known workflows by the service, so the 422 names `workflow` either way.
    workflow: str = Field(min_length=1, max_length=50)
    reason: str = Field(min_length=1, max_length=255)
