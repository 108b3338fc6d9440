from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import Field, field_validator

from apps.core.schemas import Currency, E164Phone, IanaTimezone, Money
from apps.customers.models import CollectionStage, ConsentSource, RiskCategory


class CustomerIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    phone: E164Phone
    email: str = Field("", max_length=254)
    timezone: IanaTimezone = ""
    language: str = Field("en-US", pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")
    account_number: str = Field(min_length=1, max_length=32)
    balance: Money = Decimal("0.00")
    currency: Currency = "USD"
    days_overdue: int = Field(0, ge=0)
    risk_category: RiskCategory = RiskCategory.LOW
    collection_stage: CollectionStage = CollectionStage.CURRENT
    profile: dict[str, Any] = Field(default_factory=dict)
    consent_automated_calls: bool = False
    consent_given_at: datetime | None = None
    consent_source: ConsentSource | None = None
    do_not_call: bool = False
    consent_sms: bool = False

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value:
            try:
                validate_email(value)
            except ValidationError:
                raise ValueError("must be an email address") from None
        return value

    @field_validator("consent_given_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("must include a time zone offset, e.g. 2026-01-31T14:00:00Z")
        return value


class CustomerOut(Schema):
    id: int
    name: str
    phone: str
    email: str
    timezone: str
    language: str
    account_number: str
    balance: Decimal
    currency: str
    days_overdue: int
    risk_category: str
    risk_score: Decimal | None
    collection_stage: str
    profile: dict[str, Any]
    consent_automated_calls: bool
    consent_given_at: datetime | None
    consent_source: str
    do_not_call: bool
    consent_sms: bool
    created_at: datetime
    updated_at: datetime
