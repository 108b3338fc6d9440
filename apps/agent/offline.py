"""The offline engine: the agent's turn without an LLM.

It takes over when no model is configured or every model failed, so the product degrades instead
of going silent. Understanding is deterministic (apps.agent.nlu); actions are the same tools the
LLM calls, through the same checks, chosen by the step the call is in (its `act`); replies are
templates filled only with grounded figures (its `say`). Both belong to the workflow the call runs
(apps/agent/workflows/<name>/): this module only dispatches to them, and words what no workflow
owns (a hand-off, an opt-out).
"""

from datetime import date
from decimal import Decimal
from typing import Any

from apps.agent.nlu import Understanding
from apps.agent.numbers import spoken_date, spoken_money, spoken_number, written_date, written_money
from apps.agent.prompts import CustomerContext
from apps.agent.state import ConversationState
from apps.agent.workflows import Action, Heard, Wording, get_workflow
from apps.agent.workflows.base import caller_amounts as amounts_said

__all__ = ["Action", "Speech", "actions", "after", "caller_amounts", "handoff_reply", "opt_out_reply", "reply"]


class Speech:
    """Figures as this channel says them: spoken words on the phone, written forms in chat."""

    def __init__(self, channel: str, today: date, currency: str = "USD") -> None:
        self.voice = channel == "voice"
        self.today = today
        self.currency = currency

    def money(self, amount: str | Decimal) -> str:
        value = Decimal(str(amount))
        return spoken_money(value, self.currency) if self.voice else written_money(value, self.currency)

    def count(self, n: int) -> str:
        return spoken_number(n) if self.voice else str(n)

    def day(self, iso: str | date) -> str:
        value = date.fromisoformat(iso) if isinstance(iso, str) else iso
        return spoken_date(value, self.today) if self.voice else written_date(value, self.today)


# --- actions ---------------------------------------------------------------------------------


def caller_amounts(u: Understanding, state: ConversationState, today: date) -> list[Decimal]:
    """Amounts the caller said in the call's current step. While money is the subject (a `money`
    step), a bare number is an amount too ("300 on Friday")."""
    money = get_workflow(state.workflow, state.version).step(state.step).money
    return amounts_said(u, money=money, today=today)


def actions(state: ConversationState, u: Understanding, customer: CustomerContext, today: date) -> list[Action]:
    """The tool calls this caller turn asks for, in the current step: the step's `act`."""
    step = get_workflow(state.workflow, state.version).step(state.step)
    if step.act is None:
        return []
    return step.act(Heard(state=state, u=u, customer=customer, today=today, money=step.money))


def after(name: str, arguments: dict[str, Any], result: dict[str, Any], state: ConversationState) -> list[Action]:
    """What follows a tool result, offline, as the call's workflow says (its `follow_up`: e.g. a
    settlement below the floor goes to a person)."""
    return list(get_workflow(state.workflow, state.version).follow_up(name, arguments, result))


# --- replies ---------------------------------------------------------------------------------


def reply(
    state: ConversationState,
    customer: CustomerContext,
    results: list[tuple[str, dict[str, Any]]],
    speech: Speech,
    heard: Understanding | None = None,
) -> str:
    """What the agent says now, in the step the turn ended in: that step's wording, from its workflow,
    after this turn's tool `results` and the caller's words (`heard`; none for a greeting)."""
    step = get_workflow(state.workflow, state.version).step(state.step)
    if step.say is None:
        return "Sorry, could you say that again?"
    return step.say(Wording(state=state, customer=customer, last=dict(results), speech=speech, heard=heard))


def handoff_reply(channel: str, system_down: bool = False) -> str:
    if system_down:
        return (
            "I'm sorry, I can't reach our systems right now. Let me connect you with a specialist who can help."
            if channel == "voice"
            else "I'm sorry, I can't reach our systems right now. I'm handing this conversation to a specialist."
        )
    if channel == "voice":
        return "I'll connect you with a specialist now. One moment, please."
    return "I'm handing this conversation to a specialist, who will continue with you here."


def opt_out_reply() -> str:
    return "Understood. I've added your number to our do-not-call list, and we won't call you again. Goodbye."
