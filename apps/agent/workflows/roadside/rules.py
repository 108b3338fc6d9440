"""Roadside's own rules: the business rules the prompt states. A driver's record may be heard at
once (caller ID identifies them; there is no account to protect), and when a system is down a
stranded driver goes to a person at once (the default), not a call back."""

RULES = (
    "Dispatch only with the location, the problem and the severity recorded, read back, and confirmed by the caller.",
    "An emergency is anyone unsafe: on a highway shoulder, after an accident, smoke, children in the car.",
)
