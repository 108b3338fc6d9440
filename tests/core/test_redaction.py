import logging

import pytest

from apps.core.redaction import RedactingFilter, luhn_valid, redact

VISA = "4111 1111 1111 1111"


@pytest.mark.parametrize(
    ("text", "expected", "kinds"),
    [
        (f"my card is {VISA} thanks", "my card is [REDACTED CARD] thanks", ["card"]),
        ("card 4111-1111-1111-1111.", "card [REDACTED CARD].", ["card"]),
        ("5500005555555559", "[REDACTED CARD]", ["card"]),
        (
            "four one one one one one one one one one one one one one one one",
            "[REDACTED CARD]",
            ["card"],
        ),
        ("the cvv is 123", "the cvv is [REDACTED CVV]", ["cvv"]),
        ("security code: 4321", "security code: [REDACTED CVV]", ["cvv"]),
        ("my social security number is 123456789", "my social security number is [REDACTED SSN]", ["ssn"]),
        ("ssn 123-45-6789", "ssn [REDACTED SSN]", ["ssn"]),
        ("123-45-6789", "[REDACTED SSN]", ["ssn"]),
    ],
)
def test_sensitive_data_is_redacted(text, expected, kinds):
    assert redact(text) == (expected, kinds)


def test_a_decimal_fraction_is_not_a_card_number():
    text = "Task succeeded in 0.4111111111111111s"  # the fraction passes the Luhn check
    assert redact(text) == (text, [])


@pytest.mark.parametrize(
    "text",
    [
        "I can pay 300 dollars on the 28th",
        "my account ends in 4321 and my zip is 94607",
        "call me at +1 415 555 0123",
        "4111 1111 1111 1112",  # fails the Luhn check: not a card number
        "order 1234567890123",  # 13 digits, not Luhn-valid
    ],
)
def test_ordinary_numbers_stay(text):
    assert redact(text) == (text, [])


def test_luhn():
    assert luhn_valid("4111111111111111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112")


def test_the_logging_filter_redacts_formatted_messages(caplog):
    logger = logging.getLogger("tests.redaction")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="tests.redaction"):
        logger.info("caller said %s", f"card {VISA}")
    assert caplog.records[0].getMessage() == "caller said card [REDACTED CARD]"
    assert "4111" not in caplog.text
