"""English number words: the tables, parsing a run of them, and spelling figures out for speech and text.

`apps.agent.numbers` builds on this to find figures in text, and re-exports the rendering functions
(`spoken_money`, `spoken_date`, ...) as its public API.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# (major singular, major plural, minor singular, minor plural)
_CURRENCY_NAMES = {
    "USD": ("dollar", "dollars", "cent", "cents"),
    "CAD": ("dollar", "dollars", "cent", "cents"),
    "AUD": ("dollar", "dollars", "cent", "cents"),
    "NZD": ("dollar", "dollars", "cent", "cents"),
    "GBP": ("pound", "pounds", "penny", "pence"),
    "EUR": ("euro", "euros", "cent", "cents"),
    "MXN": ("peso", "pesos", "centavo", "centavos"),
}
_CURRENCY_SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€"}

UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
ORDINAL_UNITS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
}
ORDINAL_TEENS = {
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
}
ORDINAL_TENS = {
    "twentieth": 20,
    "thirtieth": 30,
    "fortieth": 40,
    "fiftieth": 50,
    "sixtieth": 60,
    "seventieth": 70,
    "eightieth": 80,
    "ninetieth": 90,
}
ORDINAL_SCALES = {"hundredth": 100, "thousandth": 1_000, "millionth": 1_000_000}
ORDINALS = {**ORDINAL_UNITS, **ORDINAL_TEENS, **ORDINAL_TENS, **ORDINAL_SCALES}
# Digits read one by one ("nine four six oh seven").
DIGIT_WORDS = {**{word: str(value) for word, value in UNITS.items()}, "oh": "0", "o": "0"}
NUMBER_WORDS = frozenset({*UNITS, *TEENS, *TENS, *SCALES, "hundred", *ORDINALS})

_IRREGULAR_ORDINALS = {v: k for k, v in ORDINAL_UNITS.items()} | {12: "twelfth"}
_SMALL = {v: k for k, v in {**UNITS, **TEENS}.items()}
_TENS_NAMES = {v: k for k, v in TENS.items()}
_SPLIT = re.compile(r"[\s,-]+")


def parse_number_words(words: list[str], start: int = 0) -> tuple[Decimal, int, bool] | None:
    """Parse the longest number starting at ``words[start]`` (lower-case tokens; "-" and "and" may appear).

    Returns ``(value, end, is_ordinal)`` with ``end`` exclusive, or None. Tokens that cannot continue
    a well-formed English number end it, so "four three" parses as 4 and leaves "three" for the next call.
    """
    total = 0  # completed thousand/million groups
    group = 0  # hundreds of the current group
    sub: int | None = None  # the part under a hundred being built
    sub_kind = ""
    hundred_done = False
    last_scale = 10**12
    end = start
    j = start
    n = len(words)

    def value() -> int:
        return total + group + (sub or 0)

    def nxt(k: int) -> str:
        return words[k] if k < n else ""

    while j < n:
        word = words[j]
        if word == "-":
            if sub_kind == "tens" and (nxt(j + 1) in UNITS or nxt(j + 1) in ORDINAL_UNITS):
                j += 1
                continue
            break
        if word == "and":
            follower = nxt(j + 1)
            if sub is None and (hundred_done or total) and (follower in NUMBER_WORDS and follower not in SCALES):
                j += 1
                continue
            break
        if word == "a" and j == start and nxt(j + 1) in ("hundred", *SCALES):
            sub, sub_kind = 1, "unit"
        elif word == "zero":
            if j != start:
                break
            sub, sub_kind = 0, "zero"
        elif word in UNITS:
            if sub is None:
                sub, sub_kind = UNITS[word], "unit"
            elif sub_kind == "tens":
                sub, sub_kind = sub + UNITS[word], "tensunit"
            else:
                break
        elif word in TEENS or word in TENS:
            if sub is not None:
                break
            sub, sub_kind = (TEENS | TENS)[word], "teen" if word in TEENS else "tens"
        elif word == "hundred":
            if not sub or hundred_done or group:
                break
            group, sub, sub_kind, hundred_done = sub * 100, None, "", True
        elif word in SCALES:
            scale = SCALES[word]
            chunk = group + (sub or 0)
            if not chunk or scale >= last_scale:
                break
            total, group, sub, sub_kind, hundred_done, last_scale = total + chunk * scale, 0, None, "", False, scale
        elif word in ORDINAL_UNITS:
            if sub is None or sub_kind == "tens":
                return Decimal(value() + ORDINAL_UNITS[word]), j + 1, True
            break
        elif word in ORDINAL_TEENS or word in ORDINAL_TENS:
            if sub is not None:
                break
            return Decimal(value() + (ORDINAL_TEENS | ORDINAL_TENS)[word]), j + 1, True
        elif word in ORDINAL_SCALES:
            scale = ORDINAL_SCALES[word]
            if word == "hundredth":
                if not sub or hundred_done or group:
                    break
                return Decimal(total + sub * 100), j + 1, True
            chunk = group + (sub or 0)
            if not chunk or scale >= last_scale:
                break
            return Decimal(total + chunk * scale), j + 1, True
        elif word == "point" and end > start:
            digits = []
            k = j + 1
            while k < n and words[k] in DIGIT_WORDS:
                digits.append(DIGIT_WORDS[words[k]])
                k += 1
            if digits:
                return Decimal(f"{value()}.{''.join(digits)}"), k, False
            break
        else:
            break
        j += 1
        end = j
    if end == start:
        return None
    return Decimal(value()), end, False


def words_to_number(words: str) -> Decimal | None:
    """The value of a phrase made only of number words: "twelve hundred fifty" → 1250, else None."""
    tokens = [t for t in re.split(r"\s+|(-)", words.strip().lower().replace(",", " ")) if t]
    if not tokens:
        return None
    parsed = parse_number_words(tokens)
    if parsed is None or parsed[1] != len(tokens):
        return None
    return parsed[0]


def spoken_number(n: int) -> str:
    """Spell out an integer the American way: 1250 → "one thousand two hundred fifty"."""
    if n < 0:
        return "minus " + spoken_number(-n)
    if n < 20:
        return _SMALL[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        return _TENS_NAMES[tens * 10] + (f"-{_SMALL[unit]}" if unit else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_SMALL[hundreds]} hundred" + (f" {spoken_number(rest)}" if rest else "")
    for scale_word, scale in (("billion", 10**9), ("million", 10**6), ("thousand", 10**3)):
        if n >= scale:
            head, rest = divmod(n, scale)
            return f"{spoken_number(head)} {scale_word}" + (f" {spoken_number(rest)}" if rest else "")
    raise AssertionError("unreachable")  # pragma: no cover


def spoken_ordinal(n: int) -> str:
    """Spell out an ordinal: 28 → "twenty-eighth", 12 → "twelfth", 100 → "one hundredth"."""
    words = spoken_number(n)
    head, sep, last = max(words.rpartition(" "), words.rpartition("-"), key=lambda parts: len(parts[0]))
    number = (TEENS | TENS | UNITS).get(last)
    if number in _IRREGULAR_ORDINALS:
        last = _IRREGULAR_ORDINALS[number]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def spoken_year(year: int) -> str:
    """Years as people say them: 1985 → "nineteen eighty-five", 2005 → "two thousand five", 2027 → "twenty twenty-seven"."""
    century, rest = divmod(year, 100)
    if 2000 <= year <= 2009 or not 10 <= century <= 99:
        return spoken_number(year)
    if rest == 0:
        return f"{spoken_number(century)} hundred"
    if rest < 10:
        return f"{spoken_number(century)} oh {spoken_number(rest)}"
    return f"{spoken_number(century)} {spoken_number(rest)}"


def parse_spoken_year(phrase: str) -> int | None:
    """Inverse of `spoken_year` for the forms it produces (and "two thousand and five")."""
    words = [w for w in _SPLIT.split(phrase.lower()) if w and w != "and"]
    if words[:2] == ["two", "thousand"]:
        rest = words_to_number(" ".join(words[2:])) if words[2:] else Decimal(0)
        return 2000 + int(rest) if rest is not None and rest < 100 else None
    century = TEENS.get(words[0]) or TENS.get(words[0]) if words else None
    if century is None or len(words) < 2:
        return None
    if words[1:] == ["hundred"]:
        return century * 100
    if words[1] == "oh" and len(words) == 3 and words[2] in UNITS:
        return century * 100 + UNITS[words[2]]
    rest = words_to_number(" ".join(words[1:]))
    if rest is None or not 10 <= rest < 100:
        return None
    return century * 100 + int(rest)


def _cents(amount: Decimal) -> tuple[int, int]:
    whole, cents = divmod(int(Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP) * 100), 100)
    return whole, cents


def spoken_money(amount: Decimal, currency: str = "USD") -> str:
    """ "one thousand two hundred fifty dollars and fifty cents", "one dollar", "fifty cents", "forty pounds"."""
    code = currency.upper()
    major, majors, minor, minors = _CURRENCY_NAMES.get(code, (code, code, "cent", "cents"))
    whole, cents = _cents(amount)
    whole_part = f"{spoken_number(whole)} {major if whole == 1 else majors}"
    cents_part = f"{spoken_number(cents)} {minor if cents == 1 else minors}"
    if whole and cents:
        return f"{whole_part} and {cents_part}"
    return cents_part if cents else whole_part


def written_money(amount: Decimal, currency: str = "USD") -> str:
    """ "$1,250.50", "$300" (no ".00"), "£40", "€12.50"; other currencies as "MXN 500"."""
    code = currency.upper()
    whole, cents = _cents(amount)
    figure = f"{whole:,}" + (f".{cents:02d}" if cents else "")
    symbol = _CURRENCY_SYMBOLS.get(code)
    return f"{symbol}{figure}" if symbol else f"{code} {figure}"


def spoken_date(d: date, today: date) -> str:
    """ "today", "tomorrow", else "Friday, November twenty-eighth" (", twenty twenty-seven" in another year)."""
    if d == today:
        return "today"
    if d == today + timedelta(days=1):
        return "tomorrow"
    text = f"{WEEKDAY_NAMES[d.weekday()]}, {MONTH_NAMES[d.month - 1]} {spoken_ordinal(d.day)}"
    return text if d.year == today.year else f"{text}, {spoken_year(d.year)}"


def written_date(d: date, today: date) -> str:
    """ "Friday, November 28", with ", 2027" when the year is not today's."""
    text = f"{WEEKDAY_NAMES[d.weekday()]}, {MONTH_NAMES[d.month - 1]} {d.day}"
    return text if d.year == today.year else f"{text}, {d.year}"


def spoken_digits(s: str) -> str:
    """Read digits one by one: "4321" → "four three two one" (other characters are skipped)."""
    return " ".join(spoken_number(int(ch)) for ch in s if ch.isdigit())


def spoken_duration_minutes(n: int) -> str:
    """ "about forty-five minutes", "about an hour", "about one hour and twenty minutes", "about two hours"."""
    if n <= 0:
        return "less than a minute"
    hours, minutes = divmod(n, 60)
    minute_part = f"{spoken_number(minutes)} minute{'s' if minutes != 1 else ''}"
    if not hours:
        return f"about {minute_part}"
    if hours == 1 and not minutes:
        return "about an hour"
    hour_part = f"{spoken_number(hours)} hour{'s' if hours != 1 else ''}"
    return f"about {hour_part} and {minute_part}" if minutes else f"about {hour_part}"
