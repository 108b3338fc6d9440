"""Domain errors that services raise and interfaces translate (the API to 4xx responses)."""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Conflict(DomainError):
    """The change would duplicate something that must be unique, or the state forbids it."""

    status_code = 409


class InvalidReference(DomainError):
    """The request names an object that does not exist or does not belong with the rest."""

    status_code = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
