from datetime import date, datetime
from decimal import Decimal

from ninja import Schema


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
