from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Schema
from pydantic import AwareDatetime, Field, field_validator

from apps.promises.models import PaymentMethod


class PromiseOut(Schema):
    id: int
    customer_id: int
    call_id: int | None
    amount: Decimal
    currency: str
    due_date: date
    method: str
    status: str
    amount_paid: Decimal
    confidence: int | None
    source: str
    superseded_by_id: int | None
    status_reason: str
    created_at: datetime


class PaymentIn(Schema):
    customer_id: int
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    reference: str = Field(
        min_length=1, max_length=100, description="The payer system's id: posting it again is a no-op."
    )
    received_at: AwareDatetime
    method: Literal["", *PaymentMethod.values] = Field("", description="Empty when unknown.")
    currency: str = Field("", pattern=r"^([A-Z]{3})?$", description="Empty: the account's currency.")

    @field_validator("reference")
    @classmethod
    def _stripped(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("The reference is blank.")
        return value


class PaymentOut(Schema):
    id: int
    customer_id: int
    amount: Decimal
    currency: str
    reference: str
    method: str
    received_at: datetime
    promise_id: int | None = Field(description="The promise it was applied to.")
    promise_status: str | None = Field(description="That promise's status now.")
    created_at: datetime

    @staticmethod
    def resolve_promise_status(payment) -> str | None:
        return payment.promise.status if payment.promise_id else None
