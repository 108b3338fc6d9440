"""Figures in English text, written ("$1,250.50", "11/28") and spoken ("twelve hundred fifty dollars").

Two directions: the agent renders amounts and dates as words for the phone (`spoken_money`, `spoken_date`,
...), and the grounding checker finds every figure in what the agent or a caller said (`find_numbers`,
`find_dates`) to compare it with the facts on file. Pure functions, no I/O.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from apps.agent.number_words import (
    CENT,
    MONTH_NAMES,
    NUMBER_WORDS,
    ORDINALS,
    SCALES,
    WEEKDAY_NAMES,
    parse_number_words,
    parse_spoken_year,
    spoken_date,
    spoken_digits,
    spoken_duration_minutes,
    spoken_money,
    spoken_number,
    spoken_ordinal,
    words_to_number,
    written_date,
    written_money,
)

__all__ = [
    "DateMention",
    "NumberMention",
    "find_dates",
    "find_numbers",
    "spoken_date",
    "spoken_digits",
    "spoken_duration_minutes",
    "spoken_money",
    "spoken_number",
    "spoken_ordinal",
    "words_to_number",
    "written_date",
    "written_money",
]

MONTHS = (
    {name.lower(): i for i, name in enumerate(MONTH_NAMES, 1)}
    | {name.lower()[:3]: i for i, name in enumerate(MONTH_NAMES, 1)}
    | {"sept": 9}
)
WEEKDAYS = {name.lower(): i for i, name in enumerate(WEEKDAY_NAMES)}

CURRENCY_CODES = frozenset({"usd", "cad", "aud", "nzd", "gbp", "eur", "mxn", "chf", "jpy", "inr"})
MAJOR_WORDS = frozenset(
    {"dollar", "dollars", "buck", "bucks", "pound", "pounds", "quid", "euro", "euros", "peso", "pesos", *CURRENCY_CODES}
)
MINOR_WORDS = frozenset({"cent", "cents", "penny", "pence", "pennies", "centavo", "centavos"})


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words just before a bare digit run that make it an identifier rather than a quantity...
_ID_CUES = _wordset(
    "zip zipcode postal code pin account acct number no digits four ending ends ssn social id "
    "reference ref confirmation extension ext policy member plate vin unit apt apartment suite "
    "room flight order ticket case claim invoice card last"
)
# ...and words that make it an amount.
_PAY_CUES = _wordset(
    "pay paying paid payment owe owed afford send balance amount total offer do give about around only just"
)
_STREET_WORDS = _wordset(
    "street st avenue ave road rd boulevard blvd drive dr lane ln way court ct place pl "
    "highway hwy parkway pkwy terrace circle broadway main"
)


_STARTERS = NUMBER_WORDS | CURRENCY_CODES | {"a"}


@dataclass(frozen=True)
class NumberMention:
    value: Decimal
    start: int
    end: int
    raw: str
    kind: str  # "money" | "ordinal" | "digits" | "number"


@dataclass(frozen=True)
class DateMention:
    value: date
    start: int
    end: int
    raw: str


# ---------------------------------------------------------------------------------------------- numbers

_TOKEN_RE = re.compile(
    r"(?P<sym>(?:us|ca|c|au|a|nz|mx)\$|[$£€])"
    r"|(?P<num>\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?)(?:(?P<suf>st|nd|rd|th)(?![A-Za-z]))?"
    r"|(?P<word>[a-z]+(?:['’][a-z]+)*)"
    r"|(?P<punct>\S)"
)
# The kind of token each group of _TOKEN_RE makes, keyed by `Match.lastgroup` (a number's ordinal
# suffix is part of the number). Every alternative is a named group: a match always has one.
_TOKEN_KINDS: dict[str | None, str] = {"sym": "sym", "num": "num", "suf": "num", "word": "word", "punct": "punct"}
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only, so every index into the result is an index into ``text`` too."""
    return text.translate(_ASCII_LOWER)


class _Tok(NamedTuple):  # a NamedTuple: tokens are made per word on every turn, and this is the cheap kind
    kind: str
    text: str
    low: str
    start: int
    end: int
    ordinal: bool


def _tokenize(text: str) -> list[_Tok]:
    return [
        _Tok(
            _TOKEN_KINDS[m.lastgroup],
            m.group("num") or m.group(),  # a number's text leaves out its ordinal suffix
            m.group(),
            m.start(),
            m.end(),
            m.group("suf") is not None,
        )
        for m in _TOKEN_RE.finditer(ascii_lower(text))
    ]


def _word_stream(toks: list[_Tok]) -> list[str]:
    """What `parse_number_words` sees: words, "-" only when it joins two words ("twenty-five"), else a blank."""
    out = []
    for i, tok in enumerate(toks):
        if tok.kind == "word":
            out.append(tok.low)
        elif (
            tok.text == "-"
            and 0 < i < len(toks) - 1
            and toks[i - 1].end == tok.start
            and toks[i + 1].start == tok.end
            and toks[i + 1].kind == "word"
        ):
            out.append("-")
        else:
            out.append("")
    return out


def _plain_int(tok: _Tok) -> bool:
    return tok.kind == "num" and not tok.ordinal and tok.text.isdigit()


def _amount_at(toks: list[_Tok], words: list[str], j: int) -> tuple[Decimal, int] | None:
    """A plain (non-ordinal) number at j, as digits or words: (value, end)."""
    if j >= len(toks):
        return None
    if toks[j].kind == "num":
        return None if toks[j].ordinal else (Decimal(toks[j].text.replace(",", "")), j + 1)
    parsed = parse_number_words(words, j)
    if parsed is None or parsed[2]:
        return None
    return parsed[0], parsed[1]


def _reads_like_identifier(toks: list[_Tok], j: int) -> bool:
    digits = toks[j].text
    if digits[0] == "0" or len(digits) >= 5:
        return True
    prev = toks[j - 1] if j else None
    nxt = toks[j + 1] if j + 1 < len(toks) else None
    # "I-880", "555-0100", "(415)"
    if prev is not None and prev.text == "-" and prev.end == toks[j].start and j >= 2 and toks[j - 2].end == prev.start:
        return True
    if (
        nxt is not None
        and nxt.text == "-"
        and nxt.start == toks[j].end
        and j + 2 < len(toks)
        and toks[j + 2].kind == "num"
        and toks[j + 2].start == nxt.end
    ):
        return True
    if (prev is not None and prev.text == "(") or (nxt is not None and nxt.text == ")"):
        return True
    if nxt is not None and nxt.kind == "word" and nxt.low in _STREET_WORDS:
        return True
    if prev is not None and prev.text == "#":
        return True
    seen = 0
    for k in range(j - 1, -1, -1):
        if toks[k].kind != "word":
            continue
        if toks[k].low in _PAY_CUES or toks[k].low in MAJOR_WORDS:
            return False
        if toks[k].low in _ID_CUES:
            return True
        seen += 1
        if seen == 3:
            break
    value = int(digits)
    if len(digits) == 4 and 1900 <= value <= 2099:
        return False
    return not digits.endswith("0")


def _ordinal_word_in_context(toks: list[_Tok], j: int, k: int) -> bool:
    """Ordinal words count only next to a month or after "the" (so "first of all" is not a figure)."""
    if k - j > 1:  # "twenty-eighth", "thirty first": unambiguous
        return True
    prev = next((t for t in reversed(toks[:j]) if t.kind == "word"), None) if j else None
    if prev is not None and (prev.low == "the" or prev.low in MONTHS):
        return True
    after = [t.low for t in toks[k : k + 2]]
    return bool(after) and (after[0] in MONTHS or (after[0] == "of" and len(after) > 1 and after[1] in MONTHS))


def _mention_at(text: str, toks: list[_Tok], words: list[str], i: int) -> tuple[NumberMention, int] | None:
    n = len(toks)
    tok = toks[i]
    j = i
    prefixed = False
    if tok.kind == "sym" or (tok.kind == "word" and tok.low in CURRENCY_CODES):
        if i + 1 >= n or toks[i + 1].kind != "num" or toks[i + 1].ordinal:
            return None
        prefixed, j = True, i + 1
    core = toks[j]
    ordinal = False
    from_words = False
    if core.kind == "num":
        value = Decimal(core.text.replace(",", ""))
        ordinal = core.ordinal
        k = j + 1
        if _plain_int(core) and k + 1 < n and words[k] == "point" and _plain_int(toks[k + 1]):
            value, k = Decimal(f"{core.text}.{toks[k + 1].text}"), k + 2
        elif not ordinal and k < n and words[k] in SCALES:
            value, k = value * SCALES[words[k]], k + 1
    elif core.kind == "word":
        parsed = parse_number_words(words, j)
        if parsed is None:
            return None
        value, k, ordinal = parsed
        from_words = True
    else:
        return None

    major, minor = prefixed, False
    if not ordinal and k < n and words[k] in MAJOR_WORDS:
        major, k = True, k + 1
    elif not ordinal and not prefixed and k < n and words[k] in MINOR_WORDS:
        value, minor, k = value / 100, True, k + 1
    if major:  # "... dollars and fifty cents", "$1,250 and 50 cents"
        m = k + 1 if k < n and words[k] == "and" else k
        cents = _amount_at(toks, words, m)
        if cents is not None and cents[0] < 100 and cents[1] < n and words[cents[1]] in MINOR_WORDS:
            value, k = value + cents[0] / 100, cents[1] + 1
    money = major or minor

    if money:
        kind = "money"
        if value.as_tuple().exponent >= -2:  # type: ignore[operator]
            value = value.quantize(CENT)
    elif ordinal:
        if from_words and not _ordinal_word_in_context(toks, j, k):
            return None
        kind = "ordinal"
    elif from_words and k == j + 1 and words[j] == "one":
        return None  # "one moment", "the one", "no one"
    elif core.kind == "num" and k == j + 1 and core.text.isdigit() and len(core.text) >= 3:
        kind = "digits" if _reads_like_identifier(toks, j) else "number"
    else:
        kind = "number"
    start, end = toks[i].start, toks[k - 1].end
    return NumberMention(value=value, start=start, end=end, raw=text[start:end], kind=kind), k


def find_numbers(text: str) -> list[NumberMention]:
    """Every figure in ``text``, in order and non-overlapping, with spans into ``text``.

    Kinds: "money" (a currency symbol, code or word is attached), "ordinal" ("28th"; ordinal words only
    next to a month or after "the", or compound like "twenty-eighth"), "digits" (3+ bare digits that read
    like an identifier: a leading zero, 5+ digits, a cue such as "zip"/"last four"/"account" before it, a
    street word after it, part of a dashed or bracketed group, or 3-4 digits not ending in 0 that are not a
    year 1900-2099 and have no paying word just before them), "number" (everything else). The bare word
    "one" is not a figure ("one moment", "no one") unless a currency word follows or it starts a larger number.
    """
    toks = _tokenize(text)
    words = _word_stream(toks)
    out: list[NumberMention] = []
    i = 0
    while i < len(toks):
        if toks[i].kind == "punct" or (toks[i].kind == "word" and toks[i].low not in _STARTERS):
            i += 1
            continue
        found = _mention_at(text, toks, words, i)
        if found is None:
            i += 1
        else:
            out.append(found[0])
            i = found[1]
    return out


# ---------------------------------------------------------------------------------------------- dates

_MONTH = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_UNIT_ORD = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth"
_UNIT_CARD = "one|two|three|four|five|six|seven|eight|nine"
_TEEN = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_DAY_ORD = (
    rf"(?:twenty|thirty)[\s-]?(?:{_UNIT_ORD})|{_UNIT_ORD}|tenth|eleventh|twelfth|thirteenth|fourteenth"
    r"|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth"
)
_DAY_CARD = rf"(?:twenty|thirty)[\s-]?(?:{_UNIT_CARD})|twenty|thirty|{_TEEN}|{_UNIT_CARD}"
_DAY_DIGITS = r"\d{1,2}(?:st|nd|rd|th)?"
_TENS_UNITS = rf"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[\s-]+(?:{_UNIT_CARD}))?|{_TEEN}"
_YEAR = (
    rf"(?:(?:19|20)\d{{2}}|(?:nineteen|twenty)[\s-]+(?:hundred|oh[\s-]+(?:{_UNIT_CARD})|{_TENS_UNITS})"
    rf"|two[\s-]+thousand(?:[\s-]+(?:and[\s-]+)?(?:{_TENS_UNITS}|{_UNIT_CARD}))?)\b"
    r"(?!\s*(?:dollars?|bucks?|cents?|pounds?|euros?|pesos?|%|percent))"
)
_YEAR_TAIL = rf"(?:(?:\s*,\s*|\s+)(?P<year>{_YEAR}))?"
_NOUNS = (
    r"time|times|one|ones|thing|things|step|payment|payments|installment|person|people|call|calls|place|option"
    r"|half|week|weeks|month|months|year|years|day|days|minute|minutes|hour|hours|number|digit|digits|name|car"
    r"|lane|exit|street|floor|line|item|question|bill|notice|page|attempt|party|dollars?|bucks?|percent|quarter"
)

_DATE_PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern)
    for name, pattern in {
        "month_day": rf"\b(?:(?P<wd>{_WEEKDAY})\s*,?\s*(?:the\s+)?)?(?P<month>{_MONTH})\b\.?\s*(?:the\s+)?"
        rf"(?P<day>{_DAY_DIGITS}|{_DAY_ORD}|{_DAY_CARD})\b{_YEAR_TAIL}",
        "day_month": rf"\b(?:(?P<wd>{_WEEKDAY})\s*,?\s*)?(?:the\s+)?(?P<day>{_DAY_DIGITS}|{_DAY_ORD})\s+"
        rf"(?P<of>of\s+)?(?P<month>{_MONTH})\b\.?{_YEAR_TAIL}",
        "iso": r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b",
        "numeric": r"(?<![\d/.-])(?P<month>\d{1,2})(?P<sep>[/.-])(?P<day>\d{1,2})(?:(?P=sep)(?P<year>\d{4}|\d{2}))?"
        r"(?![\d/]|[.-]\d)",
        "relative": r"\b(?P<rel>(?:the\s+)?day\s+after\s+tomorrow|tomorrow|today|tonight|yesterday)\b",
        "weekday": rf"\b(?:(?P<mod>this\s+coming|this|next|coming|last)\s+)?(?P<wd>{_WEEKDAY})\b"
        rf"(?P<nw>\s+(?:of\s+)?next\s+week\b)?|\bnext\s+week\s+(?:on\s+)?(?P<wd2>{_WEEKDAY})\b",
        "weekday_day": rf"\b(?P<wd>{_WEEKDAY})\s*,?\s*(?:the\s+(?P<day>\d{{1,2}}(?:st|nd|rd|th)?|{_DAY_ORD})"
        r"|(?P<dayb>\d{1,2}(?:st|nd|rd|th)))\b",
        "offset": rf"\bin\s+(?:about\s+|around\s+)?(?P<n>\d{{1,3}}|an?|{_UNIT_CARD}|{_TEEN}|twenty|thirty|"
        rf"(?:a\s+)?couple(?:\s+of)?|(?:a\s+)?few)\s+(?P<unit>days?|weeks?|months?)\b"
        rf"|\b(?P<n2>\d{{1,3}}|an?|{_UNIT_CARD}|{_TEEN}|twenty|thirty)\s+(?P<unit2>days?|weeks?|months?)\s+"
        r"from\s+(?:now|today)\b",
        "period": rf"\b(?:the\s+)?end\s+of\s+(?:(?P<which>the|this|next)\s+)?(?P<unit>month|week)\b|\bnext\s+week\b"
        rf"|\b(?:the\s+)?(?P<day>{_DAY_DIGITS}|{_DAY_ORD})\s+of\s+(?P<which2>the|this|next)\s+month\b"
        r"|\b(?:the\s+)?(?:beginning|start)\s+of\s+(?P<which3>the|next)\s+month\b",
        "day_of_month": rf"\bthe\s+(?P<day>\d{{1,2}}(?:st|nd|rd|th)|{_DAY_ORD})\b(?!\s+(?:{_NOUNS})\b)"
        rf"|\b(?:on|by|before|until|till)\s+the\s+(?P<day2>\d{{1,2}})\b(?!\s*(?:{_NOUNS}|:|\.\d))"
        rf"|\b(?P<day3>\d{{1,2}}(?:st|nd|rd|th))\b(?!\s+(?:{_NOUNS})\b)",
    }.items()
}

# A pattern runs only when one of its words is in the text (Python's re is slow at scanning for alternations).
_DATE_GATES = {
    "month_day": frozenset(MONTHS),
    "day_month": frozenset(MONTHS),
    "relative": frozenset({"today", "tomorrow", "tonight", "yesterday"}),
    "weekday": frozenset(WEEKDAYS),
    "weekday_day": frozenset(WEEKDAYS),
    "offset": frozenset({"day", "days", "week", "weeks", "month", "months"}),
    "period": frozenset({"end", "week", "month", "beginning", "start"}),
}
_WORD_RE = re.compile(r"[a-z]+")
_DATE_DIGIT_RE = re.compile(r"\d")
_ORDINAL_WORDS = frozenset(ORDINALS)
_LEADING_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")


def _day_value(raw: str) -> int | None:
    raw = raw.lower()
    if raw[:1].isdigit():
        return int(_LEADING_DIGITS.match(raw).group())  # type: ignore[union-attr]
    value = words_to_number(raw.replace("-", " "))
    return int(value) if value is not None else None


def _year_value(raw: str, today: date) -> int | None:
    if raw.isdigit():
        if len(raw) == 2:
            yy = int(raw)
            return (2000 if yy <= today.year % 100 + 20 else 1900) + yy
        return int(raw)
    return parse_spoken_year(raw)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _clamped(year: int, month: int, day: int) -> date:
    while month > 12:
        year, month = year + 1, month - 12
    last = _last_day(year, month)
    return date(year, month, min(day, last.day))


def _last_day(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def _next_month_day(month: int, day: int, today: date) -> date | None:
    for year in range(today.year, today.year + 9):
        found = _safe_date(year, month, day)
        if found is not None and found >= today:
            return found
    return None


def _with_weekday(month: int, day: int, weekday: int, today: date) -> date | None:
    """A yearless month/day said with a weekday: the year that makes the weekday true, nearest to today."""
    first = _next_month_day(month, day, today)
    if first is None or first.weekday() == weekday:
        return first
    fits = [
        d for y in range(today.year - 1, today.year + 8) if (d := _safe_date(y, month, day)) and d.weekday() == weekday
    ]
    return min(fits, key=lambda d: abs((d - today).days)) if fits else first


def _day_of_month(day: int, today: date, weekday: int | None = None) -> date | None:
    if not 1 <= day <= 31:
        return None
    if weekday is not None:
        for ahead in range(15):
            found = _safe_date(today.year + (today.month + ahead - 1) // 12, (today.month + ahead - 1) % 12 + 1, day)
            if found is not None and found >= today and found.weekday() == weekday:
                return found
    this_month = _clamped(today.year, today.month, day)
    return this_month if this_month >= today else _clamped(today.year, today.month + 1, day)


def _weekday_date(weekday: int, modifier: str, today: date) -> date:
    if modifier == "last":
        return today - timedelta(days=(today.weekday() - weekday) % 7 or 7)
    ahead = (weekday - today.weekday()) % 7 or 7
    if modifier == "next" and ahead <= 2:
        ahead += 7
    return today + timedelta(days=ahead)


_UNIT_CARD_WORDS = frozenset(_UNIT_CARD.split("|"))
_COUNT_WORDS = {"a": 1, "an": 1, "couple": 2, "couple of": 2, "a couple": 2, "a couple of": 2, "few": 3, "a few": 3}


def _resolve(kind: str, m: re.Match[str], today: date) -> date | None:
    g = m.groupdict()
    if kind in ("month_day", "day_month"):
        month = MONTHS[g["month"].lower()[:3]]
        day = _day_value(g["day"])
        if day is None or (month == 5 and kind == "day_month" and not g["of"] and not g["year"]):
            return None  # "the fifth may work"
        if kind == "month_day" and month == 5 and g["day"].lower() in _UNIT_CARD_WORDS:
            return None  # "I may one day"
        if g["year"]:
            year = _year_value(g["year"], today)
            return _safe_date(year, month, day) if year else None
        if g["wd"]:
            return _with_weekday(month, day, WEEKDAYS[g["wd"].lower()], today)
        return _next_month_day(month, day, today)
    if kind in ("iso", "numeric"):
        month, day = int(g["month"]), int(g["day"])
        if kind == "numeric" and g["sep"] != "/" and not g["year"]:
            return None  # "3-4", "1.5"
        if g["year"]:
            return _safe_date(_year_value(g["year"], today) or 0, month, day) if month <= 12 else None
        return _next_month_day(month, day, today) if 1 <= month <= 12 else None
    if kind == "relative":
        rel = g["rel"].lower()
        offset = {"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1}.get(rel, 2)
        return today + timedelta(days=offset)
    if kind == "weekday":
        if g["nw"] or g["wd2"]:  # "Friday next week": that weekday in the coming Monday-to-Sunday week
            return today + timedelta(days=7 - today.weekday() + WEEKDAYS[g["wd"] or g["wd2"]])
        return _weekday_date(WEEKDAYS[g["wd"]], g["mod"] or "", today)
    if kind == "weekday_day":
        day = _day_value(g["day"] or g["dayb"])
        return _day_of_month(day, today, WEEKDAYS[g["wd"].lower()]) if day else None
    if kind == "offset":
        count_raw = _SPACES.sub(" ", g["n"] or g["n2"])
        count = int(count_raw) if count_raw.isdigit() else _COUNT_WORDS.get(count_raw) or _day_value(count_raw)
        unit = (g["unit"] or g["unit2"]).lower()
        if count is None:
            return None
        if unit.startswith("month"):
            return _clamped(today.year, today.month + count, today.day)
        return today + timedelta(days=count * (7 if unit.startswith("week") else 1))
    if kind == "period":
        if g["unit"]:
            if g["unit"].lower() == "week":
                return _weekday_date(4, "", today - timedelta(days=1))  # the coming Friday, today included
            month = today.month + (1 if (g["which"] or "").lower() == "next" else 0)
            return _clamped(today.year, month, 31)
        if g["day"]:
            day = _day_value(g["day"])
            if not day or not 1 <= day <= 31:
                return None
            if g["which2"].lower() == "next":
                return _clamped(today.year, today.month + 1, day)
            return _day_of_month(day, today)
        if g["which3"]:
            return _clamped(today.year, today.month + 1, 1)
        return today + timedelta(days=7)  # "next week"
    day = _day_value(g["day"] or g["day2"] or g["day3"])
    return _day_of_month(day, today) if day else None


def find_dates(text: str, today: date) -> list[DateMention]:
    """Every date in ``text`` resolved against ``today``, in order and non-overlapping.

    Rules:
    - "today"/"tonight", "tomorrow", "the day after tomorrow", "yesterday".
    - A weekday ("Friday", "this Friday", "coming Friday") is the next date with that weekday strictly
      after today. "next Friday" is the same date when that is more than two days away, else a week later.
      "last Friday" is the most recent one strictly before today. "Friday next week" / "next week on Friday"
      is the Friday of the coming Monday-to-Sunday week.
    - "in N days/weeks/months", "N days from now", "in a week", "in a couple of days" (2), "a few" (3);
      "next week" is today + 7; "end of the month" its last day, "end of next month", "end of the week" the
      coming Friday (today included); "the 15th of next month"; "the beginning of next month" is its 1st.
    - A day of month alone ("the 15th", "on the fifteenth", "28th") is this month's if today or later, else
      next month's; days past the month's end clamp to it (31 → 30 in November).
    - Month and day in either order, digits or words, optional year ("Nov 28th", "28 November",
      "the twenty-eighth of November", "November 28, 2026", "March fifth nineteen eighty-five"). Without a
      year: the next occurrence on or after today; said with a weekday ("Friday, November 28"), the year
      nearest today in which that weekday is right. Explicit invalid dates (February 30) are dropped.
    - Numeric US month/day "11/28", "11/28/2026", "11-28-2026", two-digit years; ISO "2026-11-28".
    """
    low = ascii_lower(text)
    words = set(_WORD_RE.findall(low))
    found: list[tuple[int, int, date]] = []
    for kind, pattern in _DATE_PATTERNS.items():
        gate = _DATE_GATES.get(kind)
        if gate is not None and gate.isdisjoint(words):
            continue
        if (
            kind in ("iso", "numeric", "day_of_month")
            and not _DATE_DIGIT_RE.search(low)
            and (kind != "day_of_month" or _ORDINAL_WORDS.isdisjoint(words))
        ):
            continue
        for m in pattern.finditer(low):
            value = _resolve(kind, m, today)
            if value is not None:
                found.append((m.start(), m.end(), value))
    found.sort(key=lambda item: (item[0], item[0] - item[1]))
    out: list[DateMention] = []
    for start, end, value in found:
        if out and start < out[-1].end:
            continue
        out.append(DateMention(value=value, start=start, end=end, raw=text[start:end]))
    return out
