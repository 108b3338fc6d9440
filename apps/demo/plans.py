"""The demo data set as planned in memory, before any row is written: its customers and calls.

Planned first and written after (`seed`), so that every run plans the same rows; every module of
the seeder reads these, and none of them imports the seeder.
"""

import random
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from apps.demo import data


class HeldPromise(NamedTuple):
    """An earlier call's promise, as it stood when a later call began."""

    amount: Decimal
    currency: str
    due_date: date
    method: str
    status: str
    amount_paid: Decimal


class ReceivedPayment(NamedTuple):
    amount: Decimal
    currency: str
    method: str
    received_at: datetime
    reference: str


class AccountHistory(NamedTuple):
    """The customer's promises and payments when the call began (`context.account_history`)."""

    promises: list[HeldPromise]
    payments: list[ReceivedPayment]


@dataclass
class CustomerPlan:
    index: int
    city_key: str
    city: data.City
    tz: str  # the zone calls are scheduled in, also for customers stored without one
    dob: date
    fields: dict[str, Any]
    pk: int | None = None

    @property
    def first(self) -> str:
        return self.fields["name"].split()[0]

    @property
    def phone(self) -> str:
        return self.fields["phone"]


@dataclass
class CallPlan:
    index: int
    customer: CustomerPlan
    fields: dict[str, Any]
    workflow: str
    rng: random.Random
    # Recency without `now`: (days ago, then later in the day first); keeps the plan stable between runs.
    age: tuple[int, int]
    scenario: str = ""
    local_date: date | None = None
    context: dict[str, Any] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
    analysis: dict[str, Any] | None = None
    promise: dict[str, Any] | None = None
    dispatch: dict[str, Any] | None = None
    # What the call's side-effecting tools would have done, by tool (`tools.DemoTools.effects`).
    effects: dict[str, dict[str, Any]] = field(default_factory=dict)
    hardship: str = ""
    pk: int | None = None

    @property
    def key(self) -> str:
        return self.fields["twilio_call_sid"] or self.fields["state"]["facts"]["demo_key"]

    @property
    def spanish(self) -> bool:
        return self.customer.fields["language"].startswith("es")
