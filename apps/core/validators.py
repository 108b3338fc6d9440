"""Validators shared by models, forms and API schemas, so every entry point says the same."""

import re
import zoneinfo
from functools import cache

import phonenumbers
from django.core.exceptions import ValidationError

E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
_E164 = re.compile(E164_PATTERN)
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Z]{2})?$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"


@cache
def iana_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(iana_timezones())]


def e164_error(value: str) -> str | None:
    """Why `value` is not a valid E.164 phone number, or None when it is."""
    if not isinstance(value, str) or not _E164.match(value):
        return "must be an E.164 phone number: '+', country code and number, no spaces (e.g. +14155550123)"
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return "is not a phone number"
    if not phonenumbers.is_valid_number(number):
        return "is not a valid phone number for its country code"
    return None


def timezone_error(value: str) -> str | None:
    """Why `value` is not an IANA time zone name, or None when it is."""
    if value not in iana_timezones():
        return "must be an IANA time zone name (e.g. America/New_York)"
    return None


def validate_e164(value: str) -> None:
    if error := e164_error(value):
        raise ValidationError(f"Phone {error}.", code="invalid_phone")


def validate_timezone(value: str) -> None:
    if error := timezone_error(value):
        raise ValidationError(f"Time zone {error}.", code="invalid_timezone")
