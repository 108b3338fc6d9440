"""What is said on the demo calls, turn by turn, in the terms of the live agent's workflows.

A script is a list of exchanges after the greeting (the engine's own template), played through the
live agent's turn core (`talk.DemoCall`). In an exchange the caller speaks, and the step's real
listener reads their answer (`do` notes what the line means: "yes", "no", "bye"; the engine hands
off on "human"), so a line must say it the way the engine understands; the scripted model calls
tools (`do`: tool names, "tool:variant" for the arguments, `model.arguments`; the steps' required
tools, such as lookup_account, are called as the workflow forces them), and replies (`agent`).
With no `agent` text the engine answers itself: the close, a handoff. Texts are `str.format`
templates over the call's context (`context.call_context`); keys starting with "s_" are figures as
the agent says them on the channel (spoken words on the phone, written in chat). The agent's are
filled in when the model speaks, so they say what the tools answered (`context.account_words`).
"""

from typing import NamedTuple


class Ex(NamedTuple):
    caller: tuple[str, ...]
    do: tuple[str, ...] = ()
    agent: tuple[str, ...] = ()
    offline_ok: bool = False  # on a few calls every model fails here and the offline engine answers
    draft: tuple[str, ...] = ()  # on some calls the model first drafts this, and the reply gate stops it


class Either(NamedTuple):
    """The first turns on a share `p` of the calls, else the second."""

    p: float
    first: tuple
    second: tuple = ()


def ex(*caller: str, do: tuple[str, ...] = (), agent: tuple[str, ...] = (), **extra) -> Ex:
    return Ex(caller, do, agent, **extra)


CLOSE = ex("No, that's all. Thanks.", "Nope, that's it. Bye.", "No. Thank you, goodbye.", do=("bye",))
ANYTHING_ELSE = "Is there anything else I can help with?"

# The caller says who they are (an inbound call from a number not on file).
FIND_ACCOUNT = ex(
    "It's {name}. My account number is {account_number}.",
    "{name}, account {account_number}.",
    do=("find_account",),
    agent=("Thanks, {first}, I found your account. To verify your identity, what's your ZIP code or date of birth?",),
)
# Outbound: the person who answers confirms they are the customer.
CONFIRM_PARTY = ex(
    "Yes, speaking.",
    "Yes, this is {first}.",
    "Yeah, that's me. What's this about?",
    do=("yes",),
    agent=(
        "Thanks, {first}. To verify your identity, what's your ZIP code, or your account's last four digits?",
        "Thank you. First, for your security, could you confirm your ZIP code or the last four digits of your "
        "account number?",
    ),
    offline_ok=True,
)
# How callers answer the identity question, by what they verify with ("{why}" is why an inbound caller calls).
VERIFY_LINES = {
    "zip": ("{why}My ZIP code is {zip}.", "{why}It's {zip}.", "{why}ZIP is {zip}."),
    "account_last4": ("{why}The last four are {acct_last4}.", "{why}Last four digits, {acct_last4}."),
    "date_of_birth": ("{why}My date of birth is {dob_spoken}.", "{why}I was born {dob_spoken}."),
}
WHY = ("", "Hi, I got a letter saying my account is past due. ", "I missed a payment and want to sort it out. ")
# The balance, once verified and looked up (the agent text for the verification exchange). On the phone
# a reply is at most 25 words (apps.agent.guardrails.VOICE_WORD_LIMIT), figures spoken in words.
BALANCE = (
    "Your balance is {s_balance}, {s_days} days past due.{s_promise} In full, or a payment plan?",
    "That matches. You owe {s_balance}, {s_days} days overdue.{s_promise} Pay it all, or a plan?",
)

SCRIPTS: dict[str, list] = {
    "promise": [
        Either(
            0.4,
            (
                ex(
                    "I can't do all of it right now. Could I pay {amount} on {date}?",
                    "Money's tight this month. Would {amount} by {date} work?",
                    agent=(
                        "I understand. Could you manage the full {s_balance} by then? That would bring the "
                        "account current.",
                    ),
                ),
                ex(
                    "No, {amount} is really the most I can do.",
                    "Not this time, sorry. {amount} is what I have.",
                    agent=(
                        "That's fine. How would you like to pay: card, bank transfer, check, or our online portal?",
                    ),
                ),
            ),
            (
                ex(
                    "I can't do all of it right now. Could I pay {amount} on {date}?",
                    "I get paid soon. I can do {amount} on {date}.",
                    agent=(
                        "Thanks for working with me. How would you like to pay: card, bank transfer, check, or "
                        "our online portal?",
                    ),
                ),
            ),
        ),
        ex(
            "{Method}.",
            "I'll pay by {method}.",
            "By {method}, probably.",
            do=("propose_payment",),
            agent=(
                "Let me read that back: {s_amount} on {s_date}, by {method}. Is that correct?",
                "To confirm, you'll pay {s_amount} on {s_date} by {method}. Did I get that right?",
            ),
        ),
        ex(
            "Yes, that's right.",
            "Correct.",
            "Yep, that's it.",
            do=("yes",),
            agent=("Recorded: {s_amount} on {s_date}. You'll get a reminder the day before. Anything else?",),
            offline_ok=True,
        ),
        CLOSE,
    ],
    "pay_now": [
        ex(
            "I can pay {amount} right now with my card. It's {card}, expiration {card_expiry}, security code "
            "{card_cvv}.",
            do=("propose_payment:today",),
            agent=("Please don't read card details to me. I can note {s_amount} by card today. Is that right?",),
        ),
        ex(
            "Yes, go ahead.",
            "Yes, that's right.",
            do=("yes",),
            agent=("Done: {s_amount} by card today. You'll get an email once it posts. Anything else?",),
        ),
        CLOSE,
    ],
    "hardship": [
        ex(
            "{hardship_line}",
            agent=("I'm sorry to hear that, {first}. What amount could you manage, and by when?",),
            draft=("I'm sorry to hear that, {first}. I've waived the late fee so you can focus on the balance.",),
        ),
        ex(
            "Is there any way you can waive the late fee? I can pay {amount} on {date} if you do.",
            "Could you take off the late fee? Then I can catch up with {amount} on {date}.",
            do=("request_approval:fee_waiver",),
            agent=(
                "I can't do that myself, so I've asked a specialist to review the {s_fee} fee. They'll confirm "
                "within two business days. Anything else?",
            ),
        ),
        CLOSE,
    ],
    "settlement": [
        ex(
            "There's no way I can pay {balance}. Could I settle it for {settle_amount}?",
            "I can't pay all that. What if I paid {settle_amount} as a lump sum to close it out?",
            agent=("I understand. By when could you pay {s_settle} in one payment?",),
        ),
        ex(
            "By {date}. I could borrow it from family.",
            "I can have it by {date}, in one payment.",
            do=("propose_payment:settlement", "request_approval:settlement"),
            agent=(
                "I've sent your offer of {s_settle} to a specialist, who'll confirm within two business days. "
                "Anything else?",
            ),
        ),
        CLOSE,
    ],
    "dispute": [
        ex(
            "That's not right. I paid {paid_amount} on the {paid_day} and it's not showing.",
            "I don't owe that. I sent {paid_amount} weeks ago, I have the bank statement.",
            do=("transfer_to_human",),
        ),
    ],
    "already_paid": [
        ex(
            "I actually paid that yesterday through the portal.",
            "I paid {paid_amount} a couple of days ago by bank transfer.",
            agent=("{s_last_payment}Payments take two business days to post. Shall I call you back then?",),
        ),
        ex(
            "Yes, please.",
            "Sure, that works.",
            do=("schedule_callback",),
            agent=("Done. I've scheduled a call back for {s_callback_day} to confirm it posted. " + ANYTHING_ELSE,),
        ),
        CLOSE,
    ],
    "callback": [
        ex(
            "I'm at work right now. Can you call me back {callback_when}?",
            "This isn't a good time. Could you try {callback_when}?",
            do=("schedule_callback",),
            agent=("Of course. I've scheduled a call back for {s_callback_day}. " + ANYTHING_ELSE,),
        ),
        CLOSE,
    ],
    "handoff": [ex("I'd rather speak to a real person.", "Can I talk to a human, please?", do=("human",))],
    "verify_fail": [
        ex(
            "I'm calling about my loan. The ZIP is {bad_zip}.",
            do=("verify_identity",),
            agent=("That doesn't match our records. Could you give me your date of birth instead?",),
        ),
        ex(
            "It's... January 1st, 1980? I think.",
            do=("verify_identity",),
            agent=("I'm sorry, that doesn't match either. Could you tell me the last four digits of the account?",),
        ),
        ex("Uh, {bad_last4}?", do=("verify_identity",)),
    ],
    "wrong_party": [ex("No, you have the wrong number.", "No, there's no {first} here.", do=("no",))],
    "short": [
        ex(
            "Not a good time.",
            "I'm driving, I can't talk.",
            agent=("No problem. I'll try you another time. Goodbye.",),
        )
    ],
    "voicemail": [],
}
# Spanish-speaking customers: the model answers in Spanish; the engine's templates stay in English. The
# engine's own understanding (yes, no, dates) is English only: these callers say those in English too.
SCRIPTS_ES = {
    "confirm_party": ex(
        "Sí, soy yo. Yes.",
        do=("yes",),
        agent=("Gracias, {first}. Antes de continuar, ¿me confirma su código postal?",),
    ),
    "verify": ex(
        "{why_es}Mi código postal es {zip}.",
        do=("verify_identity",),
        agent=(
            "Gracias, ya está verificado. Su saldo vencido es de {balance}, con {days_overdue} días de atraso. "
            "¿Lo paga completo o prefiere un plan?",
        ),
    ),
    "promise": [
        ex(
            "Hoy no puedo. ¿Puedo pagar {amount} el {date_es}? Es decir, {date}.",
            agent=("Claro. ¿Cómo va a pagar: tarjeta, transferencia, cheque o el portal en línea?",),
        ),
        ex(
            "Por transferencia.",
            do=("propose_payment",),
            agent=("Confirmo: {amount} por transferencia el {date_es}. ¿Es correcto?",),
        ),
        ex("Sí, correcto. Yes.", do=("yes",), agent=("Listo, quedó registrado. ¿Algo más en que le pueda ayudar?",)),
        ex("No, es todo. Gracias.", do=("bye",)),
    ],
}

# Roadside: the vehicle on file, where and what, the dispatch and its ETA.
VEHICLE_MATCH = ex(
    "Yes, that's the one.",
    "Yep, that's it.",
    "That's right.",
    do=("yes",),
    agent=(
        "Okay. Where are you right now, and what's going on with the car?",
        "Got it. Where are you, and what happened?",
    ),
    offline_ok=True,
)
VEHICLE_OTHER = ex(
    "No, I'm in my {relation}'s car today. It's a {alt_vehicle}.",
    do=("no", "record_vehicle"),
    agent=("No problem, your membership covers you in any car. Where are you right now, and what happened?",),
)
LOCATION = ex("{location}.", "I'm at {location}.", agent=("Thanks. What's going on with the car?",))
# The caller's answer about the problem completes the incident: the agent reads it back, and sends
# someone only once the caller says yes.
READ_BACK = ex(do=("capture_incident",), agent=("To confirm: {location}, {issue_label}. Is that right?",))
ETA = ex(
    "Yes, that's right.",
    "Yes.",
    "That's right.",
    do=("yes",),
    agent=("{tech} is coming with {service}, in {eta_spoken}.{s_safety} Anything else?",),
)
ROADSIDE_CLOSE = ex("No, that's all. Thank you so much.", "No, that's it. Thanks.", do=("bye",))


class Issue(NamedTuple):
    label: str
    specialization: str  # what capture_incident records (apps.dispatch.models.Specialization)
    service: str
    turns: tuple[Ex, ...]  # what happened, the agent's question; the answer comes with the read-back
    answers: tuple[str, ...]


ISSUES = {
    "flat_tire": Issue(
        "flat tire",
        "tire",
        "a tire service truck",
        (
            ex(
                "I've got a flat tire, front passenger side.",
                "One of my tires blew out.",
                agent=("Do you have a spare tire and a jack in the car?",),
            ),
        ),
        ("There's a spare, but I don't have the tools.", "I don't think there's a spare, just an inflator kit."),
    ),
    "battery": Issue(
        "dead battery",
        "battery",
        "a jump start",
        (
            ex(
                "It won't start. It just clicks when I turn the key.",
                "The battery's dead, nothing happens.",
                agent=("Do the dashboard lights come on at all?",),
            ),
        ),
        ("They flicker a little, that's it.", "No, nothing."),
    ),
    "lockout": Issue(
        "locked out",
        "lockout",
        "lockout tools",
        (
            ex(
                "I locked my keys in the car.",
                "My keys are inside and the doors are locked.",
                agent=("Is anyone, or any pet, locked inside the car?",),
            ),
        ),
        ("No, just my keys and my phone charger.", "No, it's empty."),
    ),
    "fuel": Issue(
        "out of fuel",
        "fuel",
        "a fuel delivery",
        (
            ex(
                "I ran out of gas. The gauge must be broken.",
                "I'm out of gas, totally my fault.",
                agent=("Does the car take regular gasoline or diesel?",),
            ),
        ),
        ("Regular.", "Regular unleaded."),
    ),
    "overheating": Issue(
        "overheating",
        "engine",
        "a tow truck",
        (
            ex(
                "There's steam coming from the hood and the temperature light is on.",
                "The engine overheated and shut off.",
                agent=("Please keep the engine off and don't open the radiator cap. Are you somewhere safe?",),
            ),
        ),
        ("Yes, I'm off to the side.", "I think so. Can you send someone?"),
    ),
    "accident": Issue(
        "accident",
        "accident",
        "a flatbed tow truck",
        (
            ex(
                "I was rear-ended at a light. The car's not drivable.",
                "Someone hit me, the front end is smashed.",
                agent=("Is anyone injured? If so, please hang up and call emergency services first.",),
            ),
        ),
        ("No, everyone's okay, just shaken up. The police are here.", "We're fine. Police already came."),
    ),
    "ev": Issue(
        "out of charge",
        "ev",
        "a mobile EV charger",
        (
            ex(
                "My car's out of charge. It says zero percent.",
                "The battery died, I misjudged the range.",
                agent=("Understood. Are you somewhere safe while you wait?",),
            ),
        ),
        ("Yes, I'm parked.", "Yeah, I'm fine."),
    ),
}
# What the person who takes over a handed-off call says; the channel records it after the agent.
HUMAN_TAKEOVER = (
    ("human_agent", ("Hi {first}, this is {human} with Northwind. I have your account up. How can I help?",)),
    (
        "customer",
        (
            "I want to move my due date to the 15th, it lines up with my paycheck.",
            "I need to talk about a payment plan, I can't keep up with the monthly amount.",
        ),
    ),
    ("human_agent", ("I can help with that. I've made the change and you'll get a confirmation by email today.",)),
    ("customer", ("Thank you so much.",)),
)
TRANSFER_NOTE = "Transferred to a specialist (queue: {queue}, wait 0:{wait:02d})."
