from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field, ValidationInfo, field_validator

from apps.approvals.services import NOTE_MAX_LENGTH


class ApprovalOut(Schema):
    id: int
    kind: str
    customer_id: int
    call_id: int | None
    payload: dict[str, Any]
    reasoning: str
    confidence: int
    flags: list[str]
    caller_words: str
    status: str
    expires_at: datetime
    decided_by_label: str
    decided_at: datetime | None
    note: str
    result: dict[str, Any]
    created_at: datetime


class ApprovalDecisionIn(Schema):
    decision: Literal["approve", "reject"]
    note: str = Field("", max_length=NOTE_MAX_LENGTH, validate_default=True)

    # A validator on the field (not the model) so the 422 points at `note`; it sees `decision`
    # because that field is declared, and so validated, first.
    @field_validator("note")
    @classmethod
    def _rejection_needs_a_note(cls, note: str, info: ValidationInfo) -> str:
        if info.data.get("decision") == "reject" and not note.strip():
            raise ValueError("A rejection needs a note saying why.")
        return note
