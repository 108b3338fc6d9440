"""Grounding: every figure the agent states must come from a tool result, the record, or the caller.

Figures are amounts, dates, balances, account numbers, ETAs and other numbers of ten or more, in
digits or words ("$1,250.50", "twelve hundred fifty dollars", "November twenty-eighth"). The
grounded set holds canonical forms: numbers as plain decimals ("1250.5", "45"), dates as ISO
("2026-11-28"), identifiers as "d:<digits>".

`ReplyGate` streams the agent's text as it arrives and holds back only what needs checking: from
the first figure (or commitment word) in a sentence to the end of that sentence.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from apps.agent.guardrails import SENTENCE_END, commitment_violation
from apps.agent.numbers import find_dates, find_numbers

# Below this, a bare number is ordinary speech ("two options", "one question"), not a figure.
SMALL_NUMBER = Decimal(10)

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_NUMBER_WORDS = (
    "two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    "eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|"
    "first|second|third|fifth|eighth|ninth|twelfth|tieth|teenth"
)
# Anything that may start a figure or a commitment: the text after it waits for the check.
RISK = re.compile(
    rf"[\d$£€%]|\b(?:{_MONTHS}|{_WEEKDAYS}|{_NUMBER_WORDS}|waiv|approv|forgiv|settle|cancel|remov|credit|gone\b|clear|owe|wip)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Figure:
    raw: str
    kind: str  # "money", "number", "date", "digits"
    value: str  # canonical form, as in the grounded set


def canonical_number(value: Decimal | str | int | float) -> str:
    number = Decimal(str(value)).normalize()
    return format(number, "f")


def figures(text: str, today: date) -> list[Figure]:
    found: list[Figure] = []
    dates = find_dates(text, today)
    for said_date in dates:
        found.append(Figure(said_date.raw, "date", said_date.value.isoformat()))
    in_date = [(d.start, d.end) for d in dates]
    for mention in find_numbers(text):
        if any(start <= mention.start < end for start, end in in_date):
            continue
        if mention.kind == "digits":
            found.append(Figure(mention.raw, "digits", f"d:{mention.raw}"))
        elif mention.kind == "money" or mention.value >= SMALL_NUMBER:
            found.append(
                Figure(mention.raw, "money" if mention.kind == "money" else "number", canonical_number(mention.value))
            )
    return found


def grounded_forms(value: Any) -> Iterable[str]:
    """Canonical forms of a value from a tool result or the record (walks dicts and lists)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from grounded_forms(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from grounded_forms(item)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float | Decimal):
        yield canonical_number(value)
    elif isinstance(value, date):
        yield value.isoformat()
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            yield text
        elif re.fullmatch(r"\d{3,}", text):
            yield f"d:{text}"
            yield canonical_number(text)
        else:
            try:
                yield canonical_number(Decimal(text))
            except InvalidOperation:
                for figure in figures(text, date.today()):
                    yield figure.value


# Numbers anyone may say: emergency services.
ALWAYS_GROUNDED = frozenset({"d:911", "911", "d:112", "112"})


def ungrounded(text: str, grounded: set[str], today: date) -> list[Figure]:
    allowed_dates = {today.isoformat(), (today + timedelta(days=1)).isoformat()}
    grounded = grounded | ALWAYS_GROUNDED
    missing = []
    for figure in figures(text, today):
        if figure.value in grounded or figure.value in allowed_dates:
            continue
        if figure.kind == "digits" and canonical_number(figure.value[2:]) in grounded:
            continue
        missing.append(figure)
    return missing


@dataclass
class Violation:
    kind: str  # "ungrounded_figure" or "commitment"
    text: str
    detail: str


class ReplyGate:
    """Streams reply text, holding back each risky sentence from its first risk until it is checked.

    The check sees the whole sentence (the part already streamed too), so "I can't waive it" passes
    while "I've waived it" does not.
    """

    def __init__(self, check: Callable[[str], Violation | None]) -> None:
        self.check = check
        self.streamed = ""  # the current sentence's part already let through
        self.pending = ""  # held back
        self.violation: Violation | None = None

    def feed(self, chunk: str) -> str:
        if self.violation:
            return ""
        self.pending += chunk
        out: list[str] = []
        while match := SENTENCE_END.search(self.pending):
            rest, self.pending = self.pending[: match.end()], self.pending[match.end() :]
            if RISK.search(rest) and (violation := self.check(self.streamed + rest)):
                self.violation, self.pending = violation, ""
                return "".join(out)
            out.append(rest)
            self.streamed = ""
        risk = RISK.search(self.pending)
        safe_end = risk.start() if risk else self.pending.rfind(" ") + 1  # a partial word waits
        if safe_end > 0:
            out.append(self.pending[:safe_end])
            self.streamed += self.pending[:safe_end]
            self.pending = self.pending[safe_end:]
        return "".join(out)

    def flush(self) -> str:
        if self.violation or not self.pending:
            return ""
        rest, self.pending = self.pending, ""
        if RISK.search(rest) and (violation := self.check(self.streamed + rest)):
            self.violation = violation
            return ""
        return rest


def make_checker(grounded: set[str], today: date) -> Callable[[str], Violation | None]:
    def check(sentence: str) -> Violation | None:
        if phrase := commitment_violation(sentence):
            return Violation("commitment", sentence, phrase)
        if missing := ungrounded(sentence, grounded, today):
            return Violation("ungrounded_figure", sentence, ", ".join(f.raw for f in missing))
        return None

    return check
