from datetime import date
from decimal import Decimal

import pytest

from apps.agent.nlu import Understanding, bare_numbers, understand
from apps.dispatch.models import Specialization
from apps.promises.models import PaymentMethod

TODAY = date(2026, 11, 21)  # a Saturday: "Friday" is November 27


def heard(text: str) -> Understanding:
    return understand(text, today=TODAY)


# ---------------------------------------------------------------------------------------------- whole readings


def test_a_promise_with_an_amount_and_a_day_of_month():
    assert heard("I can pay 300 on the 28th") == Understanding(
        text="I can pay 300 on the 28th",
        affirm=None,
        correction=False,
        goodbye=False,
        farewell=False,
        asks_balance=False,
        wants_human=False,
        wants_callback=False,
        opt_out=False,
        pay_in_full=False,
        wants_plan=False,
        wants_waiver=False,
        wants_settlement=False,
        wants_forgiveness=False,
        third_party=False,
        amounts=(Decimal(300),),
        dates=(date(2026, 11, 28),),
        method=None,
        digits=(),
        date_of_birth=None,
        name=None,
        issue=None,
        severity=None,
        location=None,
        unclear=False,
    )


def test_a_roadside_report():
    text = "I'm on I-880 near the Coliseum exit in Oakland and I have a flat tire"
    assert heard(text) == Understanding(
        text=text,
        affirm=None,
        correction=False,
        goodbye=False,
        farewell=False,
        asks_balance=False,
        wants_human=False,
        wants_callback=False,
        opt_out=False,
        pay_in_full=False,
        wants_plan=False,
        wants_waiver=False,
        wants_settlement=False,
        wants_forgiveness=False,
        third_party=False,
        amounts=(),
        dates=(),
        method=None,
        digits=(),
        date_of_birth=None,
        name=None,
        issue="tire",
        severity="emergency",
        location="I-880 near the Coliseum exit in Oakland",
        unclear=False,
    )


def test_yes_with_a_correction():
    reading = heard("Yes, but make it Friday")
    assert (reading.affirm, reading.correction, reading.dates) == (True, True, (date(2026, 11, 27),))


def test_an_identity_answer():
    reading = heard("My name is Maria Lopez, my zip is 94607 and I was born on March 5, 1985")
    assert (reading.name, reading.digits, reading.date_of_birth, reading.amounts) == (
        "Maria Lopez",
        ("94607",),
        date(1985, 3, 5),
        (),
    )


def test_text_is_kept_as_said():
    assert heard("I’m locked out").text == "I’m locked out"


def test_values_come_from_the_domain_choices():
    methods = {heard(t).method for t in ("by card", "ACH", "a check", "cash", "online")}
    assert methods == set(PaymentMethod.values) - {PaymentMethod.OTHER}
    issues = {
        heard(t).issue
        for t in ("flat tire", "dead battery", "locked out", "out of gas", "accident", "overheating", "need a tow",
                  "my EV won't charge")
    }  # fmt: skip
    assert issues == set(Specialization.values)


# ---------------------------------------------------------------------------------------------- yes / no


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("Yes.", True),
        ("yeah", True),
        ("yep", True),
        ("yup", True),
        ("correct", True),
        ("That's right", True),
        ("thats right", True),
        ("sure", True),
        ("sure thing", True),
        ("sounds good", True),
        ("ok", True),
        ("okay", True),
        ("Okay, let's do that", True),
        ("uh huh", True),
        ("mm-hmm", True),
        ("right", True),
        ("Right, that works", True),
        ("absolutely", True),
        ("of course", True),
        ("I am", True),
        ("yes I do", True),
        ("that's me", True),
        ("Yes, no problem", True),
        ("no", False),
        ("No.", False),
        ("nope", False),
        ("nah", False),
        ("not really", False),
        ("that's wrong", False),
        ("incorrect", False),
        ("no it isn't", False),
        ("no, it is not", False),
        ("it isn't", False),
        ("wrong person", False),
        ("you have the wrong number", False),
        ("that's not right", False),
        ("that's not correct", False),
        ("I don't think so", False),
        ("no thanks", False),
        ("I said no", False),
        ("no, I meant Friday", False),
        ("no problem", None),
        ("no worries", None),
        ("no worries, I can pay", None),
        ("I have no money", None),
        ("no one told me", None),
        ("I'm not sure", None),
        ("is that right?", None),
        ("right now I can't", None),
        ("I am at home", None),
        ("yeah no", None),
        ("yes and no", None),
        ("hmm", None),
        ("good morning", None),
        ("", None),
    ],
)
def test_affirm(text, expected):
    assert heard(text).affirm is expected


# ---------------------------------------------------------------------------------------------- flags

FLAG_CASES = [
    ("correction", "no, I meant Friday", True),
    ("correction", "actually make it 200", True),
    ("correction", "not 300, 250", True),
    ("correction", "not Friday, Monday", True),
    ("correction", "can we do Monday instead", True),
    ("correction", "Yes, but make it Friday", True),
    ("correction", "change it to the 15th", True),
    ("correction", "I said 250 not 300", True),
    ("correction", "actually, Friday works better", True),
    ("correction", "I can't make it", False),
    ("correction", "actually I have a question", False),
    ("correction", "I can pay 300 on Friday", False),
    ("goodbye", "bye", True),
    ("goodbye", "Goodbye!", True),
    ("goodbye", "bye-bye", True),
    ("goodbye", "that's all", True),
    ("goodbye", "that's it, thanks", True),
    ("goodbye", "nothing else", True),
    ("goodbye", "no that's everything", True),
    ("goodbye", "have a good day", True),
    ("goodbye", "talk to you later", True),
    ("goodbye", "I'm good, thanks", True),
    ("goodbye", "I'm all set", True),
    ("goodbye", "take care", True),
    ("goodbye", "good night", True),
    ("goodbye", "good morning", False),
    ("goodbye", "I'm good", False),
    ("goodbye", "that's all I can pay", False),
    ("goodbye", "is that it?", False),
    ("farewell", "bye", True),
    ("farewell", "No, that's all. Goodbye", True),
    ("farewell", "Yes, that's right, bye", True),
    ("farewell", "that's all, bye", True),
    ("farewell", "Okay, take care.", True),
    ("farewell", "have a good day", True),
    ("farewell", "talk to you later", True),
    ("farewell", "good night", True),
    ("farewell", "that's all", False),
    ("farewell", "Yep, that's it.", False),
    ("farewell", "Yes, that's it", False),
    ("farewell", "I'm all set", False),
    ("farewell", "nothing else", False),
    ("farewell", "I'll take care of it Friday", False),
    ("asks_balance", "how much do I owe exactly?", True),
    ("asks_balance", "how much exactly do I owe?", True),
    ("asks_balance", "what's my balance", True),
    ("asks_balance", "What is the balance?", True),
    ("asks_balance", "how much is it", True),
    ("asks_balance", "what do I owe", True),
    ("asks_balance", "the exact amount", True),
    ("asks_balance", "what's the total?", True),
    ("asks_balance", "I can pay 300 on Friday", False),
    ("asks_balance", "I'll pay what I owe", False),
    ("asks_balance", "How much is the minimum?", False),
    ("asks_balance", "I can pay the full amount", False),
    ("wants_human", "agent", True),
    ("wants_human", "Agent, please", True),
    ("wants_human", "human", True),
    ("wants_human", "representative", True),
    ("wants_human", "I want a real person", True),
    ("wants_human", "can I talk to a live agent", True),
    ("wants_human", "operator", True),
    ("wants_human", "let me speak to someone", True),
    ("wants_human", "get me your supervisor", True),
    ("wants_human", "I want to talk to a manager", True),
    ("wants_human", "you're a helpful agent", False),
    ("wants_human", "I need to ask my manager first", False),
    ("wants_human", "I don't need a human", False),
    ("wants_callback", "call me back", True),
    ("wants_callback", "can you call me later", True),
    ("wants_callback", "call me tomorrow", True),
    ("wants_callback", "could you call me back after five", True),
    ("wants_callback", "give me a call next week", True),
    ("wants_callback", "I'll call back later", False),
    ("wants_callback", "don't call me back", False),
    ("wants_callback", "call me Maria", False),
    ("opt_out", "stop calling me", True),
    ("opt_out", "don't call me again", True),
    ("opt_out", "dont call me again", True),
    ("opt_out", "take me off your list", True),
    ("opt_out", "put me on the do not call list", True),
    ("opt_out", "remove my number", True),
    ("opt_out", "don't call me back", True),
    ("opt_out", "leave me alone", True),
    ("opt_out", "call me back", False),
    ("opt_out", "I'll call you", False),
    ("pay_in_full", "I'll pay it all", True),
    ("pay_in_full", "I can pay the full amount", True),
    ("pay_in_full", "I want to pay in full", True),
    ("pay_in_full", "let me pay everything today", True),
    ("pay_in_full", "I'll pay the whole balance", True),
    ("pay_in_full", "pay it off", True),
    ("pay_in_full", "I can't pay it all", False),
    ("pay_in_full", "I can't pay the full amount", False),
    ("pay_in_full", "what's the total amount", False),
    ("pay_in_full", "I can pay off some of it", False),
    ("wants_plan", "can I get a payment plan", True),
    ("wants_plan", "can I pay in installments", True),
    ("wants_plan", "can we split it", True),
    ("wants_plan", "can I pay in parts", True),
    ("wants_plan", "I can pay some now and some later", True),
    ("wants_plan", "split it into three payments", True),
    ("wants_plan", "spread it out over a few months", True),
    ("wants_plan", "I don't want a payment plan", False),
    ("wants_plan", "I can pay 300 Friday", False),
    ("wants_waiver", "can you waive the fee", True),
    ("wants_waiver", "please remove the late fee", True),
    ("wants_waiver", "drop the fees", True),
    ("wants_waiver", "forgive the fee", True),
    ("wants_waiver", "is a fee waiver possible", True),
    ("wants_waiver", "take off the interest", True),
    ("wants_waiver", "I'll pay the fee", False),
    ("wants_waiver", "don't remove the fee", False),
    ("wants_settlement", "can I settle for 500", True),
    ("wants_settlement", "I want a settlement", True),
    ("wants_settlement", "can I pay less", True),
    ("wants_settlement", "would you take a reduced amount", True),
    ("wants_settlement", "a lump sum for less", True),
    ("wants_settlement", "any discount?", True),
    ("wants_settlement", "I don't want to settle", False),
    ("wants_settlement", "I'll pay what I owe", False),
    # The whole balance waived is no fee waiver, and no payment in full either.
    ("wants_forgiveness", "Just waive the whole balance, I'm not paying it.", True),
    ("wants_forgiveness", "forgive my debt", True),
    ("wants_forgiveness", "can you wipe out what I owe", True),
    ("wants_forgiveness", "write off the loan", True),
    ("wants_forgiveness", "is debt forgiveness an option?", True),
    ("wants_forgiveness", "can you waive the late fee", False),
    ("wants_forgiveness", "waive the fees on my balance", False),
    ("wants_forgiveness", "I'll pay the whole balance", False),
    ("wants_forgiveness", "I'm not asking you to forgive the debt", False),
    ("wants_waiver", "Just waive the whole balance, I'm not paying it.", False),
    ("wants_waiver", "waive the fees on my balance", True),
    ("pay_in_full", "Just waive the whole balance, I'm not paying it.", False),
    # Someone other than the one asked for answers.
    ("third_party", "This is her son, she's out.", True),
    ("third_party", "No, this is his roommate.", True),
    ("third_party", "I'm her husband", True),
    ("third_party", "Yes, this is her son", True),
    ("third_party", "She's not here right now", True),
    ("third_party", "he's not home", True),
    ("third_party", "She isn't home", True),
    ("third_party", "she's out", True),
    ("third_party", "He doesn't live here anymore", True),
    ("third_party", "Wrong number.", True),
    ("third_party", "There's nobody here by that name", True),
    ("third_party", "No one by that name", True),
    ("third_party", "Can I take a message?", True),
    ("third_party", "Yes, speaking.", False),
    ("third_party", "This is Maria", False),
    ("third_party", "I'm out of money this month", False),
    ("third_party", "I'm outside right now", False),
    ("third_party", "my son is sick, that's why I'm late", False),
]


@pytest.mark.parametrize(("field", "text", "expected"), FLAG_CASES)
def test_flags(field, text, expected):
    assert getattr(heard(text), field) is expected


def test_exactly_is_a_yes_only_as_an_answer():
    assert [heard(text).affirm for text in ("Exactly.", "Yes, exactly", "That's exactly right")] == [True] * 3
    # Asking for the balance is no yes to what was read back.
    assert (heard("how much do I owe exactly?").affirm, heard("what's the exact amount?").affirm) == (None, None)


def test_curly_and_missing_apostrophes():
    assert heard("don’t call me again").opt_out is True
    assert heard("dont call me again").opt_out is True
    assert heard("my car won’t start").issue == "battery"
    assert heard("my car wont start").issue == "battery"
    assert heard("that’s right").affirm is True


# ---------------------------------------------------------------------------------------------- amounts, dates, digits


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("I can pay 300 on the 28th", ("300",)),
        ("I can do 300 on Friday", ("300",)),
        ("I can pay $1,250.50", ("1250.50",)),
        ("I can pay twelve hundred fifty dollars", ("1250",)),
        ("I can pay 1,250 dollars and 50 cents on November 28th", ("1250.50",)),
        ("I'll pay $300 next Friday and 200 on the 15th", ("300", "200")),
        ("not 300, 250", ("300", "250")),
        ("actually make it 200", ("200",)),
        ("I can pay 375 on the 1st", ("375",)),
        ("I can pay 1275", ("1275",)),
        ("I can only pay 50 a month for 6 months", ("50",)),
        ("I'll pay 300 at 5 pm", ("300",)),
        ("I can do 200 at 3", ("200",)),
        ("300", ("300",)),
        ("three hundred", ("300",)),
        ("I have 40 bucks", ("40",)),
        ("I can pay 300, yes 300", ("300",)),
        ("My zip is 94607", ()),
        ("I'm at 123 Main Street", ()),
        ("I can pay in 3 days", ()),
        ("split it into two payments", ()),
        ("I can pay on the 15th", ()),
        ("I was born on March 5, 1985", ()),
        ("my card ends in 4321 and I can pay 100", ("100",)),
        ("my account number is 1275, I want to pay", ()),
        ("I have two kids", ()),
        ("one moment please", ()),
        ("I can pay the balance. The last four digits are 0042", ()),
    ],
)
def test_amounts(text, amounts):
    assert heard(text).amounts == tuple(Decimal(a) for a in amounts)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("300 on Friday", ("300",)),
        ("maybe 250", ("250",)),
        ("Give me a ninety percent discount or I hang up.", ()),
        ("a 90% discount", ()),
        ("I could do 50, that's about ten percent", ("50",)),
        ("in two weeks", ()),
        ("in 3 payments", ()),
        ("on the 28th", ()),
    ],
)
def test_bare_numbers_are_amounts_only_when_nothing_makes_them_something_else(text, numbers):
    """What a bare number may be while money is the subject (a `money` step): never a percentage."""
    assert bare_numbers(text, TODAY) == [Decimal(n) for n in numbers]


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("I can pay 300 on the 28th", (date(2026, 11, 28),)),
        ("Friday", (date(2026, 11, 27),)),
        ("tomorrow or Monday", (date(2026, 11, 22), date(2026, 11, 23))),
        ("by the end of the month", (date(2026, 11, 30),)),
        ("on 12/1", (date(2026, 12, 1),)),
        ("I wont be able to pay till next week", (date(2026, 11, 28),)),
        ("no dates here", ()),
    ],
)
def test_dates(text, dates):
    assert heard(text).dates == dates


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("My zip is 94607", ("94607",)),
        ("the last four are 4321", ("4321",)),
        ("the last four are four three two one", ("4321",)),
        ("nine four six oh seven", ("94607",)),
        ("zero zero four two", ("0042",)),
        ("it's 4 3 2 1", ("4321",)),
        ("double five two one", ("5521",)),
        ("my phone number is (415) 555-0100", ("4155550100",)),
        ("415-555-0100", ("4155550100",)),
        ("account ACC0040042", ("0040042",)),
        ("account 0040042", ("0040042",)),
        ("I'm at 123 Main Street", ("123",)),
        ("I'm on I-880", ()),
        ("I can pay 300 on the 28th", ()),
        ("I can pay 375", ()),
        ("two or three", ()),
        ("five o'clock", ()),
    ],
)
def test_digits(text, digits):
    assert heard(text).digits == digits


@pytest.mark.parametrize(
    ("text", "dob"),
    [
        ("I was born on March 5, 1985", date(1985, 3, 5)),
        ("my date of birth is 03/05/1985", date(1985, 3, 5)),
        ("DOB 3/5/85", date(1985, 3, 5)),
        ("March fifth nineteen eighty five", date(1985, 3, 5)),
        ("5 March 1985", date(1985, 3, 5)),
        ("1985-03-05", date(1985, 3, 5)),
        ("my birthday is July 4th, 2001", date(2001, 7, 4)),
        ("born on March 5", None),
        ("I can pay on November 28, 2026", None),
        ("I'll pay Friday", None),
    ],
)
def test_date_of_birth(text, dob):
    assert heard(text).date_of_birth == dob


# ---------------------------------------------------------------------------------------------- method, name


@pytest.mark.parametrize(
    ("text", "method"),
    [
        ("I'll pay by card", "card"),
        ("debit", "card"),
        ("with my credit card", "card"),
        ("Visa", "card"),
        ("mastercard", "card"),
        ("bank transfer", "bank_transfer"),
        ("I'll pay by ACH", "bank_transfer"),
        ("from my checking account", "bank_transfer"),
        ("direct debit", "bank_transfer"),
        ("I'll send a check", "check"),
        ("I'll mail a cheque", "check"),
        ("cash", "cash"),
        ("I'll pay online", "online_portal"),
        ("on the website", "online_portal"),
        ("through the app", "online_portal"),
        ("the portal", "online_portal"),
        ("online with my debit card", "card"),
        ("not by card, by bank transfer", "bank_transfer"),
        ("I don't have a card, I'll pay cash", "cash"),
        ("can you check my balance", None),
        ("my check engine light is on", None),
        ("I'll pay Friday", None),
    ],
)
def test_method(text, method):
    assert heard(text).method == method


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("my name is Maria Lopez", "Maria Lopez"),
        ("my name is maria lopez and I'm calling about my bill", "Maria Lopez"),
        ("This is Maria", "Maria"),
        ("this is maria", "Maria"),
        ("it's Maria Lopez", "Maria Lopez"),
        ("I'm Maria Lopez", "Maria Lopez"),
        ("Hi, I'm John, calling about my account", "John"),
        ("This is Maria calling from Oakland", "Maria"),
        ("my name's Sean O'Brien", "Sean O'Brien"),
        ("name is DeShawn Jones.", "DeShawn Jones"),
        ("I'm good, thanks", None),
        ("I'm calling about my bill", None),
        ("I'm stuck on the highway", None),
        ("I'm at 123 Main Street", None),
        ("it's Friday", None),
        ("this is the wrong number", None),
        ("I'm not sure", None),
        ("I'm Sorry", None),
    ],
)
def test_name(text, name):
    assert heard(text).name == name


# ---------------------------------------------------------------------------------------------- roadside


@pytest.mark.parametrize(
    ("text", "issue"),
    [
        ("I have a flat tire", "tire"),
        ("I had a blowout", "tire"),
        ("my tire got a puncture", "tire"),
        ("my battery is dead", "battery"),
        ("my car won't start", "battery"),
        ("I need a jump start", "battery"),
        ("it's just clicking", "battery"),
        ("I'm locked out of my car", "lockout"),
        ("my keys are inside the car", "lockout"),
        ("I lost my keys", "lockout"),
        ("I ran out of gas", "fuel"),
        ("I'm out of fuel", "fuel"),
        ("empty tank", "fuel"),
        ("I was in an accident", "accident"),
        ("I crashed", "accident"),
        ("I got hit", "accident"),
        ("I hit a deer", "accident"),
        ("there was a collision", "accident"),
        ("it's overheating", "engine"),
        ("there's smoke coming from the hood", "engine"),
        ("the engine stalled", "engine"),
        ("my check engine light came on", "engine"),
        ("my car broke down", "engine"),
        ("I need a tow", "towing"),
        ("send a tow truck", "towing"),
        ("I'm stuck in a ditch", "towing"),
        ("my car broke down and I need a tow", "towing"),
        ("my electric car is out of charge", "ev"),
        ("my EV won't charge", "ev"),
        ("my Tesla won't start", "ev"),
        ("my Tesla has a flat tire", "tire"),
        ("I hit a pothole and now I have a flat", "tire"),
        ("I can pay 300 on Friday", None),
    ],
)
def test_issue(text, issue):
    assert heard(text).issue == issue


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("I'm on the highway with a flat", "emergency"),
        ("I'm on the shoulder of I-80", "emergency"),
        ("stuck on the freeway", "emergency"),
        ("I was in an accident", "emergency"),
        ("there's smoke coming out", "emergency"),
        ("my kids are in the car", "emergency"),
        ("I'm in the car with my two kids", "emergency"),
        ("my dog is with me", "emergency"),
        ("it's dark and I'm alone", "emergency"),
        ("I'm stuck in the middle of traffic", "emergency"),
        ("I don't feel safe here", "emergency"),
        ("nobody is hurt but I have a flat", "urgent"),
        ("I have a flat tire", "urgent"),
        ("I'm stranded on Main Street", "urgent"),
        ("I'm stuck", "urgent"),
        ("I have a flat tire, I'm in a parking lot", "standard"),
        ("my car won't start, I'm at home", "standard"),
        ("the battery died at work", "standard"),
        ("I'm not on the highway, I'm in a parking lot", "standard"),
        ("I can pay 300 on Friday", None),
        ("hello", None),
    ],
)
def test_severity(text, severity):
    assert heard(text).severity == severity


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("I'm on I-880 near the Coliseum exit in Oakland", "I-880 near the Coliseum exit in Oakland"),
        ("at the Safeway on Broadway", "the Safeway on Broadway"),
        ("I'm at 123 Main Street", "123 Main Street"),
        ("I'm at 123 Main Street and my tire is flat", "123 Main Street"),
        ("I'm located at 500 Broadway in Oakland.", "500 Broadway in Oakland"),
        ("I'm stuck on Highway 1 near Pacifica", "Highway 1 near Pacifica"),
        ("We're on the shoulder of I-80", "I-80"),
        ("I'm in a parking lot", "a parking lot"),
        ("I'm at home", "home"),
        ("i'm on i-580 near the macarthur exit", "i-580 near the macarthur exit"),
        ("my car broke down on Telegraph Avenue, can you help", "Telegraph Avenue"),
        ("I'm on the phone", None),
        ("I'm on my way home", None),
        ("I'm in trouble with money", None),
        ("I can pay at the end of the month", None),
        ("call me at 5", None),
        ("I'm at a loss", None),
    ],
)
def test_location(text, location):
    assert heard(text).location == location


# ---------------------------------------------------------------------------------------------- unclear


@pytest.mark.parametrize(
    ("text", "unclear"),
    [
        ("hmm", True),
        ("what?", True),
        ("sorry?", True),
        ("I don't understand", True),
        ("huh", True),
        ("uh", True),
        ("come again?", True),
        ("what do you mean", True),
        ("", True),
        ("   ", True),
        ("yes", False),
        ("I can pay 300", False),
        ("one moment please", False),
        ("I have a question about my bill", False),
        ("what? no", False),
    ],
)
def test_unclear(text, unclear):
    assert heard(text).unclear is unclear
