from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from apps.agent.numbers import (
    DateMention,
    NumberMention,
    find_dates,
    find_numbers,
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

TODAY = date(2026, 11, 21)  # a Saturday


def test_today_is_a_saturday():
    assert TODAY.strftime("%A") == "Saturday"


# ---------------------------------------------------------------------------------------------- find_numbers


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("$1,250.50", "1250.50", "money"),
        ("1250.50 dollars", "1250.50", "money"),
        ("$300", "300", "money"),
        ("300 bucks", "300", "money"),
        ("USD 40", "40", "money"),
        ("40 USD", "40", "money"),
        ("£40", "40", "money"),
        ("€12.50", "12.50", "money"),
        ("MXN 500", "500", "money"),
        ("CAD 1,250.50", "1250.50", "money"),
        ("twelve hundred fifty dollars", "1250", "money"),
        ("one thousand two hundred and fifty dollars and fifty cents", "1250.50", "money"),
        ("three hundred dollars", "300", "money"),
        ("fifty cents", "0.50", "money"),
        ("one cent", "0.01", "money"),
        ("one dollar", "1", "money"),
        ("$1,250 and 50 cents", "1250.50", "money"),
        ("forty pounds", "40", "money"),
        ("two hundred pesos", "200", "money"),
        ("ninety-nine thousand nine hundred ninety-nine dollars and ninety-nine cents", "99999.99", "money"),
        ("twenty-five", "25", "number"),
        ("twenty five", "25", "number"),
        ("a hundred", "100", "number"),
        ("one hundred", "100", "number"),
        ("one point five", "1.5", "number"),
        ("2 point 5", "2.5", "number"),
        ("12.5", "12.5", "number"),
        ("4,000", "4000", "number"),
        ("five thousand", "5000", "number"),
        ("two thousand and five", "2005", "number"),
        ("two", "2", "number"),
        ("nine", "9", "number"),
        ("zero", "0", "number"),
        ("300", "300", "number"),
        ("1250", "1250", "number"),
        ("2026", "2026", "number"),
        ("28th", "28", "ordinal"),
        ("1st", "1", "ordinal"),
        ("twenty-eighth", "28", "ordinal"),
        ("thirty first", "31", "ordinal"),
        ("4321", "4321", "digits"),
        ("94607", "94607", "digits"),
        ("0042", "42", "digits"),
        ("#1275", "1275", "digits"),
    ],
)
def test_find_numbers_single(text, value, kind):
    [mention] = find_numbers(text)
    assert (mention.value, mention.kind) == (Decimal(value), kind)
    assert mention.raw == text.lstrip("#")
    assert text[mention.start : mention.end] == mention.raw


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I can pay 300 on the 28th", [("300", "number", "300"), ("28", "ordinal", "28th")]),
        ("the first", [("1", "ordinal", "first")]),
        ("November first", [("1", "ordinal", "first")]),
        ("the twenty-eighth of November", [("28", "ordinal", "twenty-eighth")]),
        ("3:30", [("3", "number", "3"), ("30", "number", "30")]),
        ("(415) 555-0100", [("415", "digits", "415"), ("555", "digits", "555"), ("100", "digits", "0100")]),
        ("I-880", [("880", "digits", "880")]),
        ("I'm at 123 Main Street", [("123", "digits", "123")]),
        ("last four 4321", [("4", "number", "four"), ("4321", "digits", "4321")]),
        ("my account balance is 1275", [("1275", "number", "1275")]),
        ("I can pay 375", [("375", "number", "375")]),
        ("Amount: 1275", [("1275", "number", "1275")]),
        ("nine four six", [("9", "number", "nine"), ("4", "number", "four"), ("6", "number", "six")]),
        ("nineteen ninety-nine", [("19", "number", "nineteen"), ("99", "number", "ninety-nine")]),
        (
            "You owe $1,250.50; I can take three hundred dollars today and fifty cents later.",
            [
                ("1250.50", "money", "$1,250.50"),
                ("300", "money", "three hundred dollars"),
                ("0.50", "money", "fifty cents"),
            ],
        ),
        ("USD 40 and 40 USD", [("40", "money", "USD 40"), ("40", "money", "40 USD")]),
    ],
)
def test_find_numbers_several(text, expected):
    found = find_numbers(text)
    assert [(m.value, m.kind, m.raw) for m in found] == [(Decimal(v), k, r) for v, k, r in expected]
    for mention in found:
        assert text[mention.start : mention.end] == mention.raw
    assert all(a.end <= b.start for a, b in pairwise(found))


@pytest.mark.parametrize(
    "text",
    [
        "one moment please",
        "anyone",
        "someone will help",
        "no one",
        "the one on the left",
        "one question",
        "first of all",
        "hold on a second",
        "a third party",
        "",
        "nothing here",
    ],
)
def test_find_numbers_none(text):
    assert find_numbers(text) == []


def test_number_mention_is_frozen():
    mention = find_numbers("$5")[0]
    assert mention == NumberMention(value=Decimal("5.00"), start=0, end=2, raw="$5", kind="money")
    with pytest.raises(AttributeError):
        mention.value = Decimal(6)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("twelve hundred fifty", "1250"),
        ("two thousand and five", "2005"),
        ("one thousand two hundred and fifty", "1250"),
        ("a hundred", "100"),
        ("twenty-five", "25"),
        ("ninety nine thousand nine hundred ninety nine", "99999"),
        ("three million four hundred thousand", "3400000"),
        ("zero", "0"),
        ("one point two five", "1.25"),
        ("twenty-eighth", "28"),
        ("Twelve Hundred", "1200"),
        ("nineteen ninety-nine", None),
        ("four three", None),
        ("hello", None),
        ("", None),
        ("hundred", None),
    ],
)
def test_words_to_number(words, expected):
    assert words_to_number(words) == (Decimal(expected) if expected is not None else None)


# ---------------------------------------------------------------------------------------------- find_dates


@pytest.mark.parametrize(
    ("text", "expected", "raw"),
    [
        ("today", date(2026, 11, 21), "today"),
        ("tonight", date(2026, 11, 21), "tonight"),
        ("tomorrow", date(2026, 11, 22), "tomorrow"),
        ("the day after tomorrow", date(2026, 11, 23), "the day after tomorrow"),
        ("yesterday", date(2026, 11, 20), "yesterday"),
        ("Friday", date(2026, 11, 27), "Friday"),
        ("this Friday", date(2026, 11, 27), "this Friday"),
        ("Saturday", date(2026, 11, 28), "Saturday"),
        ("Sunday", date(2026, 11, 22), "Sunday"),
        ("next Friday", date(2026, 11, 27), "next Friday"),
        ("next Sunday", date(2026, 11, 29), "next Sunday"),
        ("next Monday", date(2026, 11, 30), "next Monday"),
        ("last Friday", date(2026, 11, 20), "last Friday"),
        ("Friday next week", date(2026, 11, 27), "Friday next week"),
        ("next week on Monday", date(2026, 11, 23), "next week on Monday"),
        ("in 3 days", date(2026, 11, 24), "in 3 days"),
        ("in two weeks", date(2026, 12, 5), "in two weeks"),
        ("in a week", date(2026, 11, 28), "in a week"),
        ("in a couple of days", date(2026, 11, 23), "in a couple of days"),
        ("in a month", date(2026, 12, 21), "in a month"),
        ("a week from today", date(2026, 11, 28), "a week from today"),
        ("next week", date(2026, 11, 28), "next week"),
        ("end of the month", date(2026, 11, 30), "end of the month"),
        ("by the end of this month", date(2026, 11, 30), "the end of this month"),
        ("end of next month", date(2026, 12, 31), "end of next month"),
        ("end of the week", date(2026, 11, 27), "end of the week"),
        ("the 15th", date(2026, 12, 15), "the 15th"),
        ("on the fifteenth", date(2026, 12, 15), "the fifteenth"),
        ("the fifth may work", date(2026, 12, 5), "the fifth"),  # the day, not the month of May
        ("the 21st", date(2026, 11, 21), "the 21st"),
        ("the 31st", date(2026, 11, 30), "the 31st"),
        ("on the 30", date(2026, 11, 30), "on the 30"),
        ("28th", date(2026, 11, 28), "28th"),
        ("the 1st of next month", date(2026, 12, 1), "the 1st of next month"),
        ("the 10th of the month", date(2026, 12, 10), "the 10th of the month"),
        ("the beginning of next month", date(2026, 12, 1), "the beginning of next month"),
        ("November 28", date(2026, 11, 28), "November 28"),
        ("Nov 28th", date(2026, 11, 28), "Nov 28th"),
        ("Dec. 3rd", date(2026, 12, 3), "Dec. 3rd"),
        ("28 November", date(2026, 11, 28), "28 November"),
        ("November twenty-eighth", date(2026, 11, 28), "November twenty-eighth"),
        ("november twenty eight", date(2026, 11, 28), "november twenty eight"),
        ("the twenty-eighth of November", date(2026, 11, 28), "the twenty-eighth of November"),
        ("November 28, 2026", date(2026, 11, 28), "November 28, 2026"),
        ("28th of November 2027", date(2027, 11, 28), "28th of November 2027"),
        ("November 20", date(2027, 11, 20), "November 20"),
        ("January 5", date(2027, 1, 5), "January 5"),
        ("February 29", date(2028, 2, 29), "February 29"),
        ("11/28", date(2026, 11, 28), "11/28"),
        ("11/28/2026", date(2026, 11, 28), "11/28/2026"),
        ("11-28-2026", date(2026, 11, 28), "11-28-2026"),
        ("3/5/85", date(1985, 3, 5), "3/5/85"),
        ("2026-11-28", date(2026, 11, 28), "2026-11-28"),
        ("March 5, 1985", date(1985, 3, 5), "March 5, 1985"),
        ("March fifth nineteen eighty five", date(1985, 3, 5), "March fifth nineteen eighty five"),
        ("May 1st, two thousand and five", date(2005, 5, 1), "May 1st, two thousand and five"),
        ("Friday, November 27", date(2026, 11, 27), "Friday, November 27"),
        ("Friday the 27th", date(2026, 11, 27), "Friday the 27th"),
        ("Friday the 28th", date(2027, 5, 28), "Friday the 28th"),
        ("Friday, November twenty-eighth", date(2025, 11, 28), "Friday, November twenty-eighth"),
    ],
)
def test_find_dates_single(text, expected, raw):
    [mention] = find_dates(text, TODAY)
    assert (mention.value, mention.raw) == (expected, raw)
    assert text[mention.start : mention.end] == raw


@pytest.mark.parametrize(
    ("today", "text", "expected"),
    [
        # A bare weekday is strictly after today.
        (date(2026, 11, 27), "Friday", date(2026, 12, 4)),
        (date(2026, 11, 26), "Friday", date(2026, 11, 27)),
        # "next Friday" is a week later only when Friday is one or two days away.
        (date(2026, 11, 26), "next Friday", date(2026, 12, 4)),
        (date(2026, 11, 25), "next Friday", date(2026, 12, 4)),
        (date(2026, 11, 24), "next Friday", date(2026, 11, 27)),
        (date(2026, 11, 23), "next Friday", date(2026, 11, 27)),
        (date(2026, 11, 27), "next Friday", date(2026, 12, 4)),
        (date(2026, 11, 23), "Friday next week", date(2026, 12, 4)),
        # End of the week includes today when it is Friday.
        (date(2026, 11, 27), "end of the week", date(2026, 11, 27)),
        # Days of month clamp to the month's end, and roll into next month once passed.
        (date(2027, 2, 10), "the 30th", date(2027, 2, 28)),
        (date(2028, 2, 10), "the 31st", date(2028, 2, 29)),
        (date(2026, 12, 20), "the 5th", date(2027, 1, 5)),
        (date(2027, 1, 31), "in a month", date(2027, 2, 28)),
        (date(2026, 12, 15), "end of next month", date(2027, 1, 31)),
        # Yearless month/day: the next occurrence on or after today.
        (date(2026, 11, 28), "November 28", date(2026, 11, 28)),
        (date(2026, 12, 31), "January first", date(2027, 1, 1)),
    ],
)
def test_find_dates_relative_rules(today, text, expected):
    assert [m.value for m in find_dates(text, today)] == [expected]


def test_find_dates_several_with_spans():
    text = "I can pay $300 on Friday, 200 on the 15th, and the rest by 12/31/2026."
    found = find_dates(text, TODAY)
    assert found == [
        DateMention(value=date(2026, 11, 27), start=18, end=24, raw="Friday"),
        DateMention(value=date(2026, 12, 15), start=33, end=41, raw="the 15th"),
        DateMention(value=date(2026, 12, 31), start=59, end=69, raw="12/31/2026"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "I may pay 300",
        "I may one day",
        "the first time",
        "the second one",
        "24/7 roadside",
        "1.5",
        "call 555-0100",
        "november thirty first",
        "February 30, 2027",
        "13/45",
        "pay 3-4",
        "",
    ],
)
def test_find_dates_none(text):
    assert find_dates(text, TODAY) == []


# ---------------------------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "zero"),
        (7, "seven"),
        (12, "twelve"),
        (21, "twenty-one"),
        (40, "forty"),
        (100, "one hundred"),
        (105, "one hundred five"),
        (999, "nine hundred ninety-nine"),
        (1000, "one thousand"),
        (1250, "one thousand two hundred fifty"),
        (20_005, "twenty thousand five"),
        (1_000_000, "one million"),
        (2_500_300, "two million five hundred thousand three hundred"),
    ],
)
def test_spoken_number(n, expected):
    assert spoken_number(n) == expected
    assert words_to_number(expected) == n


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (5, "fifth"),
        (8, "eighth"),
        (9, "ninth"),
        (12, "twelfth"),
        (20, "twentieth"),
        (21, "twenty-first"),
        (28, "twenty-eighth"),
        (30, "thirtieth"),
        (31, "thirty-first"),
        (100, "one hundredth"),
        (101, "one hundred first"),
    ],
)
def test_spoken_ordinal(n, expected):
    assert spoken_ordinal(n) == expected
    assert words_to_number(expected) == n


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1250.50", "USD", "one thousand two hundred fifty dollars and fifty cents"),
        ("300", "USD", "three hundred dollars"),
        ("300.00", "USD", "three hundred dollars"),
        ("1", "USD", "one dollar"),
        ("1.01", "USD", "one dollar and one cent"),
        ("0.50", "USD", "fifty cents"),
        ("0.01", "USD", "one cent"),
        ("0", "USD", "zero dollars"),
        ("40", "GBP", "forty pounds"),
        ("1.01", "GBP", "one pound and one penny"),
        ("0.20", "GBP", "twenty pence"),
        ("12.50", "EUR", "twelve euros and fifty cents"),
        ("500", "MXN", "five hundred pesos"),
        ("1.50", "MXN", "one peso and fifty centavos"),
        ("75", "CAD", "seventy-five dollars"),
        ("75", "usd", "seventy-five dollars"),
    ],
)
def test_spoken_money(amount, currency, expected):
    assert spoken_money(Decimal(amount), currency) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1250.50", "USD", "$1,250.50"),
        ("300", "USD", "$300"),
        ("300.00", "USD", "$300"),
        ("0.5", "USD", "$0.50"),
        ("1234567.8", "USD", "$1,234,567.80"),
        ("40", "GBP", "£40"),
        ("12.5", "EUR", "€12.50"),
        ("500", "MXN", "MXN 500"),
        ("1250.50", "CAD", "CAD 1,250.50"),
        ("19.999", "USD", "$20"),
    ],
)
def test_written_money(amount, currency, expected):
    assert written_money(Decimal(amount), currency) == expected


@pytest.mark.parametrize(
    ("d", "spoken", "written"),
    [
        (date(2026, 11, 21), "today", "Saturday, November 21"),
        (date(2026, 11, 22), "tomorrow", "Sunday, November 22"),
        (date(2026, 11, 27), "Friday, November twenty-seventh", "Friday, November 27"),
        (date(2026, 12, 1), "Tuesday, December first", "Tuesday, December 1"),
        (date(2027, 1, 2), "Saturday, January second, twenty twenty-seven", "Saturday, January 2, 2027"),
        (date(2030, 3, 31), "Sunday, March thirty-first, twenty thirty", "Sunday, March 31, 2030"),
        (date(2005, 7, 4), "Monday, July fourth, two thousand five", "Monday, July 4, 2005"),
        (date(1985, 3, 5), "Tuesday, March fifth, nineteen eighty-five", "Tuesday, March 5, 1985"),
        (date(1905, 6, 1), "Thursday, June first, nineteen oh five", "Thursday, June 1, 1905"),
    ],
)
def test_spoken_and_written_date(d, spoken, written):
    assert spoken_date(d, TODAY) == spoken
    assert written_date(d, TODAY) == written


@pytest.mark.parametrize(
    ("digits", "expected"),
    [("4321", "four three two one"), ("94607", "nine four six zero seven"), ("0042", "zero zero four two"),
     ("415-555", "four one five five five five"), ("", "")],
)  # fmt: skip
def test_spoken_digits(digits, expected):
    assert spoken_digits(digits) == expected


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (0, "less than a minute"),
        (1, "about one minute"),
        (45, "about forty-five minutes"),
        (60, "about an hour"),
        (61, "about one hour and one minute"),
        (80, "about one hour and twenty minutes"),
        (120, "about two hours"),
        (135, "about two hours and fifteen minutes"),
    ],
)
def test_spoken_duration_minutes(minutes, expected):
    assert spoken_duration_minutes(minutes) == expected


# ---------------------------------------------------------------------------------------------- round trips


def _sample_amounts() -> list[Decimal]:
    """A few hundred deterministic amounts from 0.01 to 99,999.99, plus the edges."""
    stepped = [Decimal((i * 7_919_113) % 9_999_999 + 1) / 100 for i in range(400)]
    edges = ["0.01", "0.10", "0.99", "1.00", "1.01", "10.00", "12.50", "100.00", "999.99", "1000.00", "1250.50",
             "10000.00", "20005.00", "99999.99"]  # fmt: skip
    return [*(Decimal(e) for e in edges), *stepped]


AMOUNTS = _sample_amounts()


@pytest.mark.parametrize("currency", ["USD", "GBP", "EUR", "MXN", "CAD"])
def test_money_round_trip(currency):
    assert len(AMOUNTS) > 400
    assert min(AMOUNTS) == Decimal("0.01")
    assert max(AMOUNTS) == Decimal("99999.99")
    for amount in AMOUNTS:
        for rendered in (spoken_money(amount, currency), written_money(amount, currency)):
            found = find_numbers(rendered)
            assert [(m.kind, m.value, m.raw) for m in found] == [("money", amount, rendered)], rendered


@pytest.mark.parametrize(
    "today",
    [
        date(2026, 11, 21),
        date(2027, 6, 1),  # the year ahead holds February 29, 2028
        date(2028, 1, 15),  # February 29 in today's own year
        date(2025, 12, 31),
        date(2024, 2, 29),
    ],
)
def test_date_round_trip(today):
    days = [today + timedelta(days=n) for n in range(-60, 367)]
    assert any(d.month == 2 and d.day == 29 for d in days) or today.year in (2025, 2026)
    for d in days:
        for rendered in (spoken_date(d, today), written_date(d, today)):
            found = find_dates(rendered, today)
            assert [(m.value, m.raw) for m in found] == [(d, rendered)], rendered
