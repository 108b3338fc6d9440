"""Authentication for the REST API: an `X-API-Key` header, or the browser's session."""

from django.http import HttpRequest
from ninja.errors import AuthenticationError, AuthorizationError
from ninja.security import APIKeyHeader, SessionAuth

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_authenticate


class ApiKeyAuth(APIKeyHeader):
    """Other systems. A key grants the whole API; people are limited by their role."""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> ApiKey | None:
        if not key:
            return None
        api_key = api_key_authenticate(raw_key=key)
        if api_key is None:
            raise AuthenticationError(401, "Invalid or revoked API key.")
        return api_key


class RoleSessionAuth(SessionAuth):
    """A signed-in user whose role holds `permission`. Unsafe methods need the CSRF token."""

    def __init__(self, permission: str) -> None:
        super().__init__(csrf=True)
        self.permission = permission

    def __call__(self, request: HttpRequest):
        # Anonymous requests fall through to 401 rather than failing the CSRF check with 403.
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None):
        if not request.user.has_perm(self.permission):
            raise AuthorizationError(403, f"Your role does not allow this (needs {self.permission}).")
        return request.user


def require(permission: str) -> list:
    """The `auth=` of an operation that a person needs `permission` for."""
    return [ApiKeyAuth(), RoleSessionAuth(permission)]
