"""What a collections call establishes, typed: the account as looked up, the terms agreed, what
was recorded or asked of a person. Stored in the state's facts under these names."""

from typing import NotRequired, TypedDict

from apps.agent.state import CallFacts, Fact


class ActivePromise(TypedDict):
    """An open promise due today or later: still current."""

    amount: str
    due_date: str  # ISO
    status: str  # "pending" or "partially_kept"


class MissedPromise(TypedDict):
    """An open promise whose due date has passed (the customer's today): missed, not current. Open
    until the broken-promise sweep closes it."""

    amount: str
    due_date: str  # ISO
    status: str  # "pending" (nothing received) or "partially_kept" (part of it received)


class LastPayment(TypedDict):
    amount: str
    received_on: str  # ISO


class Account(TypedDict):
    """lookup_account's result: amounts as decimal strings, dates ISO."""

    balance: str
    currency: str
    days_overdue: int
    account_ending: str
    late_fee: str
    minimum_first_payment: str
    latest_payment_date: str
    active_promise: ActivePromise | None  # the first open promise due today or later
    # The latest open promise due before today (absent from calls looked up before it was reported).
    missed_promise: NotRequired[MissedPromise | None]
    last_payment: NotRequired[LastPayment | None]


class Plan(TypedDict):
    """Terms propose_payment accepted: read back, then recorded once the caller says yes."""

    kind: str  # "full", "plan" or "settlement"
    amount: str
    due_date: str  # ISO
    method: str  # a PaymentMethod, or "" when not said
    remaining_balance: NotRequired[str]


class CollectionsFacts(CallFacts):
    __slots__ = ()

    # Outbound: whether the person who answered said they are the customer (None until they answer).
    party_confirmed: Fact[bool | None] = Fact()
    account: Fact[Account | None] = Fact()
    plan: Fact[Plan | None] = Fact()
    # The caller said no to the terms read back: ask for new ones.
    terms_rejected: Fact[bool] = Fact(False)
    # The promise recorded ("test" on a test call), and the approval asked of a specialist.
    promise_id: Fact[int | str | None] = Fact()
    approval_id: Fact[int | str | None] = Fact()
    approval_kind: Fact[str | None] = Fact()  # "fee_waiver" or "settlement"
