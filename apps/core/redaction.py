"""Card numbers, security codes and SSNs are removed before text is stored, logged or sent to a model.

Card numbers are recognised by length and the Luhn check, whether written as digits (with spaces
or dashes) or spoken digit by digit ("four one one one ..."), as speech-to-text may give either.
"""

import logging
import re

CARD = "[REDACTED CARD]"
CVV = "[REDACTED CVV]"
SSN = "[REDACTED SSN]"

_DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
# 13 to 19 digits, single spaces or dashes allowed between them.
# Not the fraction of a decimal number ("took 0.4111111111111111 s"): logs are full of those.
_CARD_DIGITS = re.compile(r"(?<![\d-])(?<!\d\.)\d(?:[ -]?\d){12,18}(?![\d-])")
_SPOKEN_DIGIT = r"(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine)"
_CARD_SPOKEN = re.compile(rf"\b{_SPOKEN_DIGIT}(?:[\s,-]+{_SPOKEN_DIGIT}){{12,18}}\b", re.IGNORECASE)
_CVV = re.compile(
    r"\b(cvv2?|cvc2?|cv2|csc|security code|card code|verification code|code on the back)\b"
    r"(\W+(?:is|it's|its|was)?\W*)(\d{3,4}|(?:" + _SPOKEN_DIGIT + r"[\s,-]*){3,4})",
    re.IGNORECASE,
)
_SSN_FORMATTED = re.compile(r"(?<!\d)\d{3}[- ]\d{2}[- ]\d{4}(?!\d)")
_SSN_STATED = re.compile(
    r"\b(social security(?: number)?|ssn|social)\b(\W+(?:is|it's|its|was)?\W*)(\d{9}|\d{3}[- ]?\d{2}[- ]?\d{4})",
    re.IGNORECASE,
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_digits(match_text: str) -> str:
    words = re.findall(r"[a-z]+|\d", match_text.lower())
    return "".join(_DIGIT_WORDS.get(word, word) for word in words)


def redact(text: str) -> tuple[str, list[str]]:
    """The text with sensitive data replaced, and what kinds were found ("card", "cvv", "ssn")."""
    found: list[str] = []

    def card(match: re.Match) -> str:
        digits = _card_digits(match.group(0))
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found.append("card")
            return CARD
        return match.group(0)

    def cvv(match: re.Match) -> str:
        found.append("cvv")
        return f"{match.group(1)}{match.group(2)}{CVV}"

    def ssn_stated(match: re.Match) -> str:
        found.append("ssn")
        return f"{match.group(1)}{match.group(2)}{SSN}"

    def ssn(match: re.Match) -> str:
        found.append("ssn")
        return SSN

    text = _CARD_DIGITS.sub(card, text)
    text = _CARD_SPOKEN.sub(card, text)
    text = _CVV.sub(cvv, text)
    text = _SSN_STATED.sub(ssn_stated, text)
    text = _SSN_FORMATTED.sub(ssn, text)
    return text, found


def redact_text(text: str) -> str:
    return redact(text)[0]


class RedactingFilter(logging.Filter):
    """Logging filter: a formatted record never carries a card number, CVV or SSN."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted, found = redact(message)
        if found:
            record.msg, record.args = redacted, None
        return True
