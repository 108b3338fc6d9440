"""On the phone a reply is at most VOICE_WORD_LIMIT words, counted as it is sent (figures are words
there): every offline path of the scenario scripts and the greetings keeps to it, and a model's
reply is held to it by the streaming guardrail (whole sentences while they fit), which is traced."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from apps.agent.engine import ReplyEnd, Token
from apps.agent.guardrails import VOICE_WORD_LIMIT, WordLimit
from apps.calls.models import Call, TraceEvent, TraceKind, TranscriptEntry
from tests.factories import CustomerFactory, PromiseFactory

SCENARIOS = Path(__file__).resolve().parents[2] / "apps" / "agent" / "scenarios"


def script(name: str) -> list[str]:
    lines = (SCENARIOS / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


# (workflow, direction, who, the caller's lines): every step, its wordings, the greetings.
PATHS = {
    "collections_promise": ("collections", "inbound", "maria", script("collections_promise.txt")),
    "roadside_dispatch": ("roadside", "inbound", "maria", script("roadside_dispatch.txt")),
    "fee_waiver_approval": ("collections", "outbound", "maria", script("fee_waiver_approval.txt")),
    "promise_with_a_promise_on_file": ("collections", "inbound", "active", script("collections_promise.txt")),
    "promise_with_a_missed_promise": ("collections", "inbound", "missed", script("collections_promise.txt")),
    "promise_with_both": ("collections", "inbound", "both", script("collections_promise.txt")),
    "not_overdue": (
        "collections",
        "inbound",
        "brandon",
        ["My zip is 89101", "I can pay 200 dollars on Friday", "Yes", "bye"],
    ),
    "every_negotiating_turn": (
        "collections",
        "inbound",
        "maria",
        [
            "how much do I owe exactly?",  # before verification: no figure
            "My zip code is 94607",
            "how much do I owe exactly?",
            "I can pay 20 dollars on Friday",  # below the plan's minimum
            "I can pay 200 on January 30",  # past the latest date
            "300",
            "what's my balance",
            "on Friday",
            "how much is it",
            "No",  # the terms read back are refused
            "I'll pay it all on Friday by bank transfer",
            "the exact amount",
            "Yes",
            "what do I owe",
            "Can I ask you something?",
            "No, bye",
        ],
    ),
    "settlement": (
        "collections",
        "inbound",
        "maria",
        ["94607", "Could I settle for 600 dollars on Friday?", "No. Bye"],
    ),
    "call_back": ("collections", "inbound", "maria", ["94607", "Can you call me back on Monday?", "bye"]),
    "identity_fails": ("collections", "inbound", "maria", ["my zip is 10001", "my zip is 10002", "my zip is 10003"]),
    "a_person": ("collections", "inbound", "maria", ["94607", "Can I talk to a real person?"]),
    "unknown_caller": (
        "collections",
        "inbound",
        None,
        [
            "My name is Maria Lopez, account 0040043",
            "My name is Maria Lopez and my account number is ACC0040042",
            "94607",
            "Yes, that's right, bye",
        ],
    ),
    "wrong_party": ("collections", "outbound", "maria", ["No, wrong number"]),
    "opt_out": ("collections", "outbound", "maria", ["Stop calling me."]),
    "goodbye_with_the_yes": (
        "collections",
        "inbound",
        "maria",
        ["94607", "I can pay 300 dollars on Friday", "Yes, that's right, bye"],
    ),
    "roadside_every_step": (
        "roadside",
        "inbound",
        "maria",
        [
            "Yes",
            "My battery is dead",
            "In the Safeway parking lot on Broadway in Oakland",
            "No",
            "I'm at the Safeway parking lot on Broadway in Oakland",
            "No, I'm on I-880 near the Coliseum exit in Oakland",
            "Yes",
            "Thanks",
            "Can I ask you something?",
            "No, bye",
        ],
    ),
    "roadside_another_car": (
        "roadside",
        "inbound",
        "maria",
        ["No, it's my wife's Toyota Camry", "My tire is flat on Broadway in Oakland", "Yes, that's right, bye"],
    ),
    "roadside_no_vehicle_on_file": ("roadside", "inbound", "no_vehicle", ["I'm locked out", "bye"]),
    "roadside_unknown_caller": (
        "roadside",
        "inbound",
        None,
        ["My name is Maria Lopez and my account number is ACC0040042", "Yes", "bye"],
    ),
    "roadside_outbound": ("roadside", "outbound", "maria", ["Yes", "bye"]),
}


@pytest.fixture
def callers(maria, live_db):
    def who(kind: str | None) -> int | None:
        if kind is None:
            return None
        if kind == "brandon":
            return CustomerFactory(
                name="Brandon Scott", balance=Decimal("69.29"), days_overdue=0, profile={"zip": "89101"}
            ).pk
        if kind == "no_vehicle":
            return CustomerFactory(name="Ana Ruiz", profile={"address": {"city": "Oakland", "state": "CA"}}).pk
        if kind in ("missed", "both"):
            PromiseFactory(customer=maria, amount=Decimal("1025.00"), due_date=date(2026, 11, 5))
        if kind in ("active", "both"):
            PromiseFactory(customer=maria, amount=Decimal("475.25"), due_date=date(2026, 12, 1))
        return maria.pk

    return who


@pytest.mark.parametrize("path", PATHS)
def test_every_offline_voice_reply_keeps_to_the_word_limit(path, callers, technicians, converse):
    workflow, direction, who, lines = PATHS[path]
    c = converse(workflow=workflow, channel="voice", direction=direction, customer_id=callers(who))
    for line in lines:
        c.say(line)
    replies = [event.text for event in c.events if isinstance(event, ReplyEnd)]
    assert len(replies) == 1 + len(lines)  # the greeting, then a reply to every line
    assert [(len(text.split()), text) for text in replies if len(text.split()) > VOICE_WORD_LIMIT] == []
    stored = TranscriptEntry.objects.filter(call_id=c.session.call_id, speaker="agent").values_list("text", flat=True)
    assert list(stored) == replies
    assert c.ended is not None or c.handoff is not None  # each path runs to the end of the call


def test_the_greetings_and_the_balance_turn(maria, converse):
    inbound = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    outbound = converse(workflow="collections", channel="voice", direction="outbound", customer_id=maria.pk)
    unknown = converse(workflow="collections", channel="voice", direction="inbound", customer_id=None)
    roadside = converse(workflow="roadside", channel="voice", direction="inbound", customer_id=maria.pk)
    balance = inbound.say("My zip code is 94607")
    said = {
        "inbound": inbound.greeting,
        "outbound": outbound.greeting,
        "unknown": unknown.greeting,
        "roadside": roadside.greeting,
        "balance": balance,
    }
    assert said == {
        "inbound": (
            "Thanks for calling Northwind Auto Finance. I'm an AI assistant, and this call is recorded. Hi Maria. "
            "To verify your identity, what's your ZIP code?"
        ),
        "outbound": (
            "Hello, this is Ava calling from Northwind Auto Finance. I'm an AI assistant, and this call is "
            "recorded. Am I speaking with Maria Lopez?"
        ),
        "unknown": (
            "Thanks for calling Northwind Auto Finance. I'm an AI assistant, and this call is recorded. What's your "
            "full name and account number, please?"
        ),
        "roadside": (
            "You've reached Northwind Auto Finance roadside assistance. I'm an AI assistant, and this call is "
            "recorded. Hi Maria, is this about your Honda Civic?"
        ),
        "balance": (
            "Your balance is one thousand two hundred fifty dollars and fifty cents, forty-five days past due. "
            "Can you pay in full, or prefer a plan?"
        ),
    }
    assert {name: len(text.split()) for name, text in said.items()} == {
        "inbound": 25,
        "outbound": 24,
        "unknown": 23,
        "roadside": 24,
        "balance": 25,
    }


def test_chat_is_not_held_to_the_phones_limit(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    assert c.greeting == (
        "Thanks for calling Northwind Auto Finance. I'm an AI assistant, and this call is recorded. Hi Maria. "
        "To verify your identity, what's your ZIP code?"
    )
    assert c.say("My zip code is 94607") == (
        "Thanks, Maria. Your balance is $1,250.50, and it's 45 days past due. Can you pay that in full, or would "
        "you like a payment plan?"
    )


# --- a model's reply on the phone --------------------------------------------------------------

VERIFY = ("verify_identity", {"method": "zip", "value": "94607"})
LOOKUP = ("lookup_account", {})
LONG_REPLY = (
    "Thanks, Maria. Your balance is one thousand two hundred fifty dollars and fifty cents, forty-five days past "
    "due. Can you pay that in full, or would you like a payment plan?"
)  # 31 words
KEPT = (
    "Thanks, Maria. Your balance is one thousand two hundred fifty dollars and fifty cents, forty-five days past due."
)


def word_limit_hits(call_id: int) -> list[dict]:
    hits = TraceEvent.objects.filter(call_id=call_id, kind=TraceKind.GUARDRAIL, name="word_limit").order_by("id")
    return [(hit.ok, hit.payload) for hit in hits]


def test_a_models_reply_keeps_the_sentences_that_fit_and_the_cut_is_traced(maria, converse, fake_llm):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    fake_llm.script("primary", tool_call=VERIFY)
    fake_llm.script("primary", tool_call=LOOKUP)
    fake_llm.script("primary", text=LONG_REPLY)

    assert c.say("My zip code is 94607") == KEPT
    tokens = [event.text for event in c.events if isinstance(event, Token)][1:]  # after the greeting
    assert tokens == [  # whole sentences: nothing of the one dropped was sent
        "Thanks, Maria. ",
        "Your balance is one thousand two hundred fifty dollars and fifty cents, forty-five days past due. ",
    ]
    assert word_limit_hits(c.session.call_id) == [
        (
            False,
            {"limit": 25, "said": 18, "dropped": "Can you pay that in full, or would you like a payment plan?"},
        )
    ]
    call = Call.objects.get(pk=c.session.call_id)
    assert (call.state["guardrail_hits"], TranscriptEntry.objects.filter(call=call).last().text) == (1, KEPT)
    assert len(fake_llm.requests) == 3  # the reply was cut, not asked again


def test_a_first_sentence_past_the_limit_is_asked_again_shorter(maria, converse, fake_llm):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    rambling = (
        "I would be very happy to help you with that today, but first I really do need to check your identity "
        "against the records we hold, so could you tell me your ZIP code?"
    )  # one sentence of 34 words
    fake_llm.script("primary", text=rambling)
    fake_llm.script("primary", text="Sure. What's your ZIP code?")

    assert c.say("Hi, I have a question about my account") == "Sure. What's your ZIP code?"
    assert "happy" not in "".join(e.text for e in c.events if isinstance(e, Token))
    correction = fake_llm.requests[1].body["messages"][-1]
    assert correction == {
        "role": "system",
        "content": "Your draft was 34 words. On the phone say at most 25 words: one or two short sentences.",
    }
    assert [payload["said"] for _, payload in word_limit_hits(c.session.call_id)] == [0]


def test_in_chat_a_models_reply_is_not_cut(maria, converse, fake_llm):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    fake_llm.script("primary", tool_call=VERIFY)
    fake_llm.script("primary", tool_call=LOOKUP)
    fake_llm.script("primary", text=LONG_REPLY)
    assert c.say("My zip code is 94607") == LONG_REPLY
    assert word_limit_hits(c.session.call_id) == []


def test_the_word_limit_lets_whole_sentences_through_while_they_fit():
    limit = WordLimit(6)
    assert [limit.feed(piece) for piece in ("One two. Thr", "ee four", " five. Six", " seven. ", "Eight.")] == [
        "One two. ",
        "",
        "Three four five. ",
        "",
        "",
    ]
    assert (limit.flush(), limit.used, limit.full, limit.dropped) == ("", 5, True, "Six seven. Eight.")
    last = WordLimit(3)
    assert (last.feed("Is that"), last.flush(), last.used) == ("", "Is that", 2)
