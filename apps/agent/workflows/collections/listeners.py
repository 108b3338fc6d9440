"""Collections: the conditions its transitions check, and the listeners that read the caller's
answers (yes/no to who they are, to the terms read back) into the state: code, not the model."""

from apps.agent.nlu import Understanding
from apps.agent.state import ConversationState as S
from apps.agent.workflows.collections.facts import CollectionsFacts as F


def party_confirmed(s: S) -> bool:
    return F.of(s).party_confirmed is True


def party_denied(s: S) -> bool:
    return F.of(s).party_confirmed is False


def account_presented(s: S) -> bool:
    return bool(F.of(s).account) and s.replies_in_step >= 1


def terms_agreed(s: S) -> bool:
    return bool(F.of(s).plan)


def terms_confirmed(s: S) -> bool:
    return s.confirmations.get("promise_terms") is True


def terms_withdrawn(s: S) -> bool:
    return not F.of(s).plan


def promise_recorded(s: S) -> bool:
    return bool(F.of(s).promise_id)


def person_asked(s: S) -> bool:
    facts = F.of(s)
    return bool(facts.approval_id) or bool(facts.callback)


def party_answer(s: S, u: Understanding) -> None:
    if u.third_party:  # "this is her son", "she's out", "wrong number": not the customer, even after a yes
        F.of(s).party_confirmed = False
    elif u.affirm is not None:
        F.of(s).party_confirmed = u.affirm


def terms_answer(s: S, u: Understanding) -> None:
    new_terms = u.correction or u.amounts or u.dates or u.pay_in_full
    if u.affirm is True and not new_terms:
        s.confirmations["promise_terms"] = True
    elif u.affirm is False and not new_terms:
        s.confirmations["promise_terms"] = False
        facts = F.of(s)
        del facts.plan
        s.slots.pop("offer", None)
        facts.terms_rejected = True
