"""Pydantic types shared by the API schemas; they reuse the model validators' rules."""

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field

from apps.core.validators import e164_error, timezone_error


def _e164(value: str) -> str:
    if error := e164_error(value):
        raise ValueError(error)
    return value


def _timezone(value: str) -> str:
    if value and (error := timezone_error(value)):
        raise ValueError(error)
    return value


E164Phone = Annotated[str, AfterValidator(_e164)]
# Empty means "not on file": the calling-window check then uses the number's zones.
IanaTimezone = Annotated[str, AfterValidator(_timezone)]
Money = Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
