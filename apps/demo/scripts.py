"""Conversation scripts for the demo calls, and what the analysis concludes from each kind of call.

Scripts are lists of turns. A turn's variants are `str.format` templates over the call's context
(see `conversations._context`); "@open" and "@close" stand for the opening and closing that suit the call.
"""

from typing import NamedTuple

from apps.demo.data import COMPANY, COMPANY_NUMBER_SPOKEN, ROADSIDE_COMPANY


class Turn(NamedTuple):
    speaker: str
    step: str  # "" keeps the current step
    variants: tuple[str, ...]
    tool: str = ""
    redacted: bool = False


class Maybe(NamedTuple):
    """Turns said together on some calls only."""

    p: float
    turns: tuple[Turn, ...]


def A(step: str, *variants: str, tool: str = "") -> Turn:
    return Turn("agent", step, variants, tool)


def C(*variants: str, redacted: bool = False) -> Turn:
    return Turn("customer", "", variants, redacted=redacted)


def S(*variants: str) -> Turn:
    return Turn("system", "", variants)


def H(*variants: str) -> Turn:
    return Turn("human_agent", "handoff", variants)


_VERIFY_OUT = [
    A(
        "verify_identity",
        "Thanks, {first}. Before we go on I need to verify your identity. What's your date of birth?",
        "Great. For your security, can you confirm your date of birth, please?",
    ),
    C("{dob_spoken}.", "It's {dob_spoken}.", "Sure, {dob_spoken}."),
    A(
        "verify_identity",
        "Thank you. And the ZIP code on the account?",
        "And can you confirm the ZIP code on file?",
        tool="verify_identity",
    ),
    C("{zip}.", "It's {zip}.", "Uh, {zip}."),
]
OPENINGS = {
    "outbound": [
        A(
            "greeting",
            "Hi, this is Ava, a virtual assistant calling for " + COMPANY + ". This call is recorded. "
            "Am I speaking with {name}?",
            "Good {daypart}, this is Ava, an AI assistant with " + COMPANY + ", on a recorded line. "
            "May I speak with {name}?",
        ),
        C("Yes, speaking.", "This is {first}.", "Yeah, that's me. What's this about?", "Speaking. Who is this?"),
        *_VERIFY_OUT,
    ],
    "inbound": [
        A(
            "greeting",
            "Thank you for calling " + COMPANY + ". This is Ava, a virtual assistant, and this call is "
            "recorded. How can I help you today?",
        ),
        C(
            "Hi, I got a letter saying my account is past due.",
            "Yeah, I missed a payment and want to sort it out.",
            "Hi, I'm calling about my car loan. I got a text about a late payment.",
        ),
        A("verify_identity", "I can help with that. Can I have your full name and date of birth?"),
        C("{name}, {dob_spoken}.", "It's {name}. Born {dob_spoken}."),
        A("verify_identity", "Thank you. And the ZIP code on the account?", tool="verify_identity"),
        C("{zip}.", "It's {zip}."),
    ],
    "web_chat": [
        A("greeting", "Hi! I'm Ava, " + COMPANY + "'s virtual assistant. How can I help today?"),
        C("hi i have a question about my balance", "Hello, I want to set up a payment", "I got an email about my loan"),
        A("verify_identity", "Happy to help. To find your account, please type your full name and date of birth."),
        C("{name} {dob_iso}", "{name}, {dob_spoken}"),
        A("verify_identity", "Thanks! And the ZIP code on the account?", tool="verify_identity"),
        C("{zip}"),
    ],
}
_BALANCE = A(
    "present_balance",
    "Thank you, you're verified. Your account ending in {acct_last4} shows a past-due balance of {balance}, "
    "{days_overdue} days overdue. Are you able to take care of that today?",
    "Thanks, that matches. The account ending in {acct_last4} has {balance} past due; the oldest payment is "
    "{days_overdue} days late. Can we talk about getting that resolved?",
    tool="lookup_account",
)
CLOSE = [
    A("wrap_up", "Is there anything else I can help you with today?", "Anything else I can do for you?"),
    C("No, that's all. Thanks.", "Nope, that's it.", "No. Thank you."),
    A("wrap_up", "Thank you, {first}. Have a good {daypart}. Goodbye.", "Thanks for your time, {first}. Take care."),
]

SCRIPTS = {
    "promise": [
        "@open",
        _BALANCE,
        C(
            "I can't do all of it right now. Could I pay {amount} on {date}?",
            "I get paid soon. I can do {amount} on {date}.",
            "Money's tight this month. Would {amount} by {date} work?",
        ),
        Maybe(
            0.4,
            (
                A(
                    "negotiate",
                    "I understand. Could you manage the full {balance} by then? That would bring the account current.",
                ),
                C("No, {amount} is really the most I can do.", "Not this time, sorry. {amount} is what I have."),
            ),
        ),
        A(
            "negotiate",
            "Thanks for working with me. {amount} on {date} works. How will you pay: debit card, bank "
            "transfer, check, or the online portal?",
            "I can set that up. Which payment method would you like to use?",
        ),
        C("{Method}.", "I'll pay by {method}.", "By {method}, probably."),
        A(
            "confirm_promise",
            "Let me read that back: {amount} by {method} on {date}. Is that correct?",
            "To confirm, you'll pay {amount} on {date} by {method}. Did I get that right?",
            tool="record_promise",
        ),
        C("Yes, that's right.", "Correct.", "Yep, that's it."),
        A("confirm_promise", "Perfect, I've recorded your promise. You'll get a reminder the day before."),
        "@close",
    ],
    "pay_now": [
        "@open",
        _BALANCE,
        C("I can pay part of it right now with my card. {amount}.", "Can I just pay {amount} right now with my card?"),
        A(
            "take_payment",
            "Of course. I can take a card payment of {amount} now. Please read me the card number, "
            "expiration date and security code when you're ready.",
        ),
        C("Sure, it's [REDACTED CARD], expiration [REDACTED], code [REDACTED].", redacted=True),
        A(
            "confirm_promise",
            "Thank you. I'm charging {amount} to the card now. The payment went through; your "
            "confirmation number is {confirmation}.",
            tool="take_payment",
        ),
        C("Great, thanks.", "Perfect."),
        "@close",
    ],
    "hardship": [
        "@open",
        _BALANCE,
        C("{hardship_line}"),
        A("negotiate", "I'm sorry to hear that, {first}. I see a late fee of {fee} on the account."),
        C(
            "Is there any way you can waive the late fee? I can pay {amount} on {date} if you do.",
            "Could you take off the late fee? Then I can catch up with {amount} on {date}.",
        ),
        A(
            "negotiate",
            "I can't waive it myself, but I've sent a request to waive the {fee} late fee to a supervisor. "
            "You'll hear back within two business days.",
            tool="request_approval",
        ),
        C("Okay, thank you.", "Alright, I appreciate it."),
        "@close",
    ],
    "settlement": [
        "@open",
        _BALANCE,
        C(
            "There's no way I can pay {balance}. Could I settle it for less?",
            "I can't pay all that. What if I paid {settle_amount} as a lump sum to close it out?",
        ),
        A("negotiate", "I understand. Could you pay that in a single payment, by the end of the month?"),
        C("Yes, in one payment.", "I could borrow it from family, yes."),
        A(
            "negotiate",
            "That's {settle_pct}% of the balance, which is below what I can approve on my own. I've sent "
            "the offer to a supervisor, and someone will call you back within two business days.",
            tool="request_approval",
        ),
        C("Okay. I really want to get this behind me.", "Fine, I'll wait for the call."),
        "@close",
    ],
    "dispute": [
        "@open",
        _BALANCE,
        C(
            "That's not right. I paid {paid_amount} on the {paid_day} and it's not showing.",
            "I don't owe that. I sent {paid_amount} weeks ago, I have the bank statement.",
        ),
        A(
            "dispute",
            "I'm sorry for the confusion. I've opened a dispute on the account and paused collection calls "
            "while we review it. You'll get a letter within ten business days.",
            tool="log_dispute",
        ),
        C("Fine. Thanks.", "Okay, good."),
        "@close",
    ],
    "already_paid": [
        "@open",
        _BALANCE,
        C(
            "I actually paid that yesterday through the portal.",
            "I paid {paid_amount} on the {paid_day} by bank transfer.",
        ),
        A(
            "present_balance",
            "Thanks for letting me know. Payments can take up to two business days to post. I've "
            "noted it on the account so you won't get another call about it.",
            tool="lookup_payments",
        ),
        C("Great.", "Okay, thanks."),
        "@close",
    ],
    "callback": [
        "@open",
        _BALANCE,
        C(
            "I'm at work right now. Can you call me back {callback_when}?",
            "This isn't a good time. Could you try {callback_when}?",
        ),
        A(
            "schedule_callback",
            "Of course. I'll schedule a callback for {callback_when} at this number.",
            tool="schedule_callback",
        ),
        C("Yes, this number's fine.", "Sounds good."),
        A("wrap_up", "Thanks, {first}. Talk to you then. Goodbye."),
    ],
    "handoff": [
        "@open",
        _BALANCE,
        C("I'd rather speak to a real person.", "Can I talk to a human, please?"),
        A(
            "handoff",
            "Of course. I'm transferring you to a member of our team now. Please hold.",
            tool="transfer_to_human",
        ),
        S("Transferred to a human agent (queue: collections, wait 0:{wait:02d})."),
        H("Hi {first}, this is {human} with Northwind. I have your account up. How can I help?"),
        C(
            "I want to move my due date to the 15th, it lines up with my paycheck.",
            "I need to talk about a payment plan, I can't keep up with the monthly amount.",
        ),
        H("I can help with that. I've made the change and you'll get a confirmation by email today."),
        C("Thank you so much."),
    ],
    "verify_fail": [
        A(
            "greeting",
            "Thank you for calling " + COMPANY + ". This is Ava, a virtual assistant, and this call is "
            "recorded. How can I help you today?",
        ),
        C("I'm calling about my loan.", "Hi, I need to check a balance."),
        A("verify_identity", "I can help with that. Can I have the full name and date of birth on the account?"),
        C("It's {name}, born... January 1st, 1980? I think.", "{name}. The birthday is, uh, I'd have to check."),
        A(
            "verify_identity",
            "I'm sorry, that doesn't match our records, so I can't discuss the account. The account "
            "holder can call us back at " + COMPANY_NUMBER_SPOKEN + ".",
            tool="verify_identity",
        ),
        C("Okay, I'll have them call."),
    ],
    "wrong_party": [
        A("greeting", "Hi, this is Ava, a virtual assistant calling for " + COMPANY + ". Am I speaking with {name}?"),
        C("No, you have the wrong number.", "There's no {first} here."),
        A("wrap_up", "I apologize for the inconvenience. I'll update our records. Goodbye.", tool="mark_wrong_number"),
    ],
    "short": [
        A(
            "greeting",
            "Hi, this is Ava, a virtual assistant calling for " + COMPANY + ". This call is recorded. "
            "Am I speaking with {name}?",
        ),
        C("Not a good time.", "I'm driving, I can't talk."),
    ],
    "voicemail": [
        A(
            "greeting",
            "Hello, this is a message for {name} from "
            + COMPANY
            + ". Please call us back at "
            + COMPANY_NUMBER_SPOKEN
            + " about your account. Thank you.",
        ),
    ],
}
SCRIPTS_ES = {
    "open_outbound": [
        A(
            "greeting",
            "Hola, le habla Ava, asistente virtual de " + COMPANY + ". Esta llamada se graba. ¿Hablo con {name}?",
        ),
        C("Sí, soy yo.", "Sí, ¿de qué se trata?"),
        A("verify_identity", "Gracias. Para verificar su identidad, ¿me confirma su fecha de nacimiento?"),
        C("{dob_iso}."),
        A("verify_identity", "¿Y el código postal de la cuenta?", tool="verify_identity"),
        C("{zip}."),
    ],
    "open_inbound": [
        A("greeting", "Gracias por llamar a " + COMPANY + ". Le atiende Ava, asistente virtual. ¿En qué le ayudo?"),
        C("Hola, llamo por un pago atrasado de mi auto."),
        A("verify_identity", "Con gusto. ¿Me da su nombre completo y fecha de nacimiento?"),
        C("{name}, {dob_iso}."),
        A("verify_identity", "Gracias. ¿Y el código postal?", tool="verify_identity"),
        C("{zip}."),
    ],
    "promise": [
        A(
            "present_balance",
            "Gracias, ya está verificado. Su cuenta terminada en {acct_last4} tiene un saldo vencido "
            "de {balance}, con {days_overdue} días de atraso. ¿Puede pagarlo hoy?",
            tool="lookup_account",
        ),
        C("Hoy no puedo. ¿Puedo pagar {amount} el {date}?"),
        A("negotiate", "Claro. ¿Cómo va a pagar: tarjeta de débito, transferencia o el portal en línea?"),
        C("Por transferencia."),
        A("confirm_promise", "Confirmo: {amount} por transferencia el {date}. ¿Es correcto?", tool="record_promise"),
        C("Sí, correcto."),
        A("wrap_up", "Listo, quedó registrado. Gracias, {first}. Que tenga buen día."),
    ],
}

ROADSIDE_OPEN = [
    A(
        "greeting",
        "Thanks for calling " + ROADSIDE_COMPANY + ". This is Ava, a virtual assistant, and this call is "
        "recorded. First, are you somewhere safe right now?",
    ),
    C("Yes, I'm pulled over on the shoulder.", "Yeah, I'm in a parking lot.", "I think so, I got off the road."),
    A("verify_identity", "Good. Can I have your name and the ZIP code on your membership?"),
    C("{name}, {zip}.", "It's {name}. ZIP {zip}."),
]
VEHICLE_MATCH = [
    A(
        "confirm_vehicle",
        "Thanks, {first}. I have a {vehicle}, plate {plate}, on file. Is that the car you're with?",
        "I see a {vehicle} with plate {plate} on your membership. Is that the vehicle?",
        tool="lookup_account",
    ),
    C("Yes, that's the one.", "Yep, that's it.", "That's right."),
]
VEHICLE_OTHER = [
    A(
        "confirm_vehicle",
        "Thanks, {first}. I have a {vehicle}, plate {plate}, on file. Is that the car you're with?",
        tool="lookup_account",
    ),
    C("No, I'm in my {relation}'s car today. It's a {alt_vehicle}."),
    A("confirm_vehicle", "No problem, your membership covers you in any car. I'll note the {alt_vehicle}."),
]
ROADSIDE_LOCATION = [
    A(
        "location",
        "Where are you right now? A street address, cross streets, or the highway and nearest exit all work.",
    ),
    C("{location}.", "I'm at {location}."),
    A("assess_issue", "Got it: {location} in {city}. What's going on with the car?", tool="geocode_location"),
]
ROADSIDE_DISPATCH = [
    A(
        "dispatch",
        "I'm sending {tech} from {tech_base} with {service}. The estimated arrival is about {eta} minutes, "
        "and you'll get a text when they're on the way.",
        tool="dispatch_technician",
    ),
    S("Dispatch confirmed: {tech_full}, ETA {eta} min, job {job}."),
    C("Thank you so much.", "Okay, great. Thanks.", "That's a relief, thank you."),
    A(
        "wrap_up",
        "Stay with your vehicle if it's safe, and turn on your hazard lights. Help is on the way, {first}. Goodbye.",
    ),
]


class Issue(NamedTuple):
    label: str
    specialization: str
    severity: str
    service: str
    turns: tuple[Turn, ...]


ISSUES = {
    "flat_tire": Issue(
        "flat tire",
        "tire",
        "low",
        "a tire service truck",
        (
            C("I've got a flat tire, front passenger side.", "One of my tires blew out."),
            A("assess_issue", "Do you have a spare tire and a jack in the car?"),
            C("There's a spare, but I don't have the tools.", "I don't think there's a spare, just an inflator kit."),
        ),
    ),
    "battery": Issue(
        "dead battery",
        "battery",
        "low",
        "a jump start",
        (
            C("It won't start. It just clicks when I turn the key.", "The battery's dead, nothing happens."),
            A("assess_issue", "Do the dashboard lights come on at all?"),
            C("They flicker a little, that's it.", "No, nothing."),
        ),
    ),
    "lockout": Issue(
        "locked out",
        "lockout",
        "low",
        "lockout tools",
        (
            C("I locked my keys in the car.", "My keys are inside and the doors are locked."),
            A("assess_issue", "Is anyone, or any pet, locked inside the car?"),
            C("No, just my keys and my phone charger.", "No, it's empty."),
        ),
    ),
    "fuel": Issue(
        "out of fuel",
        "fuel",
        "low",
        "a fuel delivery",
        (
            C("I ran out of gas. The gauge must be broken.", "I'm out of gas, totally my fault."),
            A("assess_issue", "Does the car take regular gasoline or diesel?"),
            C("Regular.", "Regular unleaded."),
        ),
    ),
    "overheating": Issue(
        "overheating",
        "towing",
        "medium",
        "a tow truck",
        (
            C(
                "There's steam coming from the hood and the temperature light is on.",
                "The engine overheated and shut off.",
            ),
            A(
                "assess_issue",
                "Please keep the engine off and don't open the radiator cap. Where should the tow take it?",
            ),
            C("The nearest repair shop is fine.", "To my mechanic on {street}, please."),
        ),
    ),
    "accident": Issue(
        "accident",
        "accident",
        "high",
        "a flatbed tow truck",
        (
            C("I was rear-ended at a light. The car's not drivable.", "Someone hit me, the front end is smashed."),
            A("assess_issue", "Is anyone injured? If so, please hang up and call 911 first."),
            C("No, everyone's okay, just shaken up. The police are here.", "We're fine. Police already came."),
        ),
    ),
    "ev": Issue(
        "out of charge",
        "ev",
        "medium",
        "a mobile EV charger",
        (
            C("My car's out of charge. It says zero percent.", "The battery died, I misjudged the range."),
            A("assess_issue", "Understood. We'll bring a charge to get you to the nearest station."),
            C("Okay, thank you.", "Perfect."),
        ),
    ),
}

# How the post-call analysis reads each kind of call: intent, sentiment, and a typical sentiment score.
READINGS = {
    "promise": ("promise_to_pay", "neutral", 0.2),
    "pay_now": ("payment", "positive", 0.6),
    "hardship": ("hardship_fee_waiver", "mixed", -0.1),
    "settlement": ("settlement_request", "mixed", -0.2),
    "dispute": ("dispute", "negative", -0.6),
    "already_paid": ("already_paid", "neutral", 0.1),
    "callback": ("callback_request", "neutral", 0.0),
    "handoff": ("human_handoff", "mixed", -0.1),
    "verify_fail": ("identity_not_verified", "neutral", -0.1),
    "wrong_party": ("wrong_number", "negative", -0.3),
    "roadside": ("roadside_assistance", "positive", 0.4),
}
SUMMARIES = {
    "promise": "{name} verified and promised to pay {amount} by {method} on {date_iso} against a past-due balance "
    "of {balance} ({days_overdue} days).",
    "pay_now": "{name} paid {amount} by card during the call (confirmation {confirmation}).",
    "hardship": "{name} reported financial hardship and asked to waive the {fee} late fee; a fee-waiver request "
    "went to a supervisor. Offered {amount} on {date_iso} if approved.",
    "settlement": "{name} cannot pay the {balance} balance and offered a {settle_amount} lump-sum settlement "
    "({settle_pct}%); sent for approval.",
    "dispute": "{name} disputes the balance, saying {paid_amount} was already paid. Dispute opened, calls paused.",
    "already_paid": "{name} says the payment was already made; noted pending posting.",
    "callback": "{name} could not talk and asked for a callback {callback_when}.",
    "handoff": "{name} asked for a person and was transferred to {human}, who handled the request.",
    "verify_fail": "The caller could not verify as {name}; no account details were shared.",
    "wrong_party": "The person who answered said {name} cannot be reached at this number.",
    "roadside": "{name} needed help with a {vehicle} ({issue_label}) at {location}, {city}. {tech_full} dispatched, "
    "ETA {eta} minutes.",
}
