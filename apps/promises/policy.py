"""The collections business rules. The agent's tools enforce them; the prompt only explains them."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class CollectionPolicy:
    max_days_to_pay: int = 30  # a promised payment date is at most this far away
    min_payment_floor: Decimal = Decimal("25.00")  # the smallest first payment of a plan...
    min_payment_ratio: Decimal = Decimal("0.10")  # ...or this share of the balance, whichever is more
    max_installments: int = 6  # a plan pays off the rest in at most this many monthly payments
    settlement_floor_ratio: Decimal = Decimal("0.70")  # settling for less than this share needs a person
    late_fee: Decimal = Decimal("35.00")  # charged once an account is overdue; waiving it needs a person

    def min_payment(self, balance: Decimal) -> Decimal:
        share = (balance * self.min_payment_ratio).quantize(CENT, rounding=ROUND_HALF_UP)
        return min(balance, max(self.min_payment_floor, share))

    def latest_date(self, today: date) -> date:
        return today + timedelta(days=self.max_days_to_pay)

    def settlement_floor(self, balance: Decimal) -> Decimal:
        return (balance * self.settlement_floor_ratio).quantize(CENT, rounding=ROUND_HALF_UP)

    def describe(self) -> list[str]:
        """The rules in plain words, for the prompt."""
        return [
            f"A payment date must be within {self.max_days_to_pay} days.",
            f"Pay in full, or a payment plan: a first payment of at least the larger of ${self.min_payment_floor} "
            f"and {self.min_payment_ratio:.0%} of the balance, the rest in at most {self.max_installments} monthly payments.",
            f"A settlement for less than {self.settlement_floor_ratio:.0%} of the balance, and any fee waiver, "
            "need a specialist's approval: request it, never grant it.",
        ]


POLICY = CollectionPolicy()
