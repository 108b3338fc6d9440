from datetime import datetime

from ninja import Schema
from pydantic import Field, field_validator


class FollowUpIn(Schema):
    customer_id: int
    due_at: datetime
    reason: str = Field(min_length=1, max_length=255)
    promise_id: int | None = None
    max_attempts: int = Field(3, ge=1, le=10)
    requested_by_customer: bool = False

    @field_validator("due_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.utcoffset() is None:
            raise ValueError("must include a time zone offset, e.g. 2026-01-31T14:00:00Z")
        return value


class FollowUpOut(Schema):
    id: int
    customer_id: int
    promise_id: int | None
    source_call_id: int | None
    reason: str
    due_at: datetime
    status: str
    block_reason: str
    attempts: int
    max_attempts: int
    last_attempt_at: datetime | None
    last_error: str
    requested_by_customer: bool
    business_override: bool
    override_reason: str
    created_at: datetime
