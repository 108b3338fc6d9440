import logging

import pytest

from apps.core.redaction import (
    ACCOUNT,
    CARD,
    MAX_REDACT_CHARS,
    ROUTING,
    TRUNCATED,
    RedactingFilter,
    heard_prefix,
    luhn_valid,
    redact,
    split_card,
)

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


# --- bank details: theirs are redacted, ours identify the caller ----------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "kinds"),
    [
        ("routing number 021000021", f"routing number {ROUTING}", ["routing"]),
        ("my bank account number is 12345678", f"my bank account number is {ACCOUNT}", ["bank_account"]),
        (
            "account 12345678 and routing 021000021",
            f"account {ACCOUNT} and routing {ROUTING}",
            ["routing", "bank_account"],
        ),
        (
            "account number 12345678, routing 021000021",
            f"account number {ACCOUNT}, routing {ROUTING}",
            ["routing", "bank_account"],
        ),
    ],
)
def test_bank_details_are_redacted(text, expected, kinds):
    assert redact(text) == (expected, kinds)


@pytest.mark.parametrize(
    "text",
    [
        "It's Maria Lopez. My account number is NW00048213.",  # the demo's accounts
        "my account number is ACC0000042",  # the factories' accounts
        "my account number is 00048213",  # said without its letters: find_account matches the ending
        "The last four are 8213.",
    ],
)
def test_our_own_account_numbers_stay(text):
    assert redact(text) == (text, [])


# --- the cap ----------------------------------------------------------------------------------------


def test_text_up_to_the_cap_is_kept_whole():
    text = "a" * MAX_REDACT_CHARS
    assert redact(text) == (text, [])


def test_text_past_the_cap_is_replaced_by_the_marker():
    text = "word " * MAX_REDACT_CHARS
    redacted, found = redact(text)
    assert redacted.endswith(" word" + TRUNCATED)
    assert len(redacted) <= MAX_REDACT_CHARS + len(TRUNCATED)
    assert found == []


def test_a_card_cut_by_the_cap_goes_whole():
    padding = "x " * ((MAX_REDACT_CHARS - 10) // 2)
    for card in (VISA, "four one one one one one one one one one one one one one one one"):
        redacted, _ = redact(padding + card + " and the rest")
        assert redacted == padding.rstrip() + TRUNCATED


def test_a_card_before_the_cap_is_redacted_as_usual():
    redacted, found = redact(f"{VISA} " + "x" * MAX_REDACT_CHARS)
    assert (redacted, found) == (CARD + TRUNCATED, ["card"])


def test_a_run_too_long_to_search_is_replaced_whole():
    text = "my numbers " + "3 " * 4000 + "end"
    assert redact(text) == (f"my numbers {CARD} end", ["card"])


# --- a card read out over turns ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        (("my card number is 4012 8888 8888", "1881"), ("my card number is [REDACTED CARD]", "[REDACTED CARD]")),
        (("it's 4111 1111", "uh, 1111 1111."), ("it's [REDACTED CARD]", "uh, [REDACTED CARD].")),
        (
            ("four one one one one one one one", "one one one one one one one one, that's it"),
            ("[REDACTED CARD]", "[REDACTED CARD], that's it"),
        ),
        (("4111 1111", "1111", "1111"), ("[REDACTED CARD]", "[REDACTED CARD]", "[REDACTED CARD]")),
        (("card 3782", "822463 10005 thanks"), ("card [REDACTED CARD]", "[REDACTED CARD] thanks")),
    ],
)
def test_a_card_split_across_turns_is_found(turns, expected):
    assert split_card(*turns) == expected


@pytest.mark.parametrize(
    "turns",
    [
        ("my card number is 4012 8888 8888", "sorry, let me check"),
        ("my card number is 4012 8888 8888", "1882"),  # not Luhn-valid
        ("my zip is 94107", "4155550100"),  # a ZIP code, then a phone number
        ("I can pay 300", "on the 15th"),
        ("4111 1111 1111 and then", "1111"),  # the run does not end the turn
        ("4111 1111", "ok", "1111 1111"),  # a turn between that is not digits
        ("[REDACTED CARD]", "737"),
        ("only one turn",),
    ],
)
def test_turns_without_a_split_card_give_none(turns):
    assert split_card(*turns) is None


# --- what the caller heard before interrupting --------------------------------------------------------

SAID = "Your balance is $1,025. Would you like to pay today?"


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("Your balance is $1,025. Would", "Your balance is $1,025. Would"),
        ("your balance is 1025 would", "Your balance is $1,025. Would"),  # case, punctuation, spacing
        ("Your balance is $1,025. Would you like to pay today?", SAID),
        ("Your balance is $1,025", "Your balance is $1,025."),
        ("Your balance is INJECTED 6011 1111 1111 1117", "Your balance is"),  # strays: what both share
        ("INJECTED 6011 1111 1111 1117 heard", ""),
        ("Your balancing act", "Your"),
        ("", ""),
    ],
)
def test_heard_prefix_is_only_what_the_agent_said(heard, expected):
    assert heard_prefix(heard, SAID) == expected


def test_heard_prefix_never_returns_a_secret_the_agent_said():
    said = f"I have your card {VISA} on file."
    assert heard_prefix(f"I have your card {VISA}", said) == "I have your card"
    assert heard_prefix("I have your card [REDACTED CARD] on", said) == "I have your card [REDACTED CARD] on"


def test_the_logging_filter_redacts_tracebacks(caplog):
    logger = logging.getLogger("tests.redaction.traceback")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.ERROR, logger="tests.redaction.traceback"):
        try:
            raise ValueError(f"declined: {VISA}")
        except ValueError:
            logger.exception("payment failed")
    assert "4111" not in caplog.text
    assert "declined: [REDACTED CARD]" in caplog.text
