"""Deterministic understanding of one caller utterance: yes/no, intents, amounts, dates, identity, roadside facts.

Runs on every caller turn before (and independently of) the LLM, so everything here is a compiled regex or a
table lookup. It reads one utterance without the conversation around it; the workflow decides what the
signals mean in context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypedDict

from apps.agent.number_words import DIGIT_WORDS, NUMBER_WORDS
from apps.agent.numbers import MONTHS, WEEKDAYS, DateMention, NumberMention, ascii_lower, find_dates, find_numbers

__all__ = ["Understanding", "bare_numbers", "understand"]


@dataclass(frozen=True)
class Understanding:
    text: str
    affirm: bool | None
    correction: bool
    goodbye: bool  # a closing answer: "bye", also "that's all", "nothing else" (to "anything else?")
    farewell: bool  # an explicit goodbye ("bye", "take care"): closing in any step, whatever was asked
    asks_balance: bool  # "how much do I owe?", "what's my balance?"
    wants_human: bool
    wants_callback: bool
    opt_out: bool
    pay_in_full: bool
    wants_plan: bool
    wants_waiver: bool  # a fee or charge waived (a specialist may approve it)
    wants_settlement: bool
    wants_forgiveness: bool  # the whole balance waived or forgiven: beyond anyone's authority here
    third_party: bool  # someone other than the one asked for: "this is her son", "she's out", "wrong number"
    amounts: tuple[Decimal, ...]
    dates: tuple[date, ...]
    method: str | None
    digits: tuple[str, ...]
    date_of_birth: date | None
    name: str | None
    issue: str | None
    severity: str | None
    location: str | None
    unclear: bool


class _Flags(TypedDict):
    """The intents of an `Understanding`."""

    correction: bool
    goodbye: bool
    farewell: bool
    asks_balance: bool
    wants_human: bool
    wants_callback: bool
    opt_out: bool
    pay_in_full: bool
    wants_plan: bool
    wants_waiver: bool
    wants_settlement: bool
    wants_forgiveness: bool
    third_party: bool


class _Facts(TypedDict):
    """The facts of an `Understanding`."""

    amounts: tuple[Decimal, ...]
    dates: tuple[date, ...]
    method: str | None
    digits: tuple[str, ...]
    date_of_birth: date | None
    name: str | None
    issue: str | None
    severity: str | None
    location: str | None


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


def _re(pattern: str) -> re.Pattern[str]:
    """Patterns run on the lower-cased utterance; IGNORECASE would make Python's re several times slower."""
    return re.compile(pattern)


# -------------------------------------------------------------------------------------------- yes / no

_LEAD = r"(?:^|[.,!?;:]\s*|\b(?:oh|um+|uh+|well|ah|er|and|but|so|yes|yeah|okay|ok|said)[\s,]+)"
_YES = _re(
    r"\b(?:yes+|yeah|yea|yep|yup|yah|correct|absolutely|definitely|certainly|affirmative|of\s+course"
    r"|sure(?:\s+thing)?|sounds\s+(?:good|great|fine|perfect|right)|that\s+works|works\s+for\s+me"
    r"|that'?s\s+(?:exactly\s+)?(?:right|correct|true|fine|perfect|good|great)|that\s+is\s+(?:right|correct)"
    r"|uh[\s-]?huh|mm[\s-]?hmm|mhm|i\s+agree|agreed|you\s+bet|you\s+got\s+it)\b"
    # "Exactly." is a yes; "how much do I owe exactly?" is not.
    rf"|{_LEAD}(?:ok(?:ay)?|alright|all\s+right|right(?!\s+(?:now|away|there|here|after|before))|fine|great|perfect"
    r"|cool|exactly|go\s+ahead|please\s+do)\b(?!\s*\?)"
    r"|^\W*(?:(?:yes|yeah),?\s+)?(?:it\s+is|it\s+does|i\s+do|i\s+am|i\s+will|i\s+can|that\s+one|that'?s\s+me)\W*$"
)
_NO = _re(
    rf"{_LEAD}no+\b(?![\s,]*(?:problem|worries|worry|rush|hurry|doubt|question|one|matter|more|longer|idea|clue"
    r"|big\s+deal)\b)|\b(?:nope|nah|naw|negative|incorrect|not\s+really|not\s+(?:right|correct|true|quite|exactly)"
    r"|(?:that'?s|that\s+is|it'?s|it\s+is)\s+not\s+(?:right|correct|true|it|me|mine)|i\s+don'?t\s+think\s+so"
    r"|not\s+at\s+all|wrong\s+(?:person|number|guy|lady|name|account|one)|(?:that'?s|that\s+is|it'?s|you'?re)\s+wrong"
    r"|you\s+have\s+the\s+wrong)\b|\b(?:it|that)\s+(?:isn'?t|is\s+not|wasn'?t)\s*(?:[.!]|$)|^\W*wrong\b"
)
_NOT_BEFORE = _re(r"(?:\bnot|n'?t)\s+(?:\w+\s+)?$")

# -------------------------------------------------------------------------------------------- intents

_NEGATED = _re(
    r"\b(?:not|never|don'?t|do\s+not|doesn'?t|can'?t|cannot|can\s+not|won'?t|wouldn'?t|couldn'?t|unable\s+to"
    r"|no\s+need|no\s+way)\b[^.!?;]{0,24}$"
)
_GOODBYE = _re(
    r"\b(?:bye(?:[\s-]?bye)?|goodbye|good\s+bye|good\s*night|nothing\s+else|take\s+care|see\s+(?:you|ya)"
    r"|talk\s+(?:to\s+you\s+)?(?:later|soon)|(?:that\s+will|that'?ll)\s+be\s+all|i'?m\s+all\s+set|all\s+set"
    r"|i'?m\s+done|we'?re\s+done|have\s+a\s+(?:good|great|nice|wonderful|lovely|blessed)\s+"
    r"(?:day|one|night|evening|afternoon|weekend))\b"
    r"|\bthat'?s\s+(?:all|it|everything)\b(?=\s*(?:$|[.!,]|for\s+(?:now|today)|thanks|thank|i\s+need))"
    r"|\bi'?m\s+(?:good|fine|okay|ok)\b[\s,.!]*(?:thanks|thank\s+you|that'?s\s+all)"
)
# Said only to leave: "that's it" or "I'm all set" also answer "is that right?" or "anything else?".
_FAREWELL = _re(
    r"\b(?:bye(?:[\s-]?bye)?|goodbye|good\s+bye|good\s*night|see\s+(?:you|ya)\s+(?:later|soon)"
    r"|talk\s+(?:to\s+you\s+)?(?:later|soon)|have\s+a\s+(?:good|great|nice|wonderful|lovely|blessed)\s+"
    r"(?:day|one|night|evening|afternoon|weekend))\b|\btake\s+care\b(?=\s*(?:$|[.!,]))"
)
_BALANCE_QUESTION = _re(
    r"\bhow\s+much\s+(?:exactly\s+|money\s+)?(?:do|did|would|will|should)\s+i\s+(?:still\s+)?"
    r"(?:owe|have\s+to\s+pay|need\s+to\s+pay)"
    r"|\bhow\s+much\s+(?:i\s+(?:still\s+)?owe|is\s+(?:owed|due|left|outstanding))"
    r"|\bhow\s+much\s+(?:is|was)\s+(?:it|that|the\s+(?:balance|total|bill|debt|amount)"
    r"|my\s+(?:balance|bill|debt|total))\b"
    r"|\bwhat(?:'?s|\s+is|\s+was)\s+(?:my|the)\s+(?:current\s+|total\s+|exact\s+|outstanding\s+|remaining\s+)?"
    r"(?:balance|total|amount|debt)\b"
    r"|\bwhat\s+(?:do|did)\s+i\s+(?:still\s+)?owe\b"
    r"|\b(?:the\s+)?exact\s+(?:amount|balance|figure|total)\b"
)
_HUMAN = _re(
    r"\b(?:human(?:\s+being)?|representative|operator|(?<!my\s)supervisor|(?<!my\s)manager"
    r"|(?:real|live|actual|another)\s+(?:person|human|agent|people)"
    r"|(?:speak|talk)\s+(?:to|with)\s+(?:someone|somebody|a\s+person|people|(?:an?|the|your)\s+(?:agent|rep)\b)"
    r"|(?:an|the|live|real|human)\s+agent)\b|^\W*(?:agent|rep|person)\b"
)
_CALLBACK = _re(
    r"(?<!i'll\s)(?<!i\swill\s)(?<!let\sme\s)\b(?:call\s+me\s+back|call\s+back|callback|ring\s+me\s+back"
    r"|give\s+me\s+a\s+call|(?:can|could|would)\s+you\s+call\s+me|reach\s+me\s+(?:later|tomorrow|at)"
    r"|call\s+me\s+(?:later|tomorrow|tonight|this|next|in|on|at|another|some|when|after|around))\b"
)
_OPT_OUT = _re(
    r"\b(?:stop\s+(?:calling|contacting|bothering|texting|the\s+calls)|(?:don'?t|do\s+not|never)\s+(?:ever\s+)?"
    r"(?:call|contact)\s+(?:me|this\s+number|here|again)|do\s+not\s+call|take\s+me\s+off|remove\s+(?:me|my\s+"
    r"(?:number|name|phone))|quit\s+calling|leave\s+me\s+alone|unsubscribe|no\s+more\s+calls"
    r"|(?:don'?t|do\s+not)\s+want\s+(?:any\s+)?(?:more\s+)?(?:calls|you\s+(?:to\s+)?call))\b"
)
_FULL = _re(
    r"\b(?:pay\s+(?:it|this|that)?\s*(?:all|off)(?!\s+(?:some|part|a\s+(?:bit|little)|half|a\s+portion))|pay\s+(?:off\s+)?everything|pay\s+off\s+(?:the|my)\s+"
    r"(?:balance|account|debt|bill|loan)|(?:the\s+)?(?:full|whole|entire)\s+(?:amount|balance|thing|bill|sum|lot)"
    r"|in\s+full|all\s+of\s+it|the\s+total\s+(?:amount|balance))\b"
)
_PLAN = _re(
    r"\b(?:payment\s+plans?|(?:a|the|on\s+a)\s+plan|installments?|instalments?|split\s+(?:it|this|that|the\s+\w+)"
    r"|split\s+(?:it\s+)?up|break\s+(?:it|this|that)\s+up|spread\s+(?:it|this|that|the\s+\w+)\s+out"
    r"|pay\s+(?:it\s+)?(?:in|over)\s+(?:parts|pieces|chunks|time|stages|(?:\w+\s+)?(?:payments|months|parts))"
    r"|(?:some|part|half|a\s+(?:bit|little))\s+now\s+and\s+(?:some|part|more|the\s+rest|the\s+other\s+half)\s+later"
    r"|monthly\s+payments|a\s+little\s+(?:at\s+a\s+time|each\s+(?:month|week))|(?:two|three|four|\d)\s+payments)\b"
)
_WAIVER = _re(
    r"\bwaiv(?:e|ed|er|ing)\b|\b(?:remove|drop|forgive|cancel|take\s+off|get\s+rid\s+of|reverse|refund|eliminate"
    r"|wipe|credit\s+back)\s+(?:\w+\s+){0,3}?(?:fees?|charges?|penalt(?:y|ies)|interest)\b"
)
# The debt itself waived, forgiven, written off: no fee waiver, and not a payment in full either.
_FORGIVE = _re(
    r"\b(?:waiv(?:e|ed|ing)|forgiv(?:e|en|ing)|cancel(?:l?ed|l?ing)?|wipe[sd]?(?:\s+out)?|erase[sd]?|delete"
    r"|write\s+off|writ(?:e|ten)\s+(?:it\s+|that\s+)?off|eliminate|zero\s+out|get\s+rid\s+of)"
    r"\s+(?:(?!fees?\b|charges?\b|penalt|interest\b)\w+\s+){0,3}?(?:balance|debt|loan|account|what\s+i\s+owe"
    r"|amount\s+(?:i\s+)?owed?|(?:whole|entire)\s+(?:thing|amount|lot|bill)|everything|all\s+of\s+it"
    r"|(?:it|this|that)\s+all)\b"
    r"|\b(?:debt|loan|balance)\s+(?:forgiveness|forgiven|waived|cancell?ed|written\s+off)\b"
)
# Someone else answered for the one asked for: a relative or housemate, or they are not there.
_KIN = (
    r"son|daughter|husband|wife|spouse|partner|boyfriend|girlfriend|fianc[eé]e?|roommate|room\s*mate|flatmate"
    r"|housemate|mother|mom|mum|father|dad|brother|sister|friend|neighbou?r|cousin|aunt|uncle|grandson"
    r"|granddaughter|grandmother|grandma|grandfather|grandpa|niece|nephew|kid|child|caregiver|carer|assistant"
    r"|landlord|tenant|relative|colleague|co-?worker|boss|nanny|babysitter"
)
_THIRD_PARTY = _re(
    rf"\b(?:this\s+is|it'?s|i'?m|i\s+am|im|you'?re\s+(?:speaking|talking)\s+(?:to|with))\s+(?:his|her|their)"
    rf"\s+(?:\w+\s+)?(?:{_KIN})\b"
    r"|\b(?:he|she|they)(?:'s|'re|\s+is|\s+are)\s+(?:not\s+(?:here|home|in|around|available|back)|out\b"
    r"|away|at\s+(?:work|school|the\s+\w+)|busy|asleep|sleeping|unavailable|in\s+the\s+hospital|passed|deceased)"
    r"|\b(?:he|she|they)\s+(?:isn'?t|aren'?t|is\s+not|are\s+not)\s+(?:here|home|in|around|available)\b"
    r"|\b(?:he|she|they)\s+(?:doesn'?t|don'?t|does\s+not|do\s+not|no\s+longer)\s+lives?\s+here\b"
    r"|\b(?:he|she|they)\s+(?:can'?t|cannot)\s+(?:come\s+to|get\s+to|take)\s+the\s+phone\b"
    r"|\bwrong\s+(?:number|person)\b|\b(?:no\s*one|nobody)\s+(?:here\s+)?(?:by|with|named|called)\s+that\b"
    r"|\b(?:this|that|it)\s+(?:isn'?t|is\s+not|'?s\s+not)\s+(?:him|her|them)\b|\btake\s+a\s+message\b"
)
_SETTLE = _re(
    r"\b(?:settle|settled|settling|settlement|pay\s+less|reduced?\s+(?:the\s+)?(?:amount|balance|payoff|debt|total)"
    r"|(?:for|accept)\s+less|discount(?:ed)?|less\s+than\s+(?:the\s+)?(?:full|whole|total)"
    r"|(?:cut|make)\s+(?:me\s+)?a\s+deal)\b"
)
_VALUE_AHEAD = (
    r"(?=\$|£|€|\d|[a-z]+day\b|tomorrow|next|the\s|a\s+hundred|(?:one|two|three|four|five|six|seven|eight|nine|ten"
    r"|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)\b)"
)
_CORRECTION = _re(
    r"\b(?:i\s+meant|change\s+(?:it|that|the\s+\w+)\s+to|switch\s+(?:it|that)\s+to"
    r"|move\s+(?:it|that)\s+to|instead|rather\s+than|scratch\s+that|let\s+me\s+correct|correction)\b"
    rf"|\b(?:i\s+mean|i\s+said|make\s+(?:it|that))\b,?\s+{_VALUE_AHEAD}"
    r"|\bnot\s+(?:\$?\d[\d,.]*|[a-z]+day|[a-z]+(?:ty|teen|hundred|thousand)(?:[\s-][a-z]+)?)\s*,\s*(?:but\s+)?(?:it'?s\s+)?"
    r"(?:\$?\d|[a-z]+day|[a-z]+(?:ty|teen|hundred|thousand)|one|two|three|four|five|six|seven|eight|nine|ten)"
)
_ASKING_TOTAL = _re(r"\s*(?:what|how\s+much)\b")
_ACTUALLY = _re(r"\bactually\b")
_PAY_CONTEXT = _re(
    r"\b(?:pay|paying|paid|payment|payments|afford|owe|owed|send|put\s+down|settle|offer|manage|budget|deposit"
    r"|balance|amount|installments?|plan|can\s+do|could\s+do|i'?ll\s+do|do\s+about|make\s+it|how\s+about"
    r"|what\s+about|instead|monthly|weekly|biweekly|(?:a|per|each|every)\s+(?:month|week))\b"
)
_FILLER = _wordset(
    "hmm hm hmmm mm um umm uh uhh er erm ah oh huh eh well so like what sorry pardon excuse me the a i it is "
    "not no yes actually make instead just only maybe can could we do say then and or ok okay how about meant "
    "mean but it's its"
)
_CONFUSED = _re(
    r"\b(?:huh|pardon|come\s+again|say\s+(?:that|it)\s+again|repeat\s+(?:that|it|yourself)|what\s+do\s+you\s+mean"
    r"|(?:don'?t|do\s+not|didn'?t)\s+(?:understand|get\s+it|follow|catch\s+that|hear\s+(?:you|that))"
    r"|i'?m\s+confused|what\s+was\s+that|what\s*\?)"
)

# -------------------------------------------------------------------------------------------- payment method

_METHODS = (
    (
        "bank_transfer",
        _re(r"\b(?:bank|ach|transfer|wire|direct\s+debit|checking\s+account|savings\s+account|routing)\b"),
    ),
    (
        "card",
        _re(
            r"\b(?:card|(?<!direct\s)debit|credit\s+card|by\s+credit|visa|mastercard|master\s+card|amex|american\s+express)\b"
        ),
    ),
    (
        "check",
        _re(
            r"\bcheques?\b|\b(?:a|by|with|personal|cashier'?s|paper|send|mail|write|writing)\s+checks?\b(?!\s+engine)"
            r"|\bchecks?\s+(?:in\s+the\s+mail|by\s+mail)"
        ),
    ),
    ("cash", _re(r"\bcash\b(?!\s*app)")),
    ("online_portal", _re(r"\b(?:online|website|web\s+site|web\s+portal|portal|app|internet|cash\s*app)\b")),
)
_METHOD_NEGATED = _re(r"\b(?:not|no|don'?t\s+have\s+(?:a|an|any)|without|never)\s+(?:\w+\s+){0,2}$")

# -------------------------------------------------------------------------------------------- identity

_SPOKEN_DIGITS = _re(
    r"\b(?:(?:double|triple)\s+)?(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|\d)\b"
    r"(?:[\s,.-]+(?:(?:double|triple)\s+)?(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|\d)\b(?!')){2,}"
)
_DIGIT_PART = re.compile(r"\b(?:double|triple|zero|one|two|three|four|five|six|seven|eight|nine|oh|o|\d)\b")
_DIGIT_GROUPS = _re(
    r"(?<![\w$£€.,-])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}(?![\w-])|(?<![\w$£€.,-])\d+(?:-\d+)+(?![\w-])"
)
_ID_CUE_BEFORE = _re(
    r"\b(?:zip|code|pin|account|acct|number|digits|last\s+four|ending|ends|ssn|social|id|reference|confirmation"
    r"|extension|policy|member|plate|vin|unit|apt|apartment|suite|card)\b(?:\s+\w+){0,3}\s*[:#]?\s*$"
)
_STREET_AFTER = _re(
    r"^\s+(?:[a-z]+\s+)?(?:street|st|avenue|ave|road|rd|boulevard|blvd|drive|dr|lane|ln|way|court|ct|place"
    r"|pl|highway|hwy|parkway|pkwy|broadway|main)\b"
)
_NOT_AMOUNT_AFTER = _re(
    r"^(?:\s*(?:-|to|or)\s*\d+)?\s*(?:%|(?:days?|weeks?|months?|years?|minutes?|mins?|hours?|hrs?|seconds?|percent"
    r"|per\s*cent|am|pm|a\.m|p\.m|o'?clock|times|payments|installments|parts|pieces|people|kids|children|miles|cars?"
    r"|digits?|:\d)\b)"
)
_ROAD_BEFORE = _re(r"[a-z]-$")
_AT_BEFORE = _re(r"\bat\s*$")  # "at 5" is a time
_NON_DIGIT = _re(r"\D")
_DIGIT = _re(r"\d")
_WORD = _re(r"[a-z']+")
_LOC_WORD = re.compile(r"[A-Za-z][\w'-]*")
_DOB_CUE = _re(r"\b(?:born|birth|dob|d\.o\.b|birthday)\b")
_NAME = re.compile(
    r"\b(?P<cue>(?:my\s+|the\s+)?name\s+is|my\s+name'?s|name'?s|this\s+is|it'?s|it\s+is|i'?m|i\s+am|im"
    r"|you'?re\s+(?:speaking|talking)\s+(?:to|with))\s+(?P<name>[A-Za-z][A-Za-z'\-]*(?:\s+[A-Za-z][A-Za-z'\-]*){0,3})",
    re.IGNORECASE,
)
_NAME_STOP = _wordset(
    "and calling from with here speaking about regarding but so the on at in of to for my is i im i'm or "
    "back again please thanks thank yes no ok okay"
)
# Words that follow "I'm / it's / this is" without being a name.
_NOT_NAMES = _wordset(
    "a an the not so very really just still also only now here there home out good fine great okay ok well "
    "sure sorry afraid glad happy ready done busy able unable stuck calling trying looking going gonna getting "
    "having waiting driving sitting parked working paying broke broken locked lost late behind short tight low "
    "out over under in on at near by with from about all right wrong worried confused interested thinking "
    "wondering hoping planning willing retired unemployed disabled pregnant sick tired scared alone safe "
    "pretty kind currently actually probably definitely literally me my your his her their our it this that "
    "what who when where why how because correct true yes yeah no nope hard difficult impossible fixed "
    "between outside inside stranded calling nobody somebody someone everyone okay almost exactly "
    "new due past overdue free available"
)

# -------------------------------------------------------------------------------------------- roadside

# In precedence order: the first that matches is the issue.
_ISSUES = (
    (
        "accident",
        _re(
            r"\b(?:accident|crash(?:ed)?|collision|fender[\s-]?bender|rear[\s-]?ended|(?:got|was|been)\s+hit"
            r"|hit\s+(?:by|me)|(?:someone|somebody|they)\s+hit|hit\s+(?:a|an|another|the|some)\s+(?:car|deer|truck"
            r"|pole|tree|wall|guard\s*rail|vehicle|person|pedestrian|cyclist|bike|van|bus|motorcycle))\b"
        ),
    ),
    (
        "lockout",
        _re(
            r"\b(?:locked\s+(?:myself\s+)?out|locked\s+(?:my|the)\s+keys?|keys?\s+(?:are\s+|is\s+)?(?:locked\s+)?"
            r"(?:inside|in\s+the\s+(?:car|truck|vehicle))|lost\s+(?:my|the)\s+keys?|can'?t\s+find\s+(?:my|the)\s+keys?"
            r"|lockout)\b"
        ),
    ),
    (
        "fuel",
        _re(
            r"\b(?:(?:ran|run|running)\s+out\s+of\s+(?:gas|fuel|petrol|diesel)|out\s+of\s+(?:gas|fuel|petrol|diesel)"
            r"|empty\s+(?:gas\s+)?tank|tank\s+is\s+empty|no\s+(?:gas|fuel)|need\s+(?:some\s+)?(?:gas|fuel))\b"
        ),
    ),
    ("tire", _re(r"\b(?:flat|tires?|tyres?|blow\s?out|blew\s+(?:out|a\s+tire)|punctur(?:e|ed)|popped)\b")),
    (
        "battery",
        _re(
            r"\b(?:batter(?:y|ies)|jump(?:[\s-]?start)?|jumper\s+cables|(?:won'?t|doesn'?t|does\s+not|will\s+not)\s+"
            r"(?:start|turn\s+over)|not\s+starting|clicking|clicks)\b"
        ),
    ),
    ("towing", _re(r"\b(?:tow(?:ed|ing)?|tow\s+truck|ditch|stuck\s+in\s+(?:the\s+|a\s+)?(?:mud|snow|sand|ditch))\b")),
    (
        "engine",
        _re(
            r"\b(?:overheat(?:ing|ed|s)?|smok(?:e|ing)|steam(?:ing)?|engine|stall(?:ed|s|ing)?|broke(?:n)?\s+down"
            r"|breaking\s+down|transmission|won'?t\s+(?:move|go))\b"
        ),
    ),
)
_EV_VEHICLE = _re(r"\b(?:ev|e\.v\.|electric\s+(?:car|vehicle|truck|suv)|tesla|rivian|nissan\s+leaf|chevy\s+bolt)\b")
_EV_CHARGE = _re(
    r"\b(?:out\s+of\s+(?:charge|juice)|(?:won'?t|doesn'?t|can'?t|not|isn'?t)\s+charg(?:e|ing)"
    r"|ran\s+out\s+of\s+(?:charge|battery)|(?:charge|range)\s+(?:is\s+)?(?:at\s+)?(?:zero|0|empty))\b"
)
_HARD_EMERGENCY = _re(
    r"\b(?:accident|crash(?:ed)?|collision|injur(?:ed|y|ies)|hurt|bleeding|smoke|smoking|fire|flames?|burning"
    r"|unsafe|not\s+safe|(?:don'?t|doesn'?t)\s+feel\s+safe|dangerous|hit\s+by|rear[\s-]?ended"
    r"|middle\s+of\s+(?:the\s+)?(?:road|traffic|highway|freeway|intersection|lane|street)|in\s+traffic"
    r"|dark\s+and\s+(?:i'?m\s+)?(?:all\s+)?alone|alone\s+and\s+(?:it'?s\s+)?dark)\b"
    r"|\b(?:kids?|children|child|baby|babies|infant|toddler|dogs?|cats?|pets?)\b[^.!?]{0,25}\b(?:in|inside)\s+"
    r"(?:the|my)\s+(?:car|vehicle|truck|van|suv|back\s*seat|back)\b|\b(?:in|inside)\s+the\s+(?:car|vehicle)\s+with\s+"
    r"(?:my\s+)?(?:\w+\s+)?(?:kids?|children|child|baby|infant|toddler|dogs?|pets?)\b"
    r"|\b(?:kids?|children|baby|infant|toddler|dogs?|pets?)\s+(?:is\s+|are\s+)?with\s+me\b"
)
_DENIED = _re(r"(?:\b(?:no|not|nobody|none|never|without)\b|n't)(?:(?!\b(?:but|and|though)\b)[^.!?;,]){0,15}$")
_ROAD = _re(r"\b(?:highway|freeway|interstate|motorway|expressway|turnpike|shoulder|hwy)\b|\bi-?\d{1,3}\b")
_SAFE = _re(
    r"\b(?:parking\s+(?:lot|garage|structure|space|spot)|driveway|garage|at\s+home|at\s+(?:my\s+)?(?:work|job|office)"
    r"|(?:my|the)\s+(?:house|home|apartment)|gas\s+station|rest\s+(?:stop|area)|(?:i'?m|we'?re|we\s+are|i\s+am)\s+safe"
    r"|safe\s+(?:place|spot|location)|in\s+(?:a|the)\s+lot)\b"
)
_STUCK = _re(r"\b(?:stuck|stranded|broke(?:n)?\s+down|side\s+of\s+the\s+road|can'?t\s+(?:move|drive|get\s+home))\b")
_PREPS = r"on\s+the\s+shoulder\s+of|on\s+the\s+side\s+of|next\s+to|across\s+from|in\s+front\s+of|outside(?:\s+of)?|on|at|near|in|by|off|behind"
_LOCATION_CUE = _re(
    r"\b(?:i'?m|i\s+am|im|we'?re|we\s+are|car\s+is|vehicle\s+is|truck\s+is|stuck|stranded|broke(?:n)?\s+down"
    r"|located|parked|pulled\s+over|sitting)\s+(?:(?:currently|still|right|just|now|stuck|stranded|parked|sitting"
    rf"|broken\s+down|pulled\s+over|over)\s+){{0,2}}(?P<prep>{_PREPS})\s+(?=\S)"
)
_LOCATION_BARE = _re(r"(?:^|\b)(?P<prep>on\s+the\s+shoulder\s+of|at|near|outside(?:\s+of)?|in\s+front\s+of)\s+(?=\S)")
_LOCATION_STOP = _re(
    r"\s*[.;!?]|,\s*(?:and|but|so|my|it|i|i'?m|we|can|could|please|there|thanks|the\s+car)\b|\s+(?:and|but|so|because"
    r"|cause|cuz|if|when|which|who|can\s+you|could\s+you|please|i(?!-)|i'?m|im|we|we'?re|it'?s|with\s+my|how|what"
    r"|thanks|thank\s+you|right\s+now|my\s+(?:car|vehicle|truck|tire|battery|engine|keys|phone|kids|dog))\b"
)
_PLACE_NOUN = _re(
    r"\b(?:street|st|avenue|ave|road|rd|boulevard|blvd|drive|dr|lane|ln|way|highway|hwy|freeway|interstate|route"
    r"|exit|ramp|bridge|tunnel|intersection|corner|block|parking|lot|garage|station|store|mall|market|shop"
    r"|restaurant|home|house|work|office|driveway|apartment|building|school|hospital|church|park|campus|motel"
    r"|hotel|shoulder|mile\s+marker|rest\s+(?:area|stop)|downtown|plaza|center|centre|walmart|target|costco)\b"
    r"|\bi-?\d+\b"
)
_NOT_PLACES = _re(
    r"^(?:the\s+phone|a\s+fixed|fixed|social\s+security|disability|unemployment|welfare|medicaid|medicare|hold"
    r"|vacation|my\s+way|the\s+(?:other\s+)?line|speaker|a\s+budget|it\b|this\b|that\b|a\s+loss|trouble)"
)


def _negated(low: str, start: int) -> bool:
    return bool(_NEGATED.search(low[max(0, start - 40) : start]))


def _flag(pattern: re.Pattern[str], low: str) -> bool:
    return any(not _negated(low, m.start()) for m in pattern.finditer(low))


def _affirm(low: str) -> bool | None:
    yes = any(not _NOT_BEFORE.search(low[max(0, m.start() - 20) : m.start()]) for m in _YES.finditer(low))
    no = bool(_NO.search(low))
    return None if yes == no else yes


def _method(low: str) -> str | None:
    hits = []
    for value, pattern in _METHODS:
        for m in pattern.finditer(low):
            if not _METHOD_NEGATED.search(low[max(0, m.start() - 30) : m.start()]):
                hits.append((value == "online_portal", -m.start(), value))
    return min(hits)[2] if hits else None  # an instrument beats the channel; the last one said wins


def _spoken_digit_runs(low: str) -> list[tuple[int, int, str]]:
    runs = []
    for m in _SPOKEN_DIGITS.finditer(low):
        parts = _DIGIT_PART.findall(m.group())
        digits, repeat, real = [], 1, 0
        for part in parts:
            if part in ("double", "triple"):
                repeat = 2 if part == "double" else 3
                continue
            digits.append((part if part.isdigit() else DIGIT_WORDS[part]) * repeat)
            real += part not in ("oh", "o")
            repeat = 1
        if real >= 2:
            runs.append((m.start(), m.end(), "".join(digits)))
    return runs


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def _numbers(
    low: str, words: list[str], mentions: list[NumberMention], dates: list[DateMention], *, corrected: bool
) -> tuple[tuple[Decimal, ...], tuple[str, ...]]:
    runs = _spoken_digit_runs(low)
    taken = [(d.start, d.end) for d in dates]
    groups = [
        (m.start(), m.end(), group)
        for m in _DIGIT_GROUPS.finditer(low)
        if len(group := _NON_DIGIT.sub("", m.group())) >= 5 and not _overlaps(m.start(), m.end(), taken)
    ]
    taken += [(s, e) for s, e, _ in runs + groups]
    # "300", "not 300, 250", "three hundred": an answer that is only a figure is about paying.
    paying = corrected or bool(_PAY_CONTEXT.search(low)) or all(w in _FILLER or w in NUMBER_WORDS for w in words)
    amounts: list[Decimal] = []
    digits: list[tuple[int, str]] = [(s, d) for s, _, d in runs + groups]
    for m in mentions:
        if _overlaps(m.start, m.end, taken) or m.kind == "ordinal":
            continue
        if m.kind == "money":
            amounts.append(m.value)
            continue
        before, after = low[max(0, m.start - 40) : m.start], low[m.end : m.end + 20]
        identifier = m.kind == "digits" and (
            len(m.raw) >= 5 or m.raw.startswith("0") or _ID_CUE_BEFORE.search(before) or _STREET_AFTER.match(after)
        )
        if (
            paying
            and not identifier
            and not _NOT_AMOUNT_AFTER.match(after)
            and not (_AT_BEFORE.search(before) and m.value <= 12)
        ):
            amounts.append(m.value)
        elif m.kind == "digits" and not _ROAD_BEFORE.search(before):  # not a road: "I-880"
            digits.append((m.start, m.raw))
    unique = tuple(dict.fromkeys(amounts))
    return unique, tuple(d for _, d in sorted(digits))


def bare_numbers(text: str, today: date) -> list[Decimal]:
    """The numbers in `text` that may be an amount of money when money is the subject ("300 on
    Friday"): outside dates, and not of something else ("ninety percent", "two weeks", "3 payments")."""
    low = ascii_lower(text.replace("’", "'").replace("‘", "'"))
    in_dates = [(d.start, d.end) for d in find_dates(text, today)]
    return [
        n.value
        for n in find_numbers(text)
        if n.kind in ("number", "money")
        and not _overlaps(n.start, n.end, in_dates)
        and not (n.kind == "number" and _NOT_AMOUNT_AFTER.match(low[n.end : n.end + 20]))
    ]


def _date_of_birth(low: str, dates: list[DateMention], today: date) -> date | None:
    cue = bool(_DOB_CUE.search(low))
    for d in dates:
        if (cue and d.value < today) or d.value.year <= today.year - 14:
            return d.value
    return None


def _title(word: str) -> str:
    return word if any(c.isupper() for c in word[1:]) else word.title()


def _name(text: str) -> str | None:
    lowercase_text = not any(c.isupper() for c in text)
    for m in _NAME.finditer(text):
        strong = (
            m.group("cue").lower().replace("'", "").startswith(("my name", "names", "name is", "the name", "youre"))
        )
        words = m.group("name").split()
        picked: list[str] = []
        for word in words:
            low = word.lower()
            if low in _NAME_STOP or low in MONTHS or low in WEEKDAYS:
                break
            if not strong and (low in _NOT_NAMES or not (lowercase_text or word[0].isupper())):
                break
            picked.append(word)
            if len(picked) == 3:
                break
        if picked and (strong or picked[0].lower() not in _NOT_NAMES):
            return " ".join(_title(w) for w in picked)
    return None


def _has_place(loc: str, *, strict: bool) -> bool:
    proper = any(w[0].isupper() and w not in ("I", "I'm") for w in _LOC_WORD.findall(loc))
    noun = bool(_PLACE_NOUN.search(ascii_lower(loc)))
    return proper or noun or (not strict and bool(_DIGIT.search(loc)))


def _location(text: str, low: str) -> str | None:
    candidates = [(m.end(), False) for m in _LOCATION_CUE.finditer(low)]
    candidates += [(m.end(), True) for m in _LOCATION_BARE.finditer(low)]
    for start, strict in sorted(candidates):
        stop = _LOCATION_STOP.search(low[start : start + 120], 1)
        end = start + (stop.start() if stop else len(low[start : start + 120]))
        loc = text[start:end].strip(" ,")
        if loc and not _NOT_PLACES.match(loc.lower()) and _has_place(loc, strict=strict):
            return loc
    return None


def _issue(low: str) -> str | None:
    """The first issue in `_ISSUES` order; an electric vehicle that is out of charge or won't start is "ev"."""
    if _EV_CHARGE.search(low):
        return "ev"
    found = next((value for value, pattern in _ISSUES if pattern.search(low)), None)
    if _EV_VEHICLE.search(low) and found in (None, "battery"):
        return "ev"
    return found


def _said(pattern: re.Pattern[str], low: str) -> bool:
    """A match that is not denied just before it ("nobody is hurt", "not on the highway")."""
    return any(not _DENIED.search(low[max(0, m.start() - 20) : m.start()]) for m in pattern.finditer(low))


def _severity(low: str, issue: str | None) -> str | None:
    if _said(_HARD_EMERGENCY, low):
        return "emergency"
    safe = bool(_SAFE.search(low))
    if _said(_ROAD, low) and not safe:
        return "emergency"
    if safe:
        return "standard"
    if issue or _STUCK.search(low):
        return "urgent"
    return None


def understand(text: str, *, today: date) -> Understanding:
    """Read one caller utterance. Case-insensitive; curly apostrophes and missing ones ("wont") are fine."""
    original = text
    text = text.replace("’", "'").replace("‘", "'")  # same length: spans stay valid
    low = ascii_lower(text)
    dates = find_dates(text, today)
    words = _WORD.findall(low)
    corrected = bool(_CORRECTION.search(low))
    amounts, digits = _numbers(low, words, find_numbers(text), dates, corrected=corrected)
    method = _method(low)
    issue = _issue(low)
    correction = corrected or (bool(_ACTUALLY.search(low)) and bool(amounts or dates or method))
    affirm = _affirm(low)
    opt_out = bool(_OPT_OUT.search(low))
    forgiveness = [(m.start(), m.end()) for m in _FORGIVE.finditer(low) if not _negated(low, m.start())]
    # A waiver is of fees: "waive" inside "waive the whole balance" is not one.
    waiver = any(not _negated(low, m.start()) and not _overlaps(m.start(), m.end(), forgiveness)
                 for m in _WAIVER.finditer(low))  # fmt: skip
    flags: _Flags = {
        "correction": correction,
        "goodbye": bool(_GOODBYE.search(low)),
        "farewell": bool(_FAREWELL.search(low)),
        "asks_balance": bool(_BALANCE_QUESTION.search(low)),
        "wants_human": _flag(_HUMAN, low),
        "wants_callback": _flag(_CALLBACK, low) and not opt_out,  # "don't call me back" is an opt-out
        "opt_out": opt_out,
        # "Waive the whole balance" pays nothing.
        "pay_in_full": _flag(_FULL, low) and not _ASKING_TOTAL.match(low) and not forgiveness,
        "wants_plan": _flag(_PLAN, low),
        "wants_waiver": waiver,
        "wants_settlement": _flag(_SETTLE, low),
        "wants_forgiveness": bool(forgiveness),
        "third_party": bool(_THIRD_PARTY.search(low)),
    }
    facts: _Facts = {
        "amounts": amounts,
        "dates": tuple(d.value for d in dates),
        "method": method,
        "digits": digits,
        "date_of_birth": _date_of_birth(low, dates, today),
        "name": _name(text),
        "issue": issue,
        "severity": _severity(low, issue),
        "location": _location(text, low),
    }
    nothing = affirm is None and not any(flags.values()) and not any(facts.values())
    unclear = nothing and (all(w in _FILLER for w in words) or bool(_CONFUSED.search(low)))
    return Understanding(text=original, affirm=affirm, unclear=unclear, **flags, **facts)
