"""Card numbers, security codes, SSNs and bank details are removed before text is stored, logged or
sent to a model (storing a CVV at all breaks PCI DSS).

Speech-to-text gives numbers in any shape, so a number is read as a *digit run*: numerals and digit
words ("four", "oh", "cero", "double eight" = 88, "triple one" = 111) joined by whitespace (any,
so callers need not tidy it first), dashes, dots, slashes or commas, with or without whitespace
around them ("3782 - 822463 - 10005", "4012.8888.8888.1881", "four oh one two 8888 ...").
Not part of a run, and so never a card: digits
glued to letters ("ACC0000001", "15th"), a decimal number ("took 0.4111111111111111 s"), a date
("03/15/2026", "2026-03-15", "15.03.2026"), an IPv4 address, a time ("10:30", the colon ends a run).

- Card ("card"): a run of 13 to 19 digits that passes the Luhn check; or a longer run holding a
  Luhn-valid stretch of 13 to 19 digits that starts on a group and on a digit 2-6 (the brands
  taken on calls) and ends on a group (or is the first 15 or 16 digits of one numeral of 17 to 24:
  the code glued on). The run goes from there to its end, dates included (what is said straight
  after a card number is its expiry and code); before it, only what a date or decimal splits off
  stays.
- Security code ("cvv"): a run of 3 to 8 digits after a cue (cvv, cvc, cv2, csc, cid, security
  code, card code, verification code, "the three digits on the back", "code on the back of the
  card", "código de seguridad"), a few filler words apart ("the cvv number is 737"); 3 or 4 digits
  after "code" when a card was named just before ("card: ..., code: 1234"); or a run of 3 or 4
  digits just before "is the cvv".
- SSN ("ssn"): 123-45-6789 (or with spaces); 9 digits in any form after an SSN cue ("my social is
  123456789", "social security number one two three ..."), 4 after "last four of my social" or
  "my social ends in"; and a bare run of exactly nine digit *words* (how speech-to-text delivers
  an SSN read out when asked) unless another identifier is named just before it (ZIP, phone,
  account, reference, order, ...). A bare nine-digit *numeral* stays: it may be a reference the
  call needs.
- Routing ("routing"): 6 to 12 digits after routing, ABA, transit number or sort code.
- Bank account ("bank_account"): 5 to 17 digits after bank / checking / savings account; and after
  "account (number)" when routing or ABA is named nearby (account and routing are given together).
  Plain "account number" is the caller's account *with us* ("ACC0000001", "NW00048213", or its
  digits alone): it identifies the caller and stays.

Values after a cue that are written as money ("12,000", "$1,025.50") are amounts and stay.

Time is bounded (see bench/redaction.py): no pattern backtracks (possessive and atomic groups,
bounded repeats); text past `MAX_REDACT_CHARS` is not examined but replaced by `TRUNCATED`, and a
digit run the limit cuts goes with it, so no part of a number passes unexamined; a run longer than
`MAX_RUN_CHARS` (some 200 digits at least: no one reads that out) is replaced whole by CARD
without being searched.
"""

import logging
import re
from dataclasses import dataclass
from itertools import accumulate

CARD = "[REDACTED CARD]"
CVV = "[REDACTED CVV]"
SSN = "[REDACTED SSN]"
ACCOUNT = "[REDACTED ACCOUNT]"
ROUTING = "[REDACTED ROUTING]"
TRUNCATED = " [TRUNCATED]"
MAX_REDACT_CHARS = 10_000
MAX_RUN_CHARS = 4_096

_DIGIT_WORDS = {
    **dict.fromkeys(("zero", "oh", "o", "cero"), "0"),
    **dict.fromkeys(("one", "uno"), "1"),
    **dict.fromkeys(("two", "dos"), "2"),
    **dict.fromkeys(("three", "tres"), "3"),
    **dict.fromkeys(("four", "cuatro"), "4"),
    **dict.fromkeys(("five", "cinco"), "5"),
    **dict.fromkeys(("six", "seis"), "6"),
    **dict.fromkeys(("seven", "siete"), "7"),
    **dict.fromkeys(("eight", "ocho"), "8"),
    **dict.fromkeys(("nine", "nueve"), "9"),
}
_REPEATS = {"double": 2, "triple": 3}
_WORD_ALT = "|".join(sorted(_DIGIT_WORDS, key=len, reverse=True))
_FIRST = r"(?=[\dzotfsencud])"  # what a run can start with: a quick test before the alternatives
# Whitespace of any length and kind: callers of redact() need not normalise it first.
_SEP = r"(?:\s*+[-‐‑‒–—./,]\s*+|\s++)"
_SEP_CHARS = " \t\n\r\f\v-‐‑‒–—./,"
# Numbers that are not digit runs, tried before a plain numeral at the same place.
_BREAKER = (
    r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![.\d])"  # 192.168.1.10
    r"|(?<![\d/])\d{1,2}/\d{1,2}(?:/\d{2}(?:\d{2})?)?(?![/\d])"  # 03/15/2026, 01/27
    r"|(?<![\d./-])\d{4}[-./]\d{1,2}[-./]\d{1,2}(?![-./]?\d)"  # 2026-03-15
    r"|(?<![\d./-])\d{1,2}[-.]\d{1,2}[-.]\d{2}(?:\d{2})?(?![-.]?\d)"  # 15.03.2026, 03-15-26
    r"|(?<![\d.])\d++\.\d++(?!\.\d)"  # 0.4111111111111111
)
_NUMERAL = r"(?<![\w$£€¥])\d++(?!\w)"  # not glued to letters (ACC0000001, 15th) or after a currency
_WORD = rf"\b(?:(?:double|triple)\s++(?:(?:{_WORD_ALT})\b(?!['’])|\d(?!\w))|(?:{_WORD_ALT})\b(?!['’]))"
_MAY_BREAK = r"(?=\d++[-./]\d)"  # every breaker has this shape: a quick test before trying them
_ITEM = rf"(?>{_MAY_BREAK}(?:{_BREAKER})|{_NUMERAL}|{_WORD})"
_ITEMS = re.compile(rf"{_FIRST}(?>(?P<b>{_MAY_BREAK}(?:{_BREAKER}))|(?P<n>{_NUMERAL})|(?P<w>{_WORD}))", re.IGNORECASE)
_RUN = re.compile(rf"{_FIRST}{_ITEM}(?:{_SEP}{_ITEM})*", re.IGNORECASE)
# A value after a cue: a run of at most 32 groups (a longer run is not such a value).
_VALUE = re.compile(rf"{_ITEM}(?:{_SEP}{_ITEM}){{0,31}}(?!{_SEP}{_ITEM})", re.IGNORECASE)
_ANY_DIGIT = re.compile(rf"\d|\b(?:{_WORD_ALT})\b", re.IGNORECASE)
_AMOUNT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d\d")
_AMOUNT_AFTER = re.compile(r"\s*(?:dollars?|bucks|cents?|usd|pounds?|euros?|pesos?|percent|%)", re.IGNORECASE)
_CURRENCY_BEFORE = re.compile(r"[$£€¥]\s*$")

# Between a cue and its value: punctuation and a few small words ("the cvv number is 737").
_FILL = (
    r"(?:\W*+(?:is|are|was|were|it's|it’s|its|it|that's|that|be|would|should|will|number|numbers|no|code"
    r"|digits|the|my|his|her|their|our|your|uh|um|umm|er|ah|ok|okay|so|just|of|on|in|with|back|card|says|reads"
    r"|read|like|then|ends|ending|end|es|el|mi|su|número|numero|de|la)\b){0,6}\W*+"
)
_NOT_MARKER = r"(?<!\[REDACTED )"  # "[REDACTED CVV]" is no cue: redacting twice changes nothing
_CVV_NAME = (
    _NOT_MARKER + r"\b(?:cvv2?|cvc2?|cv2|cvn|cid|csc|(?:card\s+)?security\s+code|card\s+(?:verification\s+)?code"
    r"|verification\s+(?:code|number|value)|(?:three|four|3|4)[\s-]+digit\s+(?:code|number)"
    r"|(?:(?:three|four|3|4)\s+)?(?:digits?|numbers?|code)\s+on\s+the\s+back(?:\s+of\s+(?:the|my|your)\s+card)?"
    r"|c[oó]digo\s+de\s+seguridad)\b"
)
_CVV_AFTER = re.compile(r"\W*+(?:is|was|'s|’s)\s+(?:the\s+|my\s+)?" + _CVV_NAME, re.IGNORECASE)
_CARD_NEAR = re.compile(
    r"\b(?:card|visa|master\s*card|amex|american\s+express|discover|expir\w*|exp)\b|\[REDACTED CARD\]", re.IGNORECASE
)
_ROUTING_NEAR = re.compile(r"\b(?:routing|aba)\b", re.IGNORECASE)
_SORT_CODE = re.compile(r"\d\d-\d\d-\d\d")
_ENDS_IN = re.compile(r"\bend", re.IGNORECASE)
# Named just before a bare run of digit words, these say it is not an SSN.
_OTHER_ID = re.compile(
    r"\b(?:zip|postal|post\s+code|phone|cell|mobile|telephone|fax|call|text|account|acct|reference|ref|order"
    r"|confirmation|case|ticket|claim|policy|member|invoice|tracking|plate|vin|licen[cs]e|extension|ext|id|pin"
    r"|code|born|birth|dob|routing)\b",
    re.IGNORECASE,
)
_SSN_SEP = r"(?:[^\S\n]*-[^\S\n]*|[^\S\n]+)"
_SSN_FORMATTED = re.compile(rf"\d(?<![\w-]\d)\d{{2}}{_SSN_SEP}\d{{2}}{_SSN_SEP}\d{{4}}(?![\w-])")  # starts on a digit
_WORD_TAIL = re.compile(r"\w*")
_CLOSING = re.compile(r"[.,!?;:…'\"”’)]*")
_LEADING_FILLER = re.compile(
    r"(?:\W*+(?:and|uh|um|umm|er|then|ok|okay|so|yeah|yes|sorry|continuing|next|y)\b){0,3}\W*+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Cue:
    """Words after which a value of `sizes` digits is replaced by `marker`."""

    kind: str
    marker: str
    pattern: re.Pattern
    sizes: range | tuple[int, ...]
    keywords: tuple[str, ...]  # one must be in the lower-cased text, or the pattern is not tried
    needs: re.Pattern | None = None  # must be found within 80 characters of cue and value


_CUES = (
    _Cue(
        "cvv",
        CVV,
        re.compile(r"(?=[cvstf34dn])" + _CVV_NAME + _FILL, re.IGNORECASE),
        range(3, 9),
        ("cv", "cid", "csc", "security", "code", "verification", "back", "digit", "digo"),
    ),
    # "code" alone is the card's code only when a card was just named ("card: ..., code: 123").
    _Cue(
        "cvv",
        CVV,
        re.compile(r"(?=[cC])\b(?<!zip\s)(?<!area\s)(?<!post\s)(?<!postal\s)(?<!promo\s)code\b" + _FILL, re.IGNORECASE),
        (3, 4),
        ("code",),
        _CARD_NEAR,
    ),
    _Cue(
        "ssn",
        SSN,
        re.compile(
            r"(?=[lsS])(?P<last4>\blast\s+(?:four|4)(?:\s+(?:digits|numbers))?\s+(?:of|on|from|in)\s+"
            r"(?:(?:my|your|the|his|her)\s+)?)?"
            + _NOT_MARKER
            + r"\b(?:social\s+security(?:\s+(?:number|no\.?|#))?|social(?:\s+(?:number|no\.?))?|ssn|s\.s\.n\.?|ss#"
            r"|seguro\s+social)" + _FILL,
            re.IGNORECASE,
        ),
        (9,),
        ("social", "ssn", "s.s.n", "ss#", "seguro"),
    ),
    _Cue(
        "routing",
        ROUTING,
        re.compile(
            r"(?=[rastn])"
            + _NOT_MARKER
            + r"\b(?:routing|aba|transit|sort\s+code|n[uú]mero\s+de\s+ruta)(?:\s+(?:number|no\.?|#|code))?"
            + _FILL,
            re.IGNORECASE,
        ),
        range(6, 13),
        ("routing", "aba", "transit", "sort", "ruta"),
    ),
    _Cue(
        "bank_account",
        ACCOUNT,
        re.compile(
            r"(?=[bcsdai])"
            + _NOT_MARKER
            + r"\b(?:(?:bank|checking|chequing|savings|deposit)\s+account(?:\s+(?:number|no\.?|#))?"
            r"|(?:checking|savings|chequing)\s+(?:number|no\.?|#)"
            r"|account\s+(?:number\s+)?(?:at|with)\s+(?:my\s+|the\s+)?(?:bank|credit\s+union)"
            r"|cuenta\s+(?:bancaria|de\s+cheques|de\s+ahorros?)|iban)" + _FILL,
            re.IGNORECASE,
        ),
        range(5, 18),
        ("account", "checking", "savings", "chequing", "cuenta", "iban"),
    ),
    # An "account number" is ours (it identifies the caller) unless routing is named nearby.
    _Cue(
        "bank_account",
        ACCOUNT,
        re.compile(r"(?=[aA])" + _NOT_MARKER + r"\baccount(?:\s+(?:number|no\.?|#))?" + _FILL, re.IGNORECASE),
        range(5, 18),
        ("routing", "aba"),
        _ROUTING_NEAR,
    ),
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


# --- digit runs ---------------------------------------------------------------------------------

# An item of a run: (start, end, digits, kind); kind "n" a numeral, "w" a digit word, "b" a breaker.
Item = tuple[int, int, str, str]


def _items(text: str, start: int, end: int) -> list[Item]:
    items: list[Item] = []
    for m in _ITEMS.finditer(text, start, end):
        kind, value = m.lastgroup or "n", m[0]
        if kind == "w":
            low = value.lower()
            digits = _DIGIT_WORDS.get(low)
            if digits is None:  # "double eight", "triple 1"
                repeat, _, word = low.partition(" ")
                word = word.strip()
                digits = _DIGIT_WORDS.get(word, word) * _REPEATS[repeat]
            value = digits
        elif kind == "b":
            value = re.sub(r"\D", "", value)
        items.append((m.start(), m.end(), value, kind))
    return items


def _segments(text: str, items: list[Item]) -> list[list[Item]]:
    """The run split where it holds a date, decimal or address; less an "oh," said as an interjection."""
    segments: list[list[Item]] = [[]]
    for item in items:
        if item[3] == "b":
            segments.append([])
        else:
            segments[-1].append(item)
    kept = []
    for segment in segments:
        if (
            len(segment) > 1
            and segment[0][2:] == ("0", "w")
            and re.search(r"[,.]", text[segment[0][1] : segment[1][0]])
        ):
            segment = segment[1:]
        if segment:
            kept.append(segment)
    return kept


def _holds_card(segment: list[Item]) -> bool:
    digits = "".join(item[2] for item in segment)
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return True
    if len(digits) < 13:
        return False
    # Luhn sums of every stretch from prefix sums: a digit is doubled when it stands an odd number
    # of places before the stretch's last one, so there is one table per parity of that place.
    plain = [ord(char) - 48 for char in digits]
    doubled = [d * 2 - 9 if d > 4 else d * 2 for d in plain]
    even_last, odd_last = plain[:], doubled[:]
    even_last[1::2], odd_last[1::2] = doubled[1::2], plain[1::2]
    tables = ([0, *accumulate(odd_last)], [0, *accumulate(even_last)])  # by the parity of the end
    bounds = [0, *accumulate(len(item[2]) for item in segment)]
    is_bound = bytearray(len(digits) + 20)
    for bound in bounds:
        is_bound[bound] = 1
    for index, start in enumerate(bounds[:-1]):
        if digits[start] not in "23456":
            continue
        # Inside one numeral of 17 to 24 digits, 15 or 16 of them: a card with expiry or code glued on.
        glued = (15, 16) if 17 <= bounds[index + 1] - start <= 24 else ()
        for end in range(start + 13, min(start + 20, len(digits) + 1)):
            if (is_bound[end] or end - start in glued) and (tables[end % 2][end] - tables[end % 2][start]) % 10 == 0:
                return True
    return False


def _runs(text: str, found: list[str]) -> str:
    """Cards, codes said before their cue, and bare spoken SSNs: what a digit run is by itself."""
    out: list[str] = []
    last = 0
    for run in _RUN.finditer(text):
        start, end = run.span()
        if end - start > MAX_RUN_CHARS:
            segments = [[(start, end, "", "n")]]
        elif end - start < 13 and not _CVV_AFTER.match(text, end):
            continue  # too short for a card or nine digit words: only a code said before its cue
        elif _CURRENCY_BEFORE.search(text, max(0, start - 3), start):
            continue
        else:
            segments = _segments(text, _items(text, start, end))
        for segment in segments:
            digits = "".join(item[2] for item in segment)
            start, end = segment[0][0], segment[-1][1]
            marker = kind = ""
            if end - start > MAX_RUN_CHARS or _holds_card(segment):
                # The rest of the run goes with the card, dates too: "4111 ... 1111 12/27 737".
                marker, kind, end = CARD, "card", segments[-1][-1][1]
            elif 3 <= len(digits) <= 4 and _CVV_AFTER.match(text, end):
                marker, kind = CVV, "cvv"
            elif (
                len(digits) == 9
                and all(item[3] == "w" for item in segment)
                and not _OTHER_ID.search(text, max(0, start - 60), start)
            ):
                marker, kind = SSN, "ssn"
            if marker:
                out += [text[last:start], marker]
                last = end
                found.append(kind)
                if kind == "card":
                    break
    out.append(text[last:])
    return "".join(out)


# --- values after a cue -------------------------------------------------------------------------


def _cued(text: str, found: list[str], cue: _Cue) -> str:
    out: list[str] = []
    last = 0
    for m in cue.pattern.finditer(text):
        if m.start() < last:
            continue
        value = _VALUE.match(text, m.end())
        if value is None or _AMOUNT.fullmatch(value.group()) or _AMOUNT_AFTER.match(text, value.end()):
            continue
        items = _items(text, value.start(), value.end())
        if any(item[3] == "b" for item in items) and not (cue.kind == "routing" and _SORT_CODE.fullmatch(value[0])):
            continue  # a date or a decimal is no such value; a sort code (20-00-00) looks like a date
        digits = "".join(item[2] for item in items)
        sizes = cue.sizes
        if cue.kind == "ssn" and (m.group("last4") or _ENDS_IN.search(m.group())):
            sizes = (4, 9)  # "the last four of my social", "my social ends in"
        if len(digits) not in sizes:
            continue
        if cue.needs and not cue.needs.search(text, max(0, m.start() - 80), value.end() + 80):
            continue
        out += [text[last : value.start()], cue.marker]
        last = value.end()
        found.append(cue.kind)
    out.append(text[last:])
    return "".join(out)


# --- the public functions -----------------------------------------------------------------------


def _cut(text: str) -> str:
    """The text up to the limit, less a word or digit run the limit cuts (its rest is not there to check)."""
    kept = text[:MAX_REDACT_CHARS]
    if text[MAX_REDACT_CHARS].isalnum():
        tail = _WORD_TAIL.match(kept[::-1])
        kept = kept[: len(kept) - (tail.end() if tail else 0)]
    window = 256
    while True:  # the last run, looked for in a growing tail: a run may start before a window
        begin = max(0, len(kept) - window)
        runs = list(_RUN.finditer(kept, begin))
        if not runs or kept[runs[-1].end() :].strip(_SEP_CHARS):
            return kept.rstrip()
        if len(runs) > 1 or begin == 0:
            break
        window *= 4
    run = runs[-1]
    whole = _RUN.match(text, run.start(), MAX_REDACT_CHARS + 64)
    return (kept[: run.start()] if whole and whole.end() > run.end() else kept).rstrip()


def redact(text: str) -> tuple[str, list[str]]:
    """The text with sensitive data replaced, and the kinds found, one per redaction: "card",
    "cvv", "ssn", "routing", "bank_account". Text past MAX_REDACT_CHARS is replaced by TRUNCATED
    (not reported as a kind)."""
    truncated = len(text) > MAX_REDACT_CHARS
    if truncated:
        text = _cut(text)
    found: list[str] = []
    if _ANY_DIGIT.search(text):
        text = _runs(text, found)
        lower = text.lower()
        for cue in _CUES:
            if any(word in lower for word in cue.keywords):
                text = _cued(text, found, cue)
        text, count = _SSN_FORMATTED.subn(SSN, text)
        found += ["ssn"] * count
    return (text + TRUNCATED if truncated else text), found


def redact_text(text: str) -> str:
    return redact(text)[0]


def split_card(*turns: str) -> tuple[str, ...] | None:
    """A card number read out over consecutive turns of one speaker: `split_card(previous, current)`,
    or more turns, oldest first. It is in the digit run the last turn starts with (after
    punctuation and fillers such as "and", "uh") joined to the run the turn before ends with (not
    named as a ZIP code, phone number, ... just before); a turn in between must be nothing but a
    digit run. When the joined runs hold a card number (as `redact` finds one in a run), the turns
    are returned with those runs replaced by CARD; else None. The turns are expected redacted
    already, each on its own."""
    if len(turns) < 2:
        return None
    turns = tuple(turn[:MAX_REDACT_CHARS] for turn in turns)
    last = turns[-1]
    filler = _LEADING_FILLER.match(last)
    lead = _RUN.match(last, filler.end() if filler else 0)
    if lead is None:
        return None
    parts = {len(turns) - 1: lead.span()}
    for index in range(len(turns) - 2, -1, -1):
        turn, runs = turns[index], list(_RUN.finditer(turns[index]))
        run = runs[-1] if runs else None
        if (
            run is None
            or turn[run.end() :].strip(_SEP_CHARS + "\n;:!?…")
            or _OTHER_ID.search(turn, max(0, run.start() - 40), run.start())
        ):
            return None
        parts[index] = run.span()
        items = [item for at in sorted(parts) for item in _items(turns[at], *parts[at])]
        if len(items) > 64 or any(item[3] == "b" for item in items):
            return None
        if _holds_card(items):
            out = list(turns)
            for at, (start, end) in parts.items():
                out[at] = out[at][:start] + CARD + out[at][end:]
            return tuple(out)
        if turn[: run.start()].strip():
            return None  # the run does not fill this turn: it cannot go on in the one before
    return None


def heard_prefix(heard: str, said: str) -> str:
    """What of the agent's reply the caller heard before cutting it off, taken from what the agent
    said: `heard` (Twilio's utteranceUntilInterrupt) should be a prefix of `said`. Compared without
    case, spacing or punctuation, as speech synthesis and recognition change them. Returned: the
    redacted `said` up to where `heard` ends; if `heard` strays from `said`, up to the last whole
    word both share (empty if none). Never text the agent did not say."""
    said = redact_text(said)
    heard = heard[: 2 * len(said) + 100]
    said_chars, said_at, said_ends = _letters(said)
    heard_chars, _, heard_ends = _letters(heard)
    shared = 0
    for a, b in zip(said_chars, heard_chars, strict=False):
        if a != b:
            break
        shared += 1
    if shared < len(heard_chars):
        while shared and not (said_ends[shared - 1] and heard_ends[shared - 1]):
            shared -= 1
    if not shared:
        return ""
    end = said_at[shared - 1] + 1
    closing = _CLOSING.match(said, end)
    if said_ends[shared - 1] and closing:  # the word's own punctuation: "today?"
        end = closing.end()
    return said[:end]


def _letters(text: str) -> tuple[list[str], list[int], list[bool]]:
    """The text's letters and digits, lower case; where each stands; whether it ends a word."""
    chars, at = [], []
    for index, char in enumerate(text):
        if char.isalnum():
            chars.append(char.casefold())
            at.append(index)
    ends = [i + 1 == len(at) or at[i + 1] != at[i] + 1 for i in range(len(at))]
    return chars, at, ends


class RedactingFilter(logging.Filter):
    """Logging filter: a formatted record never carries a card number, CVV, SSN or bank details,
    neither in its message nor in the traceback it carries."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted, _ = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True
